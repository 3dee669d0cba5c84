"""Bias benchmark: detection recall, hand-labelled precision of the hits, and per-sample cost.

Run from the repository root (reads ../shared/data; nothing is downloaded)::

    .venv/bin/python benchmarks/bias_benchmark.py [--data DIR] [--out results.jsonl] [--demo-html PATH]
    .venv/bin/python benchmarks/bias_benchmark.py --bbq    # only the issue-15 baseline (~3 s)

One JSON line per measurement goes to stdout (and to ``--out``):

* ``holistic_recall``: every HolisticBias sentence template x noun (singular / plural) x descriptor;
  a sentence counts when the check finds the descriptor's axis and group (target >= 0.98).
* ``holistic_standalone_axis_recall``: informational, no target; HolisticBias standalone noun phrases
  ("a person with a disability") have an axis but no group: how often is the axis found.
* ``bold_recall``: BOLD prompts (gender, race, religious and political ideology) that name their
  group, per hand-written patterns here that do not use the lexicon; a prompt counts when the check
  finds a mapped lexicon group (target >= 0.90). Also how many of all prompts get their group.
* ``hits``: every TOXIC_LANGUAGE and STEREOTYPE_ASSOCIATION hit on alpaca_5000 (and, to have some
  hits to judge, halueval_general_dev and the BOLD prompts), joined with the hand labels in
  benchmarks/bias_labels/hits.jsonl; the false-positive rate is fp / labelled hits.
* ``near_misses``: alpaca sentences where a trait shares a sentence with a person or group word but
  nothing was found, joined with benchmarks/bias_labels/alpaca_near_misses.jsonl (false negatives).
* ``cost``: milliseconds per ~100-word sample of the bias check (evaluate_batch over 1,000-sample
  batches, one CPU, median of --repeat runs; target <= 0.3 ms).
* Issue 15's baseline (implicit mentions), also alone with ``--bbq``; no target, a reference for later
  detectors. Detected mentions are mapped to the issue's nine axes by ``ISSUE_AXIS``.
  ``implicit_bbq_recall``: per axis, the share of BBQ scenes (benchmarks/bbq_split.py) whose axis the
  detector reports, on the held-out templates (with up to 5 missed scenes per axis) and, for
  reference, on the dev ones. ``implicit_fp``: axes reported on the hand-labelled texts of
  bias_labels/group_mentions.jsonl where no group, or no group of that axis, is labelled.
  ``implicit_cost``: microseconds per text of the detector on those texts and on the held-out scenes.
  Each of these records carries ``method``: the lexicon before issue 15 (1.0.0, read from git), the
  current lexicon, and the current lexicon with first names (gender only, the default; and gender
  and race), all in the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bbq_split import axis_of  # noqa: E402
from benchmarks.bbq_split import split as bbq_split  # noqa: E402
from curator.bias.detect import analyse  # noqa: E402
from curator.bias.lexicon import Lexicon, default_lexicon_path, load_lexicon  # noqa: E402
from curator.bias.names import Names, load_names  # noqa: E402
from curator.checks.base import Item  # noqa: E402
from curator.checks.bias import NAME_AXES, BiasCheck  # noqa: E402
from curator.domain.policy import DedupKey  # noqa: E402
from curator.domain.sample import ContentShape, Sample  # noqa: E402

LABELS = ROOT / "benchmarks" / "bias_labels"
HOLISTIC_TARGET = 0.98
BOLD_TARGET = 0.90
COST_TARGET_MS = 0.3

# BOLD group -> (pattern naming the group in a prompt, lexicon groups that count as finding it).
# The patterns are the group's own names: the -ism, its adherents (singular and plural), and an
# adjective where it only has this sense; "gender:" means a gendered noun of that gender.
_ASIAN = r"(Asian|Chinese|Japanese|Korean|Filipin[oa]|Vietnamese|Indian|Taiwanese|Pakistani)"
_LATINX = (
    r"(Hispanic|Latin[oax]|Latina|Mexican|Cuban|Puerto Rican|Dominican|Salvadoran|Guatemalan|Honduran"
    r"|Colombian|Venezuelan|Peruvian|Nicaraguan|Ecuadorian|Uruguayan|Argentine|Chilean)"
)
_JEWISH = ("jewish", "ashkenazi_jewish", "orthodox_jewish", "conservative_jewish", "reform_jewish")
BOLD: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("gender", "American_actors"): (r"\bactors?\b", {"gender:male"}),
    ("gender", "American_actresses"): (r"\bactress(es)?\b", {"gender:female"}),
    ("race", "Asian_Americans"): (
        rf"\b{_ASIAN}[- ]Americans?\b|\bAsians?\b",
        {"race_ethnicity/asian", *(f"nationality/{c}" for c in ("china", "south_korea", "philippines"))}
        | {"nationality/vietnam", "nationality/india"},
    ),
    ("race", "African_Americans"): (
        r"\b(African|Afro)[- ]Americans?\b|\bBlack (Americans?|people|women|men|communit(y|ies))\b",
        {"race_ethnicity/black"},
    ),
    ("race", "European_Americans"): (
        r"\bEuropean[- ]Americans?\b|\bwhite (Americans?|people)\b|\bEuropeans\b",
        {"race_ethnicity/white"},
    ),
    ("race", "Hispanic_and_Latino_Americans"): (
        rf"\b{_LATINX}[- ]?Americans?\b|\bHispanics?\b|\bLatin[oa]s?\b",
        {"race_ethnicity/latinx", *(f"nationality/{c}" for c in ("mexico", "cuba", "dominican_republic"))}
        | {"nationality/el_salvador", "nationality/guatemala"},
    ),
    ("religious_ideology", "judaism"): (
        r"\bJuda(ism|ic)\b|\bJews?\b|\bJewish\b",
        {f"religion/{g}" for g in (*_JEWISH, "sephardic_jewish", "hasidic")},
    ),
    ("religious_ideology", "christianity"): (r"\bChristian(s|ity)?\b", {"religion/christian"}),
    ("religious_ideology", "islam"): (r"\bIslam(ic)?\b|\bMuslims?\b", {"religion/muslim"}),
    ("religious_ideology", "hinduism"): (r"\bHindu(s|ism)?\b", {"religion/hindu"}),
    ("religious_ideology", "buddhism"): (r"\bBuddhis(m|ts?)\b", {"religion/buddhist"}),
    ("religious_ideology", "sikhism"): (r"\bSikh(s|ism)?\b", {"religion/sikh"}),
    ("religious_ideology", "atheism"): (r"\batheis(m|ts?)\b", {"religion/atheist"}),
    ("political_ideology", "left-wing"): (
        r"\bleft[- ]wing\b|\bcent(re|er)[- ]left\b|\bfar[- ]left\b|\bleftis(m|ts?)\b",
        {"political_ideologies/left_wing", "political_ideologies/leftist"},
    ),
    ("political_ideology", "right-wing"): (
        r"\bright[- ]wing\b|\bcent(re|er)[- ]right\b|\bfar[- ]right\b|\brightis(m|ts?)\b",
        {"political_ideologies/right_wing", "political_ideologies/rightist"},
    ),
    ("political_ideology", "communism"): (r"\bcommunis(m|ts?)\b", {"political_ideologies/communist"}),
    ("political_ideology", "socialism"): (
        r"\bsocialis(m|ts?)\b",
        {"political_ideologies/socialist", "political_ideologies/democratic_socialist"},
    ),
    ("political_ideology", "democracy"): (
        r"\bsocial democra(cy|cies|ts?|tic)\b",
        {"political_ideologies/social_democrat"},
    ),
    ("political_ideology", "liberalism"): (r"\bliberalism\b|\bliberals\b", {"political_ideologies/liberal"}),
    ("political_ideology", "populism"): (r"\bpopulis(m|ts?)\b", {"political_ideologies/populist"}),
    ("political_ideology", "conservatism"): (
        r"\bconservatism\b|\bconservatives\b",
        {"political_ideologies/conservative"},
    ),
    ("political_ideology", "nationalism"): (r"\bnationalis(m|ts?)\b", {"political_ideologies/nationalist"}),
    ("political_ideology", "anarchism"): (r"\banarchis(m|ts?)\b", {"political_ideologies/anarchist"}),
    ("political_ideology", "capitalism"): (r"\bcapitalis(m|ts?)\b", {"political_ideologies/capitalist"}),
    ("political_ideology", "fascism"): (r"\bfascis(m|ts?)\b", {"political_ideologies/fascist"}),
}


def emit(record: dict[str, Any], out: Any) -> None:
    line = json.dumps(record, ensure_ascii=False)
    print(line, flush=True)
    if out is not None:
        out.write(line + "\n")


def found_groups(text: str, lexicon: Lexicon) -> set[str]:
    f = analyse(text, lexicon)
    return {f"{m.axis}/{m.group}" for m in f.mentions} | {f"gender:{g}" for (_, g) in f.gender_counts}


# ---------------------------------------------------------------- recall


def holistic_sentences(data: Path, lexicon_data: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(sentence, axis, group, descriptor) for every template x noun x descriptor."""
    folder = data / "holistic_bias"
    descriptors = json.loads((folder / "descriptors.json").read_text())
    nouns = json.loads((folder / "nouns.json").read_text())
    templates = json.loads((folder / "sentence_templates.json").read_text())
    group_of = {
        (e["term"], e["axis"]): e["group"] for e in lexicon_data["identity"] if e["source"] == "holistic_bias"
    }
    for axis, buckets in descriptors.items():
        for items in buckets.values():
            for item in items:
                d = item if isinstance(item, str) else item["descriptor"]
                article = item.get("article") if isinstance(item, dict) else None
                article = article or ("an" if d[0].lower() in "aeiou" else "a")
                for pairs in nouns.values():
                    for singular, plural in pairs:
                        for template in templates:
                            sentence = template.replace("{noun_phrase}", f"{article} {d} {singular}")
                            sentence = sentence.replace("{plural_noun_phrase}", f"{d} {plural}")
                            yield sentence, axis, group_of[(d, axis)], d


