"""The checks curator runs, and their registration.

Adding a check: write one module here with a :class:`~curator.checks.base.Check`
subclass, then add it to :data:`REGISTRY`. The pipeline orders checks by cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from curator.checks.base import Check, IndexedCheck
from curator.checks.bias import BiasCheck
from curator.checks.decontamination import DecontaminationCheck
from curator.checks.empty import EmptyCheck
from curator.checks.exact_duplicate import ExactDuplicateCheck
from curator.checks.near_duplicate import NearDuplicateCheck
from curator.checks.quality import GroundingCheck, HallucinationCheck, HeuristicsCheck
from curator.checks.semantic import SemanticCheck

if TYPE_CHECKING:
    from curator.settings import Settings

REGISTRY: tuple[type[Check], ...] = (
    EmptyCheck,
    ExactDuplicateCheck,
    DecontaminationCheck,
    NearDuplicateCheck,
    SemanticCheck,
    BiasCheck,
    HeuristicsCheck,
    GroundingCheck,
    HallucinationCheck,
)


def default_checks(settings: Settings | None = None) -> list[Check]:
    """One instance of every registered check, cheapest first."""
    from curator.settings import Settings

    settings = settings or Settings()
    return sorted((cls.from_settings(settings) for cls in REGISTRY), key=lambda c: c.cost)


__all__ = ["REGISTRY", "Check", "IndexedCheck", "default_checks"]
