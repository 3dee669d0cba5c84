"""A numpy array that grows by appending, with amortised O(1) cost per row (capacity doubles)."""

from __future__ import annotations

import numpy as np


class GrowableArray:
    def __init__(self, row_shape: tuple[int, ...], dtype: np.typing.DTypeLike, capacity: int = 64) -> None:
        self._data = np.empty((capacity, *row_shape), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def view(self) -> np.ndarray:
        """The filled rows (a view: valid until the next append)."""
        return self._data[: self._n]

    def extend(self, rows: np.ndarray) -> None:
        need = self._n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), *self._data.shape[1:]), dtype=self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = rows
        self._n = need
