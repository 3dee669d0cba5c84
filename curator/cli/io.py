"""Reading sample files (JSONL, a JSON array, Parquet) into records, and writing JSON lines.

A :class:`Record` keeps the bytes it came from, so that the kept/dropped/review
and invalid outputs can repeat the input exactly, and the number ``N`` used in
``line N: ...`` reports and default ids: the physical line of a JSONL file, the
1-based position of an element of a JSON array or of a row of a Parquet file.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from curator.domain.validation import SampleInput
from curator.formats import annotation_json, decision_json  # noqa: F401  (the line format lives there)

CONTENT_FIELDS = ("text", "instruction", "input", "output")
# A record needs at least one of these to hold a sample at all.
CONTENT_COLUMNS = frozenset({*CONTENT_FIELDS, "messages"})
_SHOWN_COLUMNS = 20
# Fields with a meaning of their own; every other field of a record goes to metadata.
KNOWN_FIELDS = frozenset({"id", *CONTENT_FIELDS, "messages", "context", "metadata"})
_COUNT_CHUNK = 1 << 20
_ORJSON_POSITION = re.compile(r":? ?line \d+ column (\d+) \(char \d+\)$")


class InputError(Exception):
    """The input as a whole cannot be read (missing file, broken JSON array, bad Parquet)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: where it was, its bytes as read, and its parsed object or what is wrong with it."""

    line: int
    raw: bytes
    data: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(slots=True)
class Input:
    """An opened input: how many records to expect (None if unknown) and the records themselves."""

    records: Iterator[Record]
    total: int | None
    kind: str


def open_input(path: Path, *, require_content: bool = False) -> Input:
    """Records of ``path`` (``-``: JSON lines on stdin); the format comes from the suffix, else the bytes.

    ``require_content``: a Parquet file or JSON array whose columns include no
    content field (text, instruction, input, output, messages) is an
    :class:`InputError` naming the columns found, rather than one bad record
    per row. JSON lines have no columns to go by: each line is judged alone.
    """
    if str(path) == "-":
        return Input(_jsonl_lines(iter(sys.stdin.buffer)), None, "jsonl")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet" or (suffix not in (".jsonl", ".ndjson", ".json") and _sniff(path, 4) == b"PAR1"):
        return _open_parquet(path, require_content)
    if suffix != ".jsonl" and suffix != ".ndjson" and _first_non_space(path) == b"[":
        return _open_json_array(path, require_content)
    return Input(_jsonl_file(path), count_lines(path), "jsonl")


def _require_content(path: Path, columns: list[str]) -> None:
    if CONTENT_COLUMNS.isdisjoint(columns):
        shown = ", ".join(columns[:_SHOWN_COLUMNS]) or "(none)"
        if len(columns) > _SHOWN_COLUMNS:
            shown += f" and {len(columns) - _SHOWN_COLUMNS} more"
        raise InputError(
            f"{path}: no content column; expected text, instruction (+input, output) or messages;"
            f" found: {shown}"
        )


def count_lines(path: Path) -> int:
    """Lines in a file, counted in binary chunks without parsing (for the progress bar's total)."""
    n = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(_COUNT_CHUNK):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _sniff(path: Path, n: int) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _first_non_space(path: Path) -> bytes:
    with path.open("rb") as f:
        while chunk := f.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    return b""


def _jsonl_file(path: Path) -> Iterator[Record]:
    with path.open("rb") as f:
        yield from _jsonl_lines(f)


def _jsonl_lines(lines: Iterator[bytes] | IO[bytes]) -> Iterator[Record]:
    """One record per non-blank line; blank lines are skipped but still counted for line numbers."""
    for n, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            yield Record(n, raw, problem=f"not valid JSON ({_json_error(err)})")
            continue
        yield _record(n, raw, value)


def _open_json_array(path: Path, require_content: bool) -> Input:
    """A file holding one JSON array is read whole: it cannot be streamed record by record anyway."""
    try:
        values = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise InputError(f"{path}: not a valid JSON array ({err})") from err
    if not isinstance(values, list):
        raise InputError(f"{path}: expected a JSON array of objects or one JSON object per line")
    objects = [v for v in values if isinstance(v, dict)]
    if require_content and objects:  # an array of no objects at all: each element is reported
        _require_content(path, list(dict.fromkeys(k for v in objects for k in v)))
    records = (_record(n, orjson.dumps(v), v) for n, v in enumerate(values, start=1))
    return Input(records, len(values), "json")


def _open_parquet(path: Path, require_content: bool) -> Input:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({err})") from err
    if require_content:
        try:
            _require_content(path, list(parquet.schema_arrow.names))
        except InputError:
            parquet.close()
            raise

    def rows() -> Iterator[Record]:
        n = 0
        with parquet:
            for batch in parquet.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    n += 1
                    yield _record(n, orjson.dumps(row, default=str), row)

    return Input(rows(), parquet.metadata.num_rows, "parquet")


def _record(n: int, raw: bytes, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(n, raw, problem=f"expected a JSON object, got {_json_type(value)}")
    return Record(n, raw, data=value)


def _json_error(err: orjson.JSONDecodeError) -> str:
    """orjson's message without its own "line 1" position, which would contradict ours."""
    msg = str(err)
    return _ORJSON_POSITION.sub(lambda m: f" at column {m.group(1)}", msg)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


# ---------------------------------------------------------------- record -> sample


def to_sample_input(data: dict[str, Any], line: int) -> tuple[SampleInput | None, list[str]]:
    """A SampleInput for one record, or the problems with its field types.

    Missing ``id`` → ``line-<n>``. ``null`` content fields count as absent.
    Fields curator does not know go to metadata: strings as they are, other
    values JSON-encoded; a ``metadata`` object's entries are merged in the same
    way. Shape and length rules are left to curator.domain.validation.
    """
    problems: list[str] = []
    raw_id = data.get("id")
    if raw_id is None:
        sample_id = f"line-{line}"
    elif isinstance(raw_id, str):
        sample_id = raw_id
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
        sample_id = str(raw_id)
    else:
        sample_id = ""
        problems.append(f"id: must be a string or an integer, got {_json_type(raw_id)}")

    content: dict[str, str | None] = {}
    for name in CONTENT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: must be a string, got {_json_type(value)}")
            value = None
        content[name] = value

    messages: list[tuple[str, str]] | None = None
    raw_messages = data.get("messages")
    if raw_messages is not None:
        if not isinstance(raw_messages, list):
            problems.append(
                f"messages: must be a list of {{role, content}} objects, got {_json_type(raw_messages)}"
            )
        else:
            messages = []
            for i, m in enumerate(raw_messages):
                if (
                    isinstance(m, dict)
                    and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), str)
                ):
                    messages.append((m["role"], m["content"]))
                else:
                    problems.append(f"messages[{i}]: must be an object with string role and content")

    context: tuple[str, ...] = ()
    raw_context = data.get("context")
    if isinstance(raw_context, str):
        context = (raw_context,)
    elif isinstance(raw_context, list) and all(isinstance(c, str) for c in raw_context):
        context = tuple(raw_context)
    elif raw_context is not None:
        problems.append("context: must be a list of strings")

    metadata = {k: _stringify(v) for k, v in data.items() if k not in KNOWN_FIELDS}
    raw_metadata = data.get("metadata")
    if isinstance(raw_metadata, dict):
        metadata.update({str(k): _stringify(v) for k, v in raw_metadata.items()})
    elif raw_metadata is not None:
        metadata["metadata"] = _stringify(raw_metadata)

    if problems:
        return None, problems
    return (
        SampleInput(
            id=sample_id,
            messages=messages or None,
            context=context,
            metadata=metadata,
            **content,
        ),
        [],
    )


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


# ---------------------------------------------------------------- writing


class JsonlWriter:
    """Appends JSON lines to a file (created or truncated), buffered, but flushed at least every
    ``flush_seconds`` while lines keep coming, so `tail -f` follows a slow run."""

    def __init__(self, path: Path, flush_seconds: float = 1.0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = path.open("wb", buffering=1 << 16)
        self._flush_seconds = flush_seconds
        self._flushed_at = time.monotonic()

    def write_raw(self, line: bytes) -> None:
        self._f.write(line)
        self._f.write(b"\n")
        self._maybe_flush()

    def write(self, obj: Any) -> None:
        self._f.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if now - self._flushed_at >= self._flush_seconds:
            self._f.flush()
            self._flushed_at = now

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
