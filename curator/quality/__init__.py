"""Quality and hallucination: heuristic rules, grounding against context, and a fastText classifier.

Everything here measures; the checks in :mod:`curator.checks.quality` turn the
measurements into scores and the collection's policy decides. Artefacts
(the quantised classifier, language profiles, calibration) live in
``models/quality/`` and are rebuilt by ``curator train quality``.
"""

from __future__ import annotations

from pathlib import Path


def default_model_dir() -> Path:
    """models/quality of the repository this package lives in (editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "models" / "quality"
