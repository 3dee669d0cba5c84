"""Negatives made from good samples, in the manner of FactCC (Kryściński et al. 2020).

Each transformation takes a good (prompt, response) and returns a damaged copy,
or None when it does not apply:

* ``number``: a number in the response changed (years by a few years, other
  numbers scaled or shifted): label *hallucinated*;
* ``entity``: a capitalised name in the response replaced by a name from
  another response: *hallucinated*;
* ``truncation``: the response cut mid-sentence: *defective*;
* ``swap``: the response of another prompt: *defective* (it answers
  something else).

Everything is driven by one ``random.Random``, so a seed fixes the output.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from curator.quality.text import NUMBER, number_value, words

KINDS = ("number", "entity", "truncation", "swap")
LABEL_OF_KIND = {
    "number": "hallucinated",
    "entity": "hallucinated",
    "truncation": "defective",
    "swap": "defective",
}
_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)(?<![\w-])[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


@dataclass(frozen=True, slots=True)
class Synthetic:
    prompt: str
    response: str
    label: str
    kind: str
    source: int  # index of the good sample it was made from


def corrupt_number(response: str, rng: random.Random) -> str | None:
    found = [m for m in NUMBER.finditer(response) if number_value(m.group(0)) is not None]
    if not found:
        return None
    m = rng.choice(found)
    value = number_value(m.group(0))
    assert value is not None
    if value.is_integer() and 1000 <= value <= 2100 and "," not in m.group(0):
        new = value + rng.choice([-1, 1]) * rng.randint(1, 30)  # a year
    elif value.is_integer():
        new = rng.choice([value * rng.choice([2, 3, 10]), value + rng.choice([-1, 1]) * rng.randint(1, 9)])
        if new == value or new < 0:
            new = value + rng.randint(1, 9)
    else:
        new = round(value * rng.uniform(1.2, 3.0), len(m.group(0).split(".")[-1]))
    text = (
        f"{int(new):,}"
        if new.is_integer() and "," in m.group(0)
        else (str(int(new)) if new.is_integer() else str(new))
    )
    return response[: m.start()] + text + response[m.end() :]


def swap_entity(response: str, pool: Sequence[str], rng: random.Random) -> str | None:
    found = list(_ENTITY.finditer(response))
    if not found or not pool:
        return None
    m = rng.choice(found)
    candidates = [e for e in rng.sample(list(pool), min(len(pool), 20)) if e != m.group(0)]
    if not candidates:
        return None
    return response[: m.start()] + candidates[0] + response[m.end() :]


def truncate(response: str, rng: random.Random) -> str | None:
    tokens = response.split(" ")
    if len(words(response)) < 12:
        return None
    cut = rng.randint(int(len(tokens) * 0.3), int(len(tokens) * 0.8))
    text = " ".join(tokens[:cut]).rstrip()
    return text.rstrip(".!?") if text else None


def entity_pool(responses: Sequence[str]) -> list[str]:
    return sorted({m.group(0) for r in responses for m in _ENTITY.finditer(r)})


def synthesise(
    good: Sequence[tuple[str, str]], rng: random.Random, per_sample: float = 1.0
) -> list[Synthetic]:
    """About ``per_sample`` damaged copies per good sample, kinds drawn uniformly among those that apply."""
    pool = entity_pool([r for _, r in good])
    out: list[Synthetic] = []
    for i, (prompt, response) in enumerate(good):
        copies = int(per_sample) + (1 if rng.random() < per_sample - int(per_sample) else 0)
        for _ in range(copies):
            kinds = list(KINDS)
            rng.shuffle(kinds)
            for kind in kinds:
                if kind == "number":
                    damaged = corrupt_number(response, rng)
                elif kind == "entity":
                    damaged = swap_entity(response, pool, rng)
                elif kind == "truncation":
                    damaged = truncate(response, rng)
                else:
                    j = rng.randrange(len(good))
                    damaged = good[j][1] if j != i else None
                if damaged and damaged != response:
                    out.append(Synthetic(prompt, damaged, LABEL_OF_KIND[kind], kind, i))
                    break
    return out