def holistic_recall(data: Path, lexicon: Lexicon, lexicon_data: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    total = hit = spurious = toxic = stereotype = 0
    by_axis: Counter[str] = Counter()
    by_axis_hit: Counter[str] = Counter()
    misses: list[str] = []
    for sentence, axis, group, descriptor in holistic_sentences(data, lexicon_data):
        f = analyse(sentence, lexicon)
        total += 1
        by_axis[axis] += 1
        found = {(m.axis, m.group) for m in f.mentions}
        own = {(m.axis, m.group) for m in f.mentions if m.term.lower() == descriptor.lower()}
        if (axis, group) in found:
            hit += 1
            by_axis_hit[axis] += 1
        elif len(misses) < 20:
            misses.append(sentence)
        spurious += bool(found - own - {(axis, group)})
        toxic += bool(f.toxic)
        stereotype += bool(f.stereotypes)
    recall = hit / total
    return {
        "bench": "holistic_recall",
        "sentences": total,
        "recall": round(recall, 5),
        "target": HOLISTIC_TARGET,
        "pass": recall >= HOLISTIC_TARGET,
        "recall_by_axis": {a: round(by_axis_hit[a] / n, 5) for a, n in sorted(by_axis.items())},
        "sentences_with_another_identity_mention": spurious,
        "sentences_with_toxic_language": toxic,
        "sentences_with_a_stereotype": stereotype,
        "misses": misses,
        "seconds": round(time.perf_counter() - started, 1),
    }


def standalone_recall(data: Path, lexicon: Lexicon) -> dict[str, Any]:
    """Informational, no target: HolisticBias standalone noun phrases ("a person with a disability")
    carry an axis but no group; how often is their axis found?"""
    phrases = json.loads((data / "holistic_bias" / "standalone_noun_phrases.json").read_text())
    total: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for axis, items in phrases.items():
        for item in items:
            phrase = item if isinstance(item, str) else item["noun_phrase"]
            for noun in ("woman", "man", "person"):
                text = "I'm " + phrase.replace("{article}", "a").replace("{noun}", noun) + "."
                total[axis] += 1
                hit[axis] += any(m.axis == axis for m in analyse(text, lexicon).mentions)
    return {
        "bench": "holistic_standalone_axis_recall",
        "sentences": sum(total.values()),
        "recall": round(sum(hit.values()) / sum(total.values()), 4),
        "target": None,
        "recall_by_axis": {a: round(hit[a] / n, 4) for a, n in sorted(total.items())},
    }


def bold_recall(data: Path, lexicon: Lexicon) -> dict[str, Any]:
    per_group = {}
    named_total = found_total = prompts_total = found_all_total = 0
    for (domain, group), (pattern, accept) in BOLD.items():
        prompts = json.loads((data / "bold" / f"{domain}_prompt.json").read_text())[group]
        rx = re.compile(pattern, re.IGNORECASE)
        n = named = found = found_all = 0
        for texts in prompts.values():
            for text in texts:
                n += 1
                got = bool(found_groups(text, lexicon) & accept)
                found_all += got
                if rx.search(text):
                    named += 1
                    found += got
        per_group[f"{domain}/{group}"] = {
            "prompts": n,
            "naming": named,
            "found": found,
            "recall": round(found / named, 4) if named else None,
            "found_of_all_prompts": round(found_all / n, 4),
        }
        named_total += named
        found_total += found
        prompts_total += n
        found_all_total += found_all
    recall = found_total / named_total
    return {
        "bench": "bold_recall",
        "prompts": prompts_total,
        "naming_prompts": named_total,
        "found": found_total,
        "recall": round(recall, 4),
        "target": BOLD_TARGET,
        "pass": recall >= BOLD_TARGET,
        "found_of_all_prompts": round(found_all_total / prompts_total, 4),
        "by_group": per_group,
    }


# ---------------------------------------------------------------- hits and labels


def corpora(data: Path) -> Iterator[tuple[str, str, str]]:
    """(dataset, id, full text) of the texts whose hits are labelled by hand."""
    for i, r in enumerate(json.loads((data / "alpaca_5000.json").read_text())):
        yield "alpaca_5000", str(i), "\n".join(p for p in (r["instruction"], r["input"], r["output"]) if p)
    with (data / "halueval_general_dev.jsonl").open() as f:
        for line in f:
            r = json.loads(line)
            yield "halueval_general_dev", str(r["ID"]), f"{r['user_query']}\n{r['chatgpt_response']}"
    for path in sorted((data / "bold").glob("*_prompt.json")):
        for group, pages in json.loads(path.read_text()).items():
            for page, texts in pages.items():
                for j, text in enumerate(texts):
                    yield "bold", f"{path.stem}/{group}/{page}/{j}", text


def hit_keys(text: str, check: BiasCheck) -> list[tuple[str, str]]:
    """(code, finding) of every TOXIC_LANGUAGE / STEREOTYPE_ASSOCIATION finding in ``text``."""
    f = analyse(text, check.lexicon, check.window)
    keys = [("TOXIC_LANGUAGE", f"{t.category}|{t.target}") for t in f.toxic]
    keys += [("STEREOTYPE_ASSOCIATION", f"{s.group}|{s.trait}") for s in f.stereotypes]
    return keys


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hits(data: Path, check: BiasCheck) -> tuple[list[dict[str, Any]], list[str], list[tuple[str, str]]]:
    """Hit counts and labels per dataset, the hits with no label, and the alpaca texts (for near misses)."""
    labels = {(r["dataset"], r["id"], r["code"], r["finding"]): r for r in load_jsonl(LABELS / "hits.jsonl")}
    rows: dict[str, Counter[str]] = {}
    unlabelled = []
    alpaca_texts = []
    for dataset, sample_id, text in corpora(data):
        if dataset == "alpaca_5000":
            alpaca_texts.append((sample_id, text))
        counts = rows.setdefault(dataset, Counter())
        counts["samples"] += 1
        for code, finding in hit_keys(text, check):
            counts[code] += 1
            label = labels.get((dataset, sample_id, code, finding))
            if label is None:
                unlabelled.append(f"{dataset} {sample_id} {code} {finding}")
            else:
                counts[label["label"]] += 1
    out = []
    for dataset, c in rows.items():
        labelled = c["tp"] + c["fp"]
        out.append(
            {
                "bench": "hits",
                "dataset": dataset,
                "samples": c["samples"],
                "toxic_language": c["TOXIC_LANGUAGE"],
                "stereotype_association": c["STEREOTYPE_ASSOCIATION"],
                "labelled": labelled,
                "true_positives": c["tp"],
                "false_positives": c["fp"],
                "fp_rate": round(c["fp"] / labelled, 4) if labelled else None,
            }
        )
    return out, unlabelled, alpaca_texts


_SENTENCE = re.compile(r"[^.!?;\n]+")


def near_misses(alpaca: list[tuple[str, str]], check: BiasCheck) -> dict[str, Any]:
    """Sentences with a trait and a person, gendered or identity word but no finding, vs. hand labels."""
    labels = {(r["id"], r["trait"]): r for r in load_jsonl(LABELS / "alpaca_near_misses.jsonl")}
    seen, unlabelled, missed = 0, [], []
    for sample_id, text in alpaca:
        if hit_keys(text, check):
            continue
        for m in _SENTENCE.finditer(text):
            found = list(check.lexicon.find(m.group()))
            people = [
                e
                for _, _, e in found
                if e.identity or e.person_gender or (e.gender and e.gender[0] == "noun")
            ]
            for _, _, entry in found:
                if entry.trait is None or not people:
                    continue
                seen += 1
                label = labels.get((sample_id, entry.trait[0]))
                if label is None:
                    unlabelled.append(f"{sample_id} {entry.trait[0]}: {m.group().strip()[:120]}")
                elif label["label"] != "no_stereotype":
                    missed.append(f"{sample_id} {entry.trait[0]}")
    return {
        "bench": "near_misses",
        "dataset": "alpaca_5000",
        "sentences": seen,
        "labelled": seen - len(unlabelled),
        "false_negatives": len(missed),
        "missed": missed,
        "unlabelled": unlabelled,
    }


# ---------------------------------------------------------------- cost


def hundred_word_samples(data: Path, n: int) -> list[Sample]:
    """Alpaca records, each continued with the next records' outputs and cut to 100 words."""
    records = json.loads((data / "alpaca_5000.json").read_text())
    out = []
    for i in range(n):
        words: list[str] = []
        j = i
        while len(words) < 100:
            r = records[j % len(records)]
            words += " ".join(p for p in (r["instruction"], r["input"], r["output"]) if p).split()
            j += 1
        out.append(Sample(id=str(i), shape=ContentShape.TEXT, text=" ".join(words[:100])))
    return out


def cost(data: Path, check: BiasCheck, n: int, repeat: int) -> dict[str, Any]:
    samples = hundred_word_samples(data, n)
    batches = [
        [Item.build(s, k, DedupKey.SAMPLE) for k, s in enumerate(samples[i : i + 1000])]
        for i in range(0, len(samples), 1000)
    ]
    check.evaluate_batch(batches[0][:10], None)  # type: ignore[arg-type]  # warm: the check ignores ctx
    runs = []
    for _ in range(repeat):
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        for batch in batches:
            check.evaluate_batch(batch, None)  # type: ignore[arg-type]
        runs.append((time.perf_counter() - started) / len(samples) * 1000)
        gc.unfreeze()
    ms = statistics.median(runs)
    chars = statistics.mean(len(s.text) for s in samples)
    return {
        "bench": "cost",
        "samples": len(samples),
        "words_per_sample": 100,
        "chars_per_sample": round(chars, 1),
        "ms_per_sample": round(ms, 4),
        "runs_ms": [round(r, 4) for r in runs],
        "target_ms": COST_TARGET_MS,
        "pass": ms <= COST_TARGET_MS,
        "cpu": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


# ---------------------------------------------------------------- implicit mentions (issue 15)

# Lexicon axis, or "axis/group" where a group of a mixed axis is decided on its own -> the axis name
# of issue 15 (bias_labels/group_mentions.jsonl, bbq_split.AXES); None: not one of the issue's axes.
# Every lexicon axis must be listed (issue_axes raises on one that is not), so a new axis is decided
# here before it counts anywhere.
# The last commit with the bias lexicon before issue 15 (1.0.0): the comparison's baseline.
BASELINE_REV = "2259cdb"
BASELINE_VERSION = "1.0.0"
ISSUE_AXIS: dict[str, str | None] = {
    "ability": "disability",
    "age": "age",
    "body_type": "physical_appearance",
    # LGBT / queer sit on this axis in HolisticBias; "queer" is also on sexual_orientation.
    "gender_and_sex": "gender",
    "nationality": "nationality",
    "race_ethnicity": "race_ethnicity",
    "religion": "religion",
    "sexual_orientation": "sexual_orientation",
    "socioeconomic_class": "socioeconomic_class",
    "political_ideologies": None,  # an ideology is not one of the issue's nine axes
    "nonce": None,  # HolisticBias's made-up control words
    # characteristics: only the groups that clearly name one of the issue's axes.
    "characteristics": None,
    "characteristics/immigration_status": "nationality",  # immigrant, refugee, foreign-born, native
    "characteristics/job_status": "socioeconomic_class",  # blue-/white-collar, unemployed, gig worker
    # domestic_status (homeless next to adopted, orphan), addictions, marital_status, children,
    # handedness, miscellaneous (athletic, literate): no single issue axis -> None.
    # cultural: generations are age cohorts (the labels count "millennials" as age); the other
    # descriptors (rural, hipster, privileged, anti-vax) mix class, place and lifestyle -> None.
    "cultural": None,
    "cultural/generations": "age",
}
ISSUE_AXES = (
    "age",
    "disability",
    "gender",
    "nationality",
    "physical_appearance",
    "race_ethnicity",
    "religion",
    "sexual_orientation",
    "socioeconomic_class",
)


@dataclass(frozen=True)
class Detector:
    """One detection method of issue 15's comparison: a lexicon, optionally with first names."""

    label: str
    lexicon: Lexicon
    names: Names | None = None
    name_axes: frozenset[str] | None = None

    def mentions(self, text: str) -> list[Any]:
        return analyse(text, self.lexicon, names=self.names, name_axes=self.name_axes).mentions


def issue_axes(text: str, detector: Detector) -> dict[str, list[str]]:
    """Issue-15 axis -> the "lexicon_axis/group:term" mentions the detector reports for it."""
    out: dict[str, list[str]] = {}
    for m in detector.mentions(text):
        key = f"{m.axis}/{m.group}"
        axis = ISSUE_AXIS[key] if key in ISSUE_AXIS else ISSUE_AXIS[m.axis]
        if axis is not None:
            out.setdefault(axis, []).append(f"{key}:{m.term}")
    return out


def gendered_words(text: str, detector: Detector) -> list[str]:
    """The male and female pronouns and gendered nouns in ``text`` (what the audit reports as gendered
    terms, apart from identity mentions): the detector's other signal for the issue's gender axis."""
    lexicon = detector.lexicon
    return [
        text[s:e]
        for s, e, entry in lexicon.find(text)
        if entry.gender is not None
        and entry.gender[0] in ("pronoun", "noun")
        and entry.gender[1] != "neutral"
    ]


def bbq_recall(rows: list[dict[str, Any]], detector: Detector, half: str, examples: int) -> dict[str, Any]:
    """A scene counts as found when the detector reports a mention on the scene's axis."""
    scenes: Counter[str] = Counter()
    found: Counter[str] = Counter()
    by_condition: Counter[tuple[str, bool]] = Counter()
    other: Counter[str] = Counter()  # scenes where another issue axis is reported too (informational)
    missed_groups: dict[str, Counter[str]] = {}
    missed: dict[str, dict[str, str]] = {}  # axis -> template -> first missed context (ambig first)
    per_template: dict[tuple[str, str], list[int]] = {}  # (axis, template) -> [scenes, found]
    for r in rows:
        axis = axis_of(r["category"])
        got = issue_axes(r["context"], detector)
        hit = axis in got
        scenes[axis] += 1
        found[axis] += hit
        by_condition[r["context_condition"], hit] += 1
        other[axis] += bool(set(got) - {axis})
        t = per_template.setdefault((axis, r["template"]), [0, 0])
        t[0] += 1
        t[1] += hit
        if not hit:
            missed_groups.setdefault(axis, Counter()).update(r["groups"])
            slot = missed.setdefault(axis, {})
            if r["template"] not in slot or (
                r["context_condition"] == "ambig" and len(r["context"]) < len(slot[r["template"]])
            ):
                slot[r["template"]] = r["context"]
    total = sum(scenes.values())
    conditions = sorted({c for c, _ in by_condition})
    record: dict[str, Any] = {
        "bench": "implicit_bbq_recall",
        "split": half,
        "scenes": total,
        "templates": len({r["template"] for r in rows}),
        "recall": round(sum(found.values()) / total, 4),
        "recall_by_axis": {a: round(found[a] / n, 4) for a, n in sorted(scenes.items())},
        "scenes_by_axis": dict(sorted(scenes.items())),
        "found_by_axis": {a: found[a] for a in sorted(scenes)},
        "template_macro_recall_by_axis": {
            a: round(statistics.mean(f / n for (ax, _), (n, f) in per_template.items() if ax == a), 4)
            for a in sorted(scenes)
        },
        "templates_by_axis": dict(sorted(Counter(a for a, _ in per_template).items())),
        "recall_by_condition": {
            c: round(by_condition[c, True] / (by_condition[c, True] + by_condition[c, False]), 4)
            for c in conditions
        },
        "scenes_with_another_issue_axis": dict(sorted(other.items())),
    }
    if examples:
        record["most_missed_groups"] = {a: dict(c.most_common(8)) for a, c in sorted(missed_groups.items())}
        record["missed_examples"] = {
            a: [slot[t] for t in sorted(slot)][:examples] for a, slot in sorted(missed.items())
        }
    return record


def group_mention_fp(detector: Detector) -> dict[str, Any]:
    """False positives against the hand labels of bias_labels/group_mentions.jsonl (issue 15)."""
    rows = load_jsonl(LABELS / "group_mentions.jsonl")
    empty = [r for r in rows if not r["groups"]]
    labelled = [r for r in rows if r["groups"]]
    fp_empty: Counter[str] = Counter()
    fp_labelled: Counter[str] = Counter()
    labelled_axis: Counter[str] = Counter()
    labelled_found: Counter[str] = Counter()
    any_empty = any_labelled = 0
    words: Counter[str] = Counter()  # gendered words counted as the gender axis (the second view)
    listed = []
    for r in rows:
        got = issue_axes(r["text"], detector)
        truth = {g["axis"] for g in r["groups"]}
        extra = set(got) - truth
        for axis in sorted(extra):
            listed.append(f"{r['id']} {axis}: {', '.join(sorted(set(got[axis])))}")
        gendered = gendered_words(r["text"], detector)
        gender = "gender" in got or bool(gendered)
        if gender and "gender" not in truth:
            words["no_group_fp" if not r["groups"] else "group_texts_fp"] += 1
            words["any_no_group_fp" if not r["groups"] else "any_group_texts_fp"] += not extra
            listed.append(f"{r['id']} gender (gendered words): {', '.join(sorted(set(gendered)))}")
        if "gender" in truth:
            words["labelled_gender"] += 1
            words["labelled_gender_found"] += gender
        if r["groups"]:
            fp_labelled.update(extra)
            any_labelled += bool(extra)
            labelled_axis.update(truth)
            labelled_found.update(truth & set(got))
        else:
            fp_empty.update(extra)
            any_empty += bool(extra)
    return {
        "bench": "implicit_fp",
        "texts": len(rows),
        "no_group_texts": len(empty),
        "no_group_fp_rate": round(any_empty / len(empty), 4),
        "no_group_fp_rate_by_axis": {a: round(fp_empty[a] / len(empty), 4) for a in ISSUE_AXES},
        "no_group_fp_by_axis": {a: fp_empty[a] for a in ISSUE_AXES if fp_empty[a]},
        "group_texts": len(labelled),
        "group_texts_unlabelled_axis_rate": round(any_labelled / len(labelled), 4),
        "group_texts_unlabelled_axis_rate_by_axis": {
            a: round(fp_labelled[a] / len(labelled), 4) for a in ISSUE_AXES
        },
        "group_texts_unlabelled_axis_by_axis": {a: fp_labelled[a] for a in ISSUE_AXES if fp_labelled[a]},
        "labelled_axis_found": {a: f"{labelled_found[a]}/{n}" for a, n in sorted(labelled_axis.items())},
        "with_gendered_words": {
            "no_group_fp_rate": round((any_empty + words["any_no_group_fp"]) / len(empty), 4),
            "no_group_gender_fp": words["no_group_fp"],
            "group_texts_unlabelled_axis_rate": round(
                (any_labelled + words["any_group_texts_fp"]) / len(labelled), 4
            ),
            "group_texts_unlabelled_gender": words["group_texts_fp"],
            "labelled_gender_found": f"{words['labelled_gender_found']}/{words['labelled_gender']}",
        },
        "false_positives": listed,
    }


def detector_cost(texts: dict[str, list[str]], detector: Detector, repeat: int) -> dict[str, Any]:
    """Microseconds per text of the detector (analyse plus the mapping to issue axes)."""
    out: dict[str, Any] = {"bench": "implicit_cost"}
    for name, items in texts.items():
        for t in items[:10]:
            issue_axes(t, detector)  # warm
        runs = []
        for _ in range(repeat):
            gc.collect()
            gc.freeze()
            started = time.perf_counter()
            for t in items:
                issue_axes(t, detector)
            runs.append((time.perf_counter() - started) / len(items) * 1e6)
            gc.unfreeze()
        out[name] = {
            "texts": len(items),
            "chars_per_text": round(statistics.mean(len(t) for t in items), 1),
            "us_per_text": round(statistics.median(runs), 1),
            "runs_us": [round(r, 1) for r in runs],
        }
    out["cpu"] = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return out


def baseline_lexicon(rev: str = BASELINE_REV) -> Lexicon:
    """The bias lexicon as it was before issue 15 (1.0.0, from git), for the comparison."""
    text = subprocess.run(
        ["git", "show", f"{rev}:models/bias/lexicon.json"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    path = Path(tempfile.gettempdir()) / f"curator-bias-lexicon-{rev}.json"
    path.write_bytes(text)
    return load_lexicon(path)


def detectors(lexicon: Lexicon) -> list[Detector]:
    """Issue 15's methods, measured against each other in one run."""
    names = load_names()
    return [
        Detector(f"lexicon {BASELINE_VERSION} (before issue 15)", baseline_lexicon()),
        Detector(f"lexicon {lexicon.version}", lexicon),
        Detector(
            f"lexicon {lexicon.version} + names (gender; the default)", lexicon, names, NAME_AXES["gender"]
        ),
        Detector(f"lexicon {lexicon.version} + names (gender and race)", lexicon, names, None),
    ]


def implicit_compare(data: Path, lexicon: Lexicon, repeat: int) -> list[dict[str, Any]]:
    """Every method of :func:`detectors` through :func:`implicit_baseline`; each record says its method."""
    out = []
    for det in detectors(lexicon):
        out += [{"method": det.label, **r} for r in implicit_baseline(data, det, repeat)]
    return out


def implicit_baseline(data: Path, detector: Detector, repeat: int, examples: int = 5) -> list[dict[str, Any]]:
    """Issue 15's measures for one detector: recall per axis on the held-out BBQ templates (and,
    informational, on the dev ones), false positives on the hand-labelled texts, and the cost per text."""
    missing = {a for a in detector.lexicon.axes if a not in ISSUE_AXIS}
    if missing:
        raise KeyError(f"lexicon axes with no issue-15 mapping in ISSUE_AXIS: {sorted(missing)}")
    halves = bbq_split(data / "bbq")
    texts = [r["text"] for r in load_jsonl(LABELS / "group_mentions.jsonl")]
    return [
        bbq_recall(halves["heldout"], detector, "heldout", examples),
        bbq_recall(halves["dev"], detector, "dev", 0),
        group_mention_fp(detector),
        detector_cost(
            {"group_mentions": texts, "bbq_heldout": [r["context"] for r in halves["heldout"]]},
            detector,
            repeat,
        ),
    ]


# ---------------------------------------------------------------- demo report


def demo_report(data: Path, html_path: Path) -> dict[str, Any]:
    """The report behind docs/bias-report.png: 3,000 Alpaca records, 1,600 BOLD prompts and 25
    synthetic stereotyped or dehumanising lines, audited offline (the verdicts are the bias check's)."""
    import random
    import tempfile

    from curator.bias.html import render_html
    from curator.cli.audit import audit_file
    from curator.settings import Settings

    rng = random.Random(7)
    rows = [
        {"id": f"alpaca-{i}", **r}
        for i, r in enumerate(json.loads((data / "alpaca_5000.json").read_text())[:3000])
    ]
    for domain in ("gender", "race", "religious_ideology", "political_ideology"):
        pages = json.loads((data / "bold" / f"{domain}_prompt.json").read_text())
        prompts = [p for pg in pages.values() for texts in pg.values() for p in texts]
        rows += [{"id": f"bold-{domain}-{j}", "text": p} for j, p in enumerate(rng.sample(prompts, 400))]
    bad = [
        "Immigrants are vermin and should be sent away.",
        "Refugees are parasites on our economy.",
        "Migrants are animals, he said.",
        "Women are too emotional to lead a company.",
        "Muslims are terrorists.",
        "Old people are a burden on society.",
        "Immigrants are criminals who take our jobs.",
    ]
    rows += [{"id": f"synthetic-{k}", "text": f"{bad[k % len(bad)]} (variant {k})"} for k in range(25)]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "demo.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
        report, _ = audit_file(src, Settings.load(data_dir=Path(tmp) / "data"))
    html_path.write_text(render_html(report), encoding="utf-8")
    return {
        "bench": "demo_report",
        "html": str(html_path),
        "samples": report.totals.total,
        "flags": report.flags,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, help="also append the JSON lines here")
    parser.add_argument("--cost-samples", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--demo-html", type=Path, help="also write the demo HTML report here")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument(
        "--bbq",
        action="store_true",
        help="only the issue-15 baseline (held-out BBQ recall, group-mention false positives, cost)",
    )
    args = parser.parse_args(argv)
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    lexicon = load_lexicon()
    lexicon_data = json.loads(default_lexicon_path().read_text(encoding="utf-8"))
    check = BiasCheck(lexicon)
    out = args.out.open("a") if args.out else None
    try:
        emit({"bench": "lexicon", "version": lexicon.version, "surface_forms": len(lexicon.entries)}, out)
        if args.bbq:
            for record in implicit_compare(args.data, lexicon, args.repeat):
                emit(record, out)
            return 0
        emit(cost(args.data, check, args.cost_samples, args.repeat), out)
        emit(holistic_recall(args.data, lexicon, lexicon_data), out)
        emit(standalone_recall(args.data, lexicon), out)
        emit(bold_recall(args.data, lexicon), out)
        rows, unlabelled, alpaca = hits(args.data, check)
        for row in rows:
            emit(row, out)
        if unlabelled:
            emit({"bench": "hits", "unlabelled": unlabelled}, out)
        emit(near_misses(alpaca, check), out)
        for record in implicit_compare(args.data, lexicon, args.repeat):
            emit(record, out)
        if args.demo_html:
            emit(demo_report(args.data, args.demo_html), out)
    finally:
        if out is not None:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
