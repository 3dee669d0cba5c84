"""Durable record of what a collection admitted: a snapshot plus an append-only log.

Each admission is one *batch*: sample ids plus named feature columns (numpy
arrays such as MinHash signatures). A batch is framed with its length and a
CRC32, so a write torn by a crash is detected and cut off on recovery. Only
plain bytes and JSON are read back: nothing is unpickled.

Layout of a collection directory::

    CURRENT          generation number g (replaced atomically)
    gen-g.snap       frames of every batch admitted before generation g
    gen-g.log        frames appended since (fsync'd before a decision returns)
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from curator.errors import FailedPrecondition, Unavailable

log = logging.getLogger(__name__)

_MAGIC = b"CRB1"
_FRAME = struct.Struct("<4sII")  # magic, payload length, crc32
_HEADER_LEN = struct.Struct("<I")


@dataclass(slots=True)
class Batch:
    ids: list[str]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: list[dict[str, str]] | None = None  # per sample, for reports by generator and the like

    def encode(self) -> bytes:
        arrays = {k: np.ascontiguousarray(v) for k, v in self.columns.items()}
        header = orjson.dumps(
            {
                "ids": self.ids,
                "arrays": [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()],
                "metadata": self.metadata,
            }
        )
        payload = b"".join([_HEADER_LEN.pack(len(header)), header, *(v.tobytes() for v in arrays.values())])
        return _FRAME.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> Batch:
        (hlen,) = _HEADER_LEN.unpack_from(payload)
        header = orjson.loads(payload[4 : 4 + hlen])
        offset = 4 + hlen
        columns = {}
        for name, dtype, shape in header["arrays"]:
            dt = np.dtype(dtype)
            if dt.hasobject:
                raise ValueError(f"refusing object dtype in column {name}")
            size = dt.itemsize * int(np.prod(shape))
            columns[name] = np.frombuffer(
                payload, dtype=dt, count=int(np.prod(shape)), offset=offset
            ).reshape(shape)
            offset += size
        return cls(list(header["ids"]), columns, header.get("metadata"))

    def take(self, rows: list[int]) -> Batch:
        """The batch restricted to ``rows``, in that order."""
        index = np.asarray(rows, dtype=np.int64)
        metadata = self.metadata or [{} for _ in self.ids]
        return Batch(
            [self.ids[r] for r in rows],
            {k: v[index] for k, v in self.columns.items()},
            [metadata[r] for r in rows],
        )


def merge_batches(batches: list[Batch]) -> Batch:
    """Batches as one. A column some batches lack (a check disabled for a while) is left out, unless it is
    a ``row.`` column, which is padded with NaN (admission time and diversity of old rows: unknown)."""
    batches = [b for b in batches if b.ids]
    ids = [i for b in batches for i in b.ids]
    metadata = [m for b in batches for m in (b.metadata or [{} for _ in b.ids])]
    names = list(dict.fromkeys(k for b in batches for k in b.columns))
    columns: dict[str, np.ndarray] = {}
    for name in names:
        present = [b.columns[name] for b in batches if name in b.columns]
        if len(present) == len(batches):
            columns[name] = np.concatenate(present)
        elif name.startswith("row.") and present[0].dtype.kind == "f":
            dtype = present[0].dtype
            columns[name] = np.concatenate(
                [b.columns.get(name, np.full(len(b.ids), np.nan, dtype=dtype)) for b in batches]
            )
    return Batch(ids, columns, metadata)


def decode_frame(frame: bytes) -> Batch:
    """One batch from a whole frame (as :meth:`Batch.encode` makes it), checked; ValueError if damaged."""
    batches, good = _frames(frame)
    if len(batches) != 1 or good != len(frame):
        raise ValueError("not one intact admission frame")
    return batches[0]


def _frames(data: bytes) -> tuple[list[Batch], int]:
    """The intact frames at the start of ``data`` and the offset just past the last of them."""
    batches: list[Batch] = []
    good = 0
    while good + _FRAME.size <= len(data):
        magic, length, crc = _FRAME.unpack_from(data, good)
        start = good + _FRAME.size
        payload = data[start : start + length]
        if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            break
        batches.append(Batch.decode(payload))
        good = start + length
    return batches, good


def _read_frames(path: Path) -> tuple[list[Batch], int]:
    """Batches from a file and the offset just past the last intact frame."""
    if not path.exists():
        return [], 0
    return _frames(path.read_bytes())


class AdmissionLog:
    def __init__(self, directory: Path, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        current = directory / "CURRENT"
        self.generation = int(current.read_text().strip()) if current.exists() else 0
        self.frames_since_snapshot = 0
        self._file: BinaryIO | None = None
        # The generation whose log takes appends: the current one, or the next while the current one is
        # being folded in the background (see rotate and fold).
        self._appending = self.generation

    def _path(self, kind: str, generation: int | None = None) -> Path:
        return self.directory / f"gen-{self.generation if generation is None else generation}.{kind}"

    def load(self) -> Iterator[Batch]:
        """Everything admitted, snapshot first; a torn tail of the log is cut off. After a rotation whose
        fold did not happen, the next generation's log too."""
        yield from self.load_snapshot()
        yield from self.load_log()
        if self._appending != self.generation:
            yield from _read_frames(self._path("log", self._appending))[0]

    def load_snapshot(self) -> list[Batch]:
        """The current generation's snapshot: everything admitted before it (empty at generation 0)."""
        snap, _ = _read_frames(self._path("snap"))
        return snap

    def side_file(self, name: str) -> Path:
        """Where an index may keep an image of itself that matches the current snapshot."""
        return self._path(f"{name}.idx")

    def load_log(self) -> Iterator[Batch]:
        """Batches appended since the snapshot; a torn tail is cut off."""
        logged, good = _read_frames(self._path("log"))
        path = self._path("log")
        if path.exists() and path.stat().st_size != good:
            log.warning("%s: cutting a torn write at byte %d of %d", path, good, path.stat().st_size)
            with path.open("r+b") as f:
                f.truncate(good)
        self.frames_since_snapshot = len(logged)
        yield from logged

    def append(self, batch: Batch) -> None:
        """Append one frame, durably; a write that fails (disk full) leaves the log as it was and raises
        Unavailable, so the request fails and nothing is appended behind a torn frame."""
        frame = batch.encode()
        try:
            if self._file is None:
                self._file = self._path("log", self._appending).open("ab")
            start = self._file.tell()
            try:
                self._file.write(frame)
                self._file.flush()
                if self.fsync:
                    os.fsync(self._file.fileno())
            except OSError:
                self._cut(start)
                raise
        except OSError as err:
            raise Unavailable(f"could not write the admission log {self._path('log')}: {err}") from err
        self.frames_since_snapshot += 1

    def _cut(self, size: int) -> None:
        """Back to ``size`` bytes after a failed append (the buffered part is dropped with the handle)."""
        file, self._file = self._file, None
        try:
            if file is not None:
                file.close()
        except OSError:
            pass  # closing flushes what is buffered, which may fail again: the truncate below undoes it
        with self._path("log", self._appending).open("r+b") as f:
            f.truncate(size)
            os.fsync(f.fileno())

    def checkpoint(self, batches: list[Batch] | None = None) -> None:
        """Fold snapshot + log into the next generation's snapshot; crash-safe at every step.

        ``batches``, when given, is written instead: everything admitted, rewritten (new feature columns
        computed for samples admitted before a check existed)."""
        self._check_generation()
        batches = list(self.load()) if batches is None else batches
        nxt = self.generation + 1
        tmp = self._path("snap.tmp", nxt)
        with tmp.open("wb") as f:
            merged = merge_batches(batches)
            if merged.ids:
                f.write(merged.encode())
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self._path("snap", nxt))
        self._path("log", nxt).open("wb").close()  # empty: a log a crashed rotation left there goes
        self._write_current(nxt)
        old = self.generation
        self.close()
        self.generation = self._appending = nxt
        self.frames_since_snapshot = 0
        for stale in self.directory.glob(f"gen-{old}.*"):
            stale.unlink(missing_ok=True)

    def rotate(self) -> int:
        """Send appends to the next generation's log from now on, so that the current generation can be
        folded into a snapshot without holding up appends (:meth:`fold`); returns the generation to fold.
        Only for a log that is a cache: a crash before the fold ends loses what was appended meanwhile
        from these files (the next start reads the current generation), which the store still holds."""
        self.close()
        self._appending = self.generation + 1
        self._path("log", self._appending).open("wb").close()
        self.frames_since_snapshot = 0
        return self.generation

    def fold(self, generation: int) -> None:
        """Fold ``generation`` (snapshot and log) into the next one's snapshot and make that current, while
        appends go on into the next generation's log. One fold at a time, and none during checkpoint."""
        batches, _ = _read_frames(self._path("snap", generation))
        logged, _ = _read_frames(self._path("log", generation))
        nxt = generation + 1
        tmp = self._path("snap.tmp", nxt)
        with tmp.open("wb") as f:
            merged = merge_batches([*batches, *logged])
            if merged.ids:
                f.write(merged.encode())
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self._path("snap", nxt))
        self._write_current(nxt)
        self.generation = nxt
        for stale in self.directory.glob(f"gen-{generation}.*"):
            stale.unlink(missing_ok=True)

    def _check_generation(self) -> None:
        """Refuse to fold the files when another process moved CURRENT on (it owns them now): folding ours
        would overwrite its snapshot with a stale one. The decision log keeps what either kept."""
        current = self.directory / "CURRENT"
        on_disk = int(current.read_text().strip()) if current.exists() else 0
        if on_disk != self.generation:
            raise FailedPrecondition(
                f"{self.directory}: another process rewrote this collection's files (generation {on_disk},"
                f" this process holds {self.generation}); only one process may own a data directory"
            )

    def _write_current(self, generation: int) -> None:
        tmp = self.directory / "CURRENT.tmp"
        tmp.write_text(f"{generation}\n")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.directory / "CURRENT")
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
