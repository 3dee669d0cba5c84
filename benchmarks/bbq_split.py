"""A deterministic held-out split of the BBQ scenes by question template (issue 15).

Run from the repository root to print the split's counts (one JSON line per category, then a total)::

    .venv/bin/python benchmarks/bbq_split.py [--data ../shared/data/bbq]

``../shared/data/bbq/*.jsonl`` holds 5,915 unique BBQ contexts ``{category, context,
context_condition, groups, stereotyped_groups}`` and no template id. BBQ writes each question template
once and fills it with the pairs of groups it compares, and often with small wording variants (a/an,
"man"/"woman", "bag"/"baggage"/"case", the clothes a person wears), so one template gives many
contexts. Issue 15 asks to keep whole templates out of anything trained or tuned. The template of a
scene is derived here:

1. **Key of an ambiguous context:** the context with each of the scene's ``groups`` strings masked
   (longest first, case-insensitive), "an" written "a", and the person nouns a template varies
   (man, woman, person, people, guy, girl, boy, ...) masked.
2. **Template:** keys of one category whose word sets have Jaccard >= ``TEMPLATE_JACCARD`` (0.55) are
   joined (union-find); a template is a connected component, named by its smallest key. Every
   threshold from 0.55 to 0.6 gives exactly 25 templates in each of the six categories; that plateau
   is taken as BBQ's own templates (the data carries no id to check it against). 0.5 gives 23
   Disability_status templates (distinct "Two <P>, one with <G> ..." scenes joined), 0.7 gives 26
   Physical_appearance ones (one template split by the clothes it names).
3. **Disambiguated contexts** extend an ambiguous one (all 2,989 here start with one): a
   disambiguated scene gets the template of the longest ambiguous context of its category that it
   starts with, preferring one with the same ``groups``. One that extends none (none here) is keyed
   like an ambiguous one, from its own text.

**Held out:** in each category, templates are walked in the order of
``blake2b(category + "\\n" + template name)``, and a template is held out when taking it brings the
category's held-out scene count nearer ``HELDOUT_SHARE`` (30%) of its scenes; the rest are ``dev``.
Templates differ in size (4 to 168 scenes), so a plain share of templates could hold out 46% of a
category's scenes (Disability_status); this way each category holds out 6 to 9 of its 25 templates
and 29.6-34.5% of its scenes. Same data, same split: nothing depends on the order of the files or on
Python's hash seed.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "data" / "bbq"
HELDOUT_SHARE = 0.3
TEMPLATE_JACCARD = 0.55

# BBQ category -> the axis name the audit (issue 15, bias_labels/group_mentions.jsonl) uses.
AXES = {
    "Age": "age",
    "Disability_status": "disability",
    "Nationality": "nationality",
    "Physical_appearance": "physical_appearance",
    "Religion": "religion",
    "Sexual_orientation": "sexual_orientation",
    # Not in the shared snapshot, listed so that the mapping is complete for BBQ.
    "Gender_identity": "gender",
    "Race_ethnicity": "race_ethnicity",
    "SES": "socioeconomic_class",
}

_ARTICLE = re.compile(r"\ban?\b", re.IGNORECASE)
_PERSON = re.compile(
    r"\b(?:man|woman|men|women|person|people|guy|guys|girl|girls|boy|boys|lady|ladies|gentleman|gentlemen)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w<>']+")


def axis_of(category: str) -> str:
    """The audit's axis name of a BBQ category (``KeyError`` for an unknown category)."""
    return AXES[category]


def mask(context: str, groups: list[str]) -> str:
    """The context with its groups, its article forms and its varied person nouns masked."""
    text = context
    for g in sorted(groups, key=len, reverse=True):
        text = re.sub(re.escape(g), "<G>", text, flags=re.IGNORECASE)
    text = _ARTICLE.sub("a", text)
    return _PERSON.sub("<P>", text)


def _words(key: str) -> frozenset[str]:
    return frozenset(_WORD.findall(key.lower()))


