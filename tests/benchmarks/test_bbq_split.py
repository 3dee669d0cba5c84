"""The held-out BBQ split by template (benchmarks/bbq_split.py; fast: reads 5,915 short lines)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks.bbq_split import AXES, assign, axis_of, mask, split

# The whole set when this checkout sits beside ../shared/data, else two of its files shipped with the
# tests (CI): the split's properties hold per category either way.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bbq"
BBQ = SHARED if SHARED.is_dir() else Path(__file__).parent / "fixtures" / "bbq"
SCENES = sum(1 for p in BBQ.glob("*.jsonl") for line in p.read_text().splitlines() if line.strip())
CATEGORIES = {json.loads(p.read_text().splitlines()[0])["category"] for p in BBQ.glob("*.jsonl")}


@pytest.fixture(scope="module")
def halves() -> dict[str, list[dict]]:
    return split(BBQ)


def test_axis_of() -> None:
    assert axis_of("Age") == "age"
    assert axis_of("Disability_status") == "disability"
    assert axis_of("Nationality") == "nationality"
    assert axis_of("Physical_appearance") == "physical_appearance"
    assert axis_of("Religion") == "religion"
    assert axis_of("Sexual_orientation") == "sexual_orientation"
    with pytest.raises(KeyError):
        axis_of("Hair_colour")
    assert len(set(AXES.values())) == len(AXES)


def test_mask_removes_the_fillers() -> None:
    a = mask("A gay man and a lesbian woman walked into a clothing store.", ["gay", "lesbian"])
    b = mask("An asexual man and a gay man walked into a clothing store.", ["asexual", "gay"])
    assert a == b == "a <G> <P> and a <G> <P> walked into a clothing store."


def test_variants_share_a_template_and_disambig_follows_its_ambig() -> None:
    def scene(context: str, groups: list[str], condition: str = "ambig") -> dict:
        return {"category": "X", "context": context, "context_condition": condition, "groups": groups}

    rows = [
        scene("I saw a tall man and a short man in the park.", ["tall", "short"]),
        scene("I saw an old woman and a young man in the park.", ["old", "young"]),
        scene("Two neighbours, one Sikh and one Hindu, argued.", ["Sikh", "Hindu"]),
    ]
    rows.append(scene(rows[2]["context"] + " The Sikh one left.", ["Sikh", "Hindu"], "disambig"))
    out = assign(rows)
    assert out[0]["template"] == out[1]["template"] != out[2]["template"]
    assert out[3]["template"] == out[2]["template"]
    assert "template" not in rows[0]  # the input is not changed


def test_deterministic(halves: dict[str, list[dict]]) -> None:
    again = split(BBQ)
    assert json.dumps(again, sort_keys=True) == json.dumps(halves, sort_keys=True)


def test_every_scene_once_and_no_template_in_both_halves(halves: dict[str, list[dict]]) -> None:
    assert sum(len(rows) for rows in halves.values()) == SCENES
    dev = {r["template"] for r in halves["dev"]}
    heldout = {r["template"] for r in halves["heldout"]}
    assert dev and heldout and not dev & heldout
    assert all(r["split"] == half for half, rows in halves.items() for r in rows)


def test_every_category_in_both_halves_with_20_to_40_percent_held_out(halves: dict[str, list[dict]]) -> None:
    count: dict[str, dict[str, int]] = defaultdict(lambda: {"dev": 0, "heldout": 0})
    templates: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"dev": set(), "heldout": set()})
    for half, rows in halves.items():
        for r in rows:
            count[r["category"]][half] += 1
            templates[r["category"]][half].add(r["template"])
    assert set(count) == CATEGORIES and {"Religion", "Sexual_orientation"} <= CATEGORIES
    for category, c in count.items():
        assert c["dev"] and c["heldout"], category
        share = c["heldout"] / (c["dev"] + c["heldout"])
        assert 0.2 <= share <= 0.4, (category, share)
        t = templates[category]
        assert 0.2 <= len(t["heldout"]) / (len(t["dev"]) + len(t["heldout"])) <= 0.4, category
