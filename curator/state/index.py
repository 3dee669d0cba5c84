"""What a collection's state keeps per indexed check, and what it needs of such a check.

The state layer defines these; the checks (a layer above) implement them, so that state never imports
checks. A check's index holds the kept samples' feature columns; the state computes features of samples
it must index itself (kept before a check was enabled) through :class:`IndexedFeatures`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from curator.domain.policy import CheckPolicy, DedupKey
    from curator.domain.sample import Sample


class DedupIndex(ABC):
    """A collection's memory of kept samples for one indexed check.

    Features travel as columns: a mapping from feature name to an array whose
    first axis is the sample, so restore, admission and the log are vectorised.
    """

    @abstractmethod
    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None: ...

    @abstractmethod
    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        """Per row: (score, row of the best kept match), or (0.0, -1) when none."""

    @abstractmethod
    def id_of(self, row: int) -> str: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def columns(self) -> Mapping[str, np.ndarray]:
        """The kept samples' feature columns, row-aligned with the collection (for reports such as the
        collapse monitor); empty for an index that keeps none it can hand out."""
        return {}

    def save_image(self, path: Path) -> bool:
        """Write an image that rebuilds faster than re-adding every row; False when not worth it."""
        return False

    def load_image(self, path: Path, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> bool:
        """Restore exactly these rows from an image written by :meth:`save_image`; False to re-add."""
        return False


class IndexedFeatures(Protocol):
    """What the state needs of an indexed check: its name, a new index, and the features of samples."""

    @property
    def name(self) -> str: ...

    def new_index(self, params: Mapping[str, float]) -> DedupIndex: ...

    def features_of(
        self, samples: Sequence[Sample], policy: CheckPolicy, dedup_key: DedupKey
    ) -> dict[str, np.ndarray]: ...


class KeptSample(Protocol):
    """A sample the pipeline decided to keep, with the features its checks computed (by check name)."""

    sample: Sample
    features: dict[str, Any]
    scores: dict[str, float]