def _templates(keys: list[str]) -> dict[str, str]:
    """Key -> its template's name (the smallest key of its component)."""
    keys = sorted(set(keys))
    parent = {k: k for k in keys}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    words = {k: _words(k) for k in keys}
    for a, b in itertools.combinations(keys, 2):
        wa, wb = words[a], words[b]
        if len(wa & wb) / len(wa | wb) >= TEMPLATE_JACCARD:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {k: find(k) for k in keys}


def _rank(category: str, template: str) -> str:
    return hashlib.blake2b(f"{category}\n{template}".encode(), digest_size=16).hexdigest()


def load(data_dir: Path) -> list[dict[str, Any]]:
    """Every scene of ``data_dir/*.jsonl``, files in name order, lines in file order."""
    rows = []
    for path in sorted(Path(data_dir).glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def assign(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``rows`` with ``template`` (category/hash) and ``split`` (dev | heldout) added."""
    by_category: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_category.setdefault(r["category"], []).append(i)
    key_of: dict[int, str] = {}
    for indices in by_category.values():
        ambig = [
            (rows[i]["context"], sorted(rows[i]["groups"]), i)
            for i in indices
            if rows[i]["context_condition"] == "ambig"
        ]
        for i in indices:
            r = rows[i]
            if r["context_condition"] == "ambig":
                key_of[i] = mask(r["context"], r["groups"])
                continue
            prefixes = [a for a in ambig if r["context"].startswith(a[0])]
            same = [a for a in prefixes if a[1] == sorted(r["groups"])]
            pick = max(same or prefixes, key=lambda a: (len(a[0]), a[0]), default=None)
            source = r if pick is None else rows[pick[2]]
            key_of[i] = mask(source["context"], source["groups"])
    out: list[dict[str, Any]] = [dict(r) for r in rows]
    for category, indices in by_category.items():
        template = _templates([key_of[i] for i in indices])
        size = Counter(template[key_of[i]] for i in indices)
        target, held = HELDOUT_SHARE * len(indices), 0
        heldout = set()
        for name in sorted(size, key=lambda t: _rank(category, t)):
            if held + size[name] / 2 <= target:  # taking it brings the scene count nearer the target
                heldout.add(name)
                held += size[name]
        for i in indices:
            name = template[key_of[i]]
            out[i]["template"] = f"{category}/{_rank(category, name)[:12]}"
            out[i]["split"] = "heldout" if name in heldout else "dev"
    return out


def split(data_dir: Path | str = DEFAULT_DIR) -> dict[str, list[dict[str, Any]]]:
    """``{"dev": [...], "heldout": [...]}``: the scenes of ``data_dir/*.jsonl`` in file order, each
    a copy of the record with ``template`` and ``split`` added."""
    out: dict[str, list[dict[str, Any]]] = {"dev": [], "heldout": []}
    for r in assign(load(Path(data_dir))):
        out[r["split"]].append(r)
    return out


def summary(halves: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    scenes: Counter[tuple[str, str]] = Counter()
    templates: dict[tuple[str, str], set[str]] = {}
    for half, rows in halves.items():
        for r in rows:
            scenes[r["category"], half] += 1
            templates.setdefault((r["category"], half), set()).add(r["template"])
    out = []
    for category in sorted({c for c, _ in scenes}):
        n = scenes[category, "dev"] + scenes[category, "heldout"]
        out.append(
            {
                "category": category,
                "axis": axis_of(category),
                "templates": {h: len(templates.get((category, h), ())) for h in ("dev", "heldout")},
                "scenes": {h: scenes[category, h] for h in ("dev", "heldout")},
                "heldout_scene_share": round(scenes[category, "heldout"] / n, 4),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="folder of BBQ *.jsonl")
    args = parser.parse_args(argv)
    halves = split(args.data)
    for row in summary(halves):
        print(json.dumps(row))
    print(json.dumps({"total": {h: len(rows) for h, rows in halves.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
