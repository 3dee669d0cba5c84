"""What a batch job reads: input files (or directories of shards) cut into pieces of records.

A piece is the unit of parallel work and of resume: its results are written under the output
directory once, and a restarted job skips the pieces it finds there. Input order is the order
of the files as given (a directory's shards sorted by name), then the order of records in each.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curator.cli.io import InputError, Record, open_input

INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
DEFAULT_PIECE_RECORDS = 5_000


@dataclass(frozen=True, slots=True)
class Piece:
    """Records ``start`` .. ``start + count`` (0-based) of one input file."""

    index: int
    path: str
    start: int
    count: int

    @property
    def name(self) -> str:
        return f"piece-{self.index:05d}"


def input_files(inputs: Sequence[Path]) -> list[Path]:
    """The files to read, in input order; a directory contributes its shards sorted by name."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            shards = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
            if not shards:
                raise InputError(f"{path}: no {', '.join(INPUT_SUFFIXES)} files in this directory")
            files += shards
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def plan(inputs: Sequence[Path], piece_records: int = DEFAULT_PIECE_RECORDS) -> list[Piece]:
    """Pieces covering every record of every input file, in input order."""
    if piece_records < 1:
        raise ValueError("piece_records must be >= 1")
    pieces: list[Piece] = []
    for path in input_files(inputs):
        total = open_input(path, require_content=True).total
        if total is None:
            total = sum(1 for _ in open_input(path).records)
        for start in range(0, max(total, 1), piece_records):
            pieces.append(Piece(len(pieces), str(path), start, min(piece_records, total - start)))
    return pieces


def read_piece(piece: Piece) -> list[Record]:
    """The piece's records; ``Record.line`` stays the line (or row) number in its file."""
    records = open_input(Path(piece.path)).records
    return list(itertools.islice(records, piece.start, piece.start + piece.count))


def fingerprint(pieces: Sequence[Piece], extra: str) -> str:
    """Identifies a job's input and settings, so that a resumed job never mixes in another's results."""
    h = hashlib.blake2b(digest_size=12)
    for p in pieces:
        stat = Path(p.path).stat()
        h.update(f"{p.path}\0{p.start}\0{p.count}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    h.update(extra.encode())
    return h.hexdigest()
