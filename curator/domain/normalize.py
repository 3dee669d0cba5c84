"""Normalisation for hashing: two texts that differ only in Unicode form, case or spacing hash alike."""

from __future__ import annotations

import re
import unicodedata

# Word tokens for shingling: letters/digits runs; punctuation is not a word.
_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace runs folded to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def words(normalized: str) -> list[str]:
    """Word tokens of an already normalised text."""
    return _WORD.findall(normalized)
