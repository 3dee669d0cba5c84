"""Word n-grams of gold eval items, and the first one a text shares with them.

The decontamination check asks one question per sample: does it contain any eval item's n-gram? So
the index maps each n-gram's 64-bit hash to the item that holds it, and a lookup walks the sample's
n-grams once. Three refinements keep it honest:

* an n-gram held by ``boilerplate_items`` items or more ("which of the following is") is ignored:
  alone it says nothing about which item leaked;
* an item shorter than ``n`` words matches as a whole (its whole word sequence is its one gram), but
  only from ``min_words`` words up, since a two-word item ("New York") would match everything;
* a hash collision is ruled out by comparing the actual words before reporting a match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from curator.domain.normalize import normalize, words


@dataclass(frozen=True, slots=True)
class NgramMatch:
    key: str  # the item's key (e.g. "set:item")
    gram: tuple[str, ...]


class NgramIndex:
    def __init__(
        self, items: Sequence[tuple[str, str]], n: int, boilerplate_items: int = 5, min_words: int = 4
    ) -> None:
        """``items``: (key, text). Building costs one pass over every item's words."""
        self.n = n
        self._keys: list[str] = []
        self._tokens: list[list[str]] = []
        owners: dict[int, int | None] = {}  # hash -> item index; None once boilerplate
        counts: dict[int, int] = {}
        self.short_lengths: set[int] = set()
        self.skipped = 0
        for key, text in items:
            tokens = words(normalize(text))
            if len(tokens) < min_words:
                self.skipped += 1
                continue
            k = len(self._keys)
            self._keys.append(key)
            self._tokens.append(tokens)
            size = min(n, len(tokens))
            if size < n:
                self.short_lengths.add(size)
            grams = {hash(tuple(tokens[i : i + size])) for i in range(len(tokens) - size + 1)}
            for h in grams:
                counts[h] = counts.get(h, 0) + 1
                owners.setdefault(h, k)
        self._owner = {h: k for h, k in owners.items() if counts[h] < boilerplate_items and k is not None}
        self.boilerplate = sum(1 for c in counts.values() if c >= boilerplate_items)

    def __len__(self) -> int:
        """How many n-grams (and whole short items) can match."""
        return len(self._owner)

    @property
    def items(self) -> int:
        return len(self._keys)

    def find(self, text: str) -> NgramMatch | None:
        """The first (in text order) n-gram of ``text`` that an item holds, or None."""
        if not self._owner:
            return None
        tokens = words(normalize(text))
        for size in (self.n, *sorted(self.short_lengths, reverse=True)):
            for i in range(len(tokens) - size + 1):
                gram = tuple(tokens[i : i + size])
                k = self._owner.get(hash(gram))
                if k is not None and _holds(self._tokens[k], gram):
                    return NgramMatch(self._keys[k], gram)
        return None


def _holds(tokens: list[str], gram: tuple[str, ...]) -> bool:
    size = len(gram)
    return any(tuple(tokens[i : i + size]) == gram for i in range(len(tokens) - size + 1))
