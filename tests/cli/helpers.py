"""Shared helpers of the CLI tests: sample records with known duplicates, and reading outputs back."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

_VOCABULARY = (
    "river stone cloud garden lamp winter orange bridge paper signal forest copper "
    "violin harbor pepper candle meadow rocket silver tunnel marble falcon ladder velvet "
    "anchor cactus glacier hammer island jacket kettle lemon magnet needle oyster pencil "
    "quartz ribbon saddle ticket umbrella valley walnut yogurt zipper"
)
_WORDS = _VOCABULARY.split()


def words(seed: int, n: int = 60) -> str:
    """A deterministic sentence of ``n`` random words; different seeds share almost no 3-word shingles."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(n)) + "."


def alpaca(sample_id: str, seed: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": sample_id,
        "instruction": f"Describe item {seed}.",
        "input": "",
        "output": words(seed),
        **extra,
    }


def write_jsonl(path: Path, records: Sequence[dict[str, Any] | str]) -> Path:
    """One line per record; a str is written as it is (to make malformed lines)."""
    lines = [r if isinstance(r, str) else orjson.dumps(r).decode() for r in records]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def summary(stderr: str) -> dict[str, str]:
    """The filter summary table as {column: value}."""
    lines = stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if "┃ read" in line)
    names = [c.strip() for c in lines[head].strip("┃ ").split("┃")]
    row = next(line for line in lines[head + 1 :] if line.startswith("│"))
    values = [c.strip() for c in row.strip("│ ").split("│")]
    return dict(zip(names, values, strict=True))
