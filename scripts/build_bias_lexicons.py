"""Build models/bias/lexicon.json from HolisticBias, WinoBias and the curated lists in models/bias/curated/.

Run from the repository root (the data folder defaults to ../shared/data):

    .venv/bin/python scripts/build_bias_lexicons.py [--data DIR] [--out models/bias/lexicon.json]

The output is deterministic (sorted, no timestamps), so a rebuild from the same inputs gives the same
file; it records the SHA-256 of every input. Bump VERSION whenever the output changes on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERSION = "2.0.0"
CURATED = ROOT / "models" / "bias" / "curated"
HOLISTIC_FILES = ("descriptors.json", "nouns.json")
WINOBIAS_FILES = (
    "extra_gendered_words.txt",
    "generalized_swaps.txt",
    "male_occupations.txt",
    "female_occupations.txt",
)
CURATED_FILES = (
    "identity.json",
    "gender.json",
    "occupations.json",
    "stereotypes.json",
    "toxic.json",
    "implicit.json",
)
# Contexts of an identity term (where it counts as a mention); see curated/implicit.json's _about.
CONTEXTS = ("any", "person", "predicate", "condition", "device", "origin")
# Words that are also ordinary English, so their country does not count even after "from" ("from
# Turkey", "from Chad" are rare; "from Jordan" and "from Georgia" are more often a name or a state).
AMBIGUOUS_COUNTRIES = frozenset({"Chad", "Georgia", "Jordan", "Niger", "Guinea", "Turkey", "Congo"})
# Axes whose only HolisticBias bucket is "all": the group is the descriptor itself.
SINGLE_BUCKET = "all"
# Last-word endings that never take a plural: participles, -ish/-ese demonyms, adjectives.
_NO_PLURAL = ("ed", "ing", "ish", "ese", "ous", "ful", "less", "-old")
_SEP = re.compile(r"[\s\-]+")
# How a WinoBias word shows it is the female one of its pair (the other one is male).
_FEMALE = re.compile(
    r"wom[ae]n|girl|ess(es)?$|ines?$|euse|mother|mom|daughter|sister|aunt|niece|wife|wives|^brides?$|lad(y|ies)"
    r"|queen|belle|lass|female|^miss$|chick|^gals?$|^nuns?$|widows?$|witch|spinster|maid|fiancee"
)

ATTRIBUTION = [
    {
        "part": "identity descriptors (axes and groups), person nouns",
        "source": "HolisticBias v1.1, facebookresearch/ResponsibleNLP holistic_bias/dataset/v1.1 @ 0ec714eb",
        "licence": "CC BY-SA 4.0",
        "citation": 'Smith et al., "I\'m sorry to hear that": Finding New Biases in Language Models with a '
        "Holistic Descriptor Dataset, EMNLP 2022",
    },
    {
        "part": "gendered words, occupations and their stereotyped gender",
        "source": "WinoBias, uclanlp/corefBias WinoBias/wino @ 0bce984d",
        "licence": "MIT",
        "citation": "Zhao et al., Gender Bias in Coreference Resolution: Evaluation and Debiasing Methods, "
        "NAACL 2018",
    },
    {
        "part": "context rules, extra identity terms, pronouns, stereotype traits, slurs, dehumanising terms",
        "source": "models/bias/curated/ (written for curator)",
        "licence": "Apache-2.0",
    },
]


def key(term: str) -> str:
    """The lookup key of a surface form: lower case, one space for any run of spaces or hyphens."""
    return _SEP.sub(" ", term.replace("’", "'").strip()).lower()


def unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", unaccented(text).lower().replace("'", "")).strip("_")


def plural(term: str) -> str | None:
    """English plural of the last word, or None where a plural would not be a word for people."""
    last = term.split()[-1]
    if not last[-1:].isalpha() or (last.isupper() and len(last) > 1) or last.lower().endswith(_NO_PLURAL):
        return None
    if re.search(r"(s|x|z|ch|sh)$", last, re.I):
        return term + "es"
    if re.search(r"[^aeiou]y$", last, re.I):
        return term[:-1] + "ies"
    return term + "s"


def forms_of(*terms: str | None, plural_from: int = 1) -> dict[str, bool]:
    """{key: is_plural} for the given surfaces (those from index ``plural_from`` on are plurals),
    with unaccented variants."""
    out: dict[str, bool] = {}
    for i, term in enumerate(terms):
        if not term:
            continue
        for variant in {term, unaccented(term)}:
            out.setdefault(key(variant), i >= plural_from)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- sections


def identity_entries(
    holistic: Path, curated: dict[str, Any], implicit: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    descriptors = load_json(holistic / "descriptors.json")
    person_axes = set(curated["person_context_axes"])
    person_terms = {(axis, t.lower()) for axis, terms in curated["person_context"].items() for t in terms}
    cased = set(curated["case_sensitive"])
    merges = curated["group_merges"]
    entries: dict[tuple[str, str, str], dict[str, Any]] = {}
    axes: dict[str, set[str]] = {}

    def add(
        term: str, axis: str, group: str, context: str, source: str, extra_plural: str | None, is_plural: bool
    ) -> None:
        is_cased = term in cased
        forms = forms_of(term, extra_plural if extra_plural else (plural(term) if context == "any" else None))
        if is_plural or key(term).startswith("the "):  # "the elderly": a generic reference to the group
            forms = {k: True for k in forms}
        entry = entries.setdefault(
            (key(term), axis, group),
            {
                "term": term,
                "axis": axis,
                "group": group,
                "context": context,
                "source": source,
                "forms": {},
            },
        )
        entry["forms"].update(forms)
        if source == "implicit":
            entry["context"] = context  # implicit.json decides where a descriptor it lists counts
        if is_cased:
            entry["cased_forms"] = sorted({_SEP.sub(" ", f) for f in (term, extra_plural) if f})
        axes.setdefault(axis, set()).add(group)

    for axis, buckets in descriptors.items():
        for bucket, items in buckets.items():
            for item in items:
                term = item if isinstance(item, str) else item["descriptor"]
                # On single-bucket axes the group is the descriptor itself (or the group it merges into).
                group = (merges.get(axis, {}).get(term) or slug(term)) if bucket == SINGLE_BUCKET else bucket
                context = "person" if axis in person_axes or (axis, term.lower()) in person_terms else "any"
                add(term, axis, group, context, "holistic_bias", None, False)
    for extra in curated["extra_terms"]:
        add(
            extra["term"],
            extra["axis"],
            extra["group"],
            "any",
            "curated",
            extra.get("plural"),
            extra.get("is_plural", False),
        )
    for item in (implicit or {}).get("terms", ()):
        if item["context"] not in CONTEXTS:
            raise SystemExit(
                f"implicit.json: {item['term']!r} has context {item['context']!r}; use one of {CONTEXTS}"
            )
        add(item["term"], item["axis"], item["group"], item["context"], "implicit", None, False)
    for country in (implicit or {}).get("countries", ()):
        for demonym in country["demonyms"]:
            add(demonym, "nationality", country["group"], "predicate", "implicit", None, False)
            many = plural(demonym)
            if many and not demonym.endswith(("ese", "ish", "ch", "ss")):
                add(many, "nationality", country["group"], "any", "implicit", None, True)
        if country["country"] not in AMBIGUOUS_COUNTRIES:
            add(country["country"], "nationality", country["group"], "origin", "implicit", None, False)
    if implicit:
        axes.setdefault("gender_and_sex", set()).update({"female", "male"})  # gendered words and names
        axes.setdefault("body_type", set()).add("clothing")  # detect.py: clothes that mark the wearer
    ordered = sorted(entries.values(), key=lambda e: (e["axis"], e["group"], key(e["term"])))
    for e in ordered:
        e["forms"] = dict(sorted(e["forms"].items()))
    return ordered, {axis: sorted(groups) for axis, groups in sorted(axes.items())}


def gender_sections(
    holistic: Path,
    winobias: Path,
    curated: dict[str, Any],
    implicit_person_nouns: Sequence[Sequence[str]] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(gender_words, person_nouns). A gendered noun is also a person noun."""
    exclude = {w.lower() for w in curated["exclude"]}
    words: dict[str, dict[str, Any]] = {}

    def word(term: str, category: str, gender: str, is_plural: bool) -> None:
        k = key(term)
        if k in exclude and category == "noun":
            return
        words.setdefault(k, {"term": k, "category": category, "gender": gender, "plural": is_plural})

    for gender, pronouns in curated["pronouns"].items():
        for p in pronouns:
            word(p, "pronoun", gender, gender == "neutral")
    for gender, titles in curated["titles"].items():
        for t in titles:
            word(t, "title", gender, False)
    nouns = load_json(holistic / "nouns.json")
    person: dict[str, dict[str, Any]] = {}

    def person_noun(singular: str, plural_form: str, gender: str) -> None:
        entry = person.setdefault(key(singular), {"term": key(singular), "gender": gender, "forms": {}})
        entry["forms"].update(forms_of(singular, plural_form))

    for gender, pairs in nouns.items():
        for singular, plural_form in pairs:
            person_noun(singular, plural_form, gender)
            word(singular, "noun", gender, False)
            word(plural_form, "noun", gender, True)
    for gender, pairs in curated["extra_nouns"].items():
        for singular, plural_form in pairs:
            person_noun(singular, plural_form, gender)
            word(singular, "noun", gender, False)
            word(plural_form, "noun", gender, True)
    # WinoBias lists gendered pairs in both orders, so each word's gender comes from its form.
    for name in ("extra_gendered_words.txt", "generalized_swaps.txt"):
        for line in lines(winobias / name):
            for w in (p.strip().lower() for p in line.split("\t") if p.strip()):
                if w in exclude or w in words:
                    continue
                is_plural = w.endswith("men") or (w.endswith("s") and not w.endswith("ss"))
                gender = "female" if _FEMALE.search(w) else "male"
                word(w, "noun", gender, is_plural)
                person.setdefault(key(w), {"term": key(w), "gender": gender, "forms": {key(w): is_plural}})
    for singular, plural_form in curated["person_nouns"]:
        person_noun(singular, plural_form, "neutral")
    for singular, plural_form in implicit_person_nouns:
        if key(singular) not in person:
            person_noun(singular, plural_form, "neutral")
    gender_words = sorted(words.values(), key=lambda w: w["term"])
    person_nouns = sorted(person.values(), key=lambda p: p["term"])
    for p in person_nouns:
        p["forms"] = dict(sorted(p["forms"].items()))
    return gender_words, person_nouns


def occupation_entries(winobias: Path, curated: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    ambiguous = {key(p) for p in curated["ambiguous_plurals"]}
    for stereotype in ("male", "female"):
        for term in lines(winobias / f"{stereotype}_occupations.txt"):
            plural_form = curated["plurals"].get(term) or plural(term)
            forms = forms_of(term, plural_form)
            out.append(
                {
                    "term": term if term.isupper() else term.lower(),
                    "stereotype": stereotype,
                    "forms": dict(sorted(forms.items())),
                    "ambiguous_plural": bool(plural_form and key(plural_form) in ambiguous),
                }
            )
    return sorted(out, key=lambda o: key(o["term"]))


def trait_entries(curated: dict[str, Any]) -> list[dict[str, str]]:
    other = {key(t): w for t, w in curated.get("other_senses", {}).items() if not t.startswith("_")}
    entries = []
    for category, terms in curated["traits"].items():
        for t in terms:
            entry = {"term": key(t), "category": category}
            if key(t) in other:
                entry["other_sense_before"] = other[key(t)]
            entries.append(entry)
    return sorted(entries, key=lambda t: t["term"])


def toxic_entries(curated: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    slurs = [
        {"term": key(s["term"]), "target": s["target"], "forms": forms_of(s["term"], s.get("plural"))}
        for s in curated["slurs"]
    ]
    dehumanising = [{"term": key(t)} for t in curated["dehumanising"]]
    return sorted(slurs, key=lambda s: s["term"]), sorted(dehumanising, key=lambda d: d["term"])


# ---------------------------------------------------------------- main


def build(data: Path) -> dict[str, Any]:
    holistic, winobias = data / "holistic_bias", data / "winobias"
    for folder, names in ((holistic, HOLISTIC_FILES), (winobias, WINOBIAS_FILES)):
        for name in names:
            if not (folder / name).is_file():
                raise SystemExit(
                    f"missing input {folder / name}: pass --data pointing at the shared data folder"
                )
    curated = {name: load_json(CURATED / name) for name in CURATED_FILES}
    identity, axes = identity_entries(holistic, curated["identity.json"], curated["implicit.json"])
    gender_words, person_nouns = gender_sections(
        holistic, winobias, curated["gender.json"], curated["implicit.json"]["person_nouns"]
    )
    slurs, dehumanising = toxic_entries(curated["toxic.json"])
    for slur in slurs:
        axis, group = slur["target"].split("/")
        if group not in axes.get(axis, ()):
            raise SystemExit(f"slur target {slur['target']} is not an axis/group of the lexicon")
    return {
        "name": "curator-bias-lexicon",
        "version": VERSION,
        "built_by": "scripts/build_bias_lexicons.py",
        "licence": "CC BY-SA 4.0 (adapts HolisticBias); WinoBias parts MIT; curated parts Apache-2.0",
        "attribution": ATTRIBUTION,
        "inputs": {
            **{f"holistic_bias/{n}": sha256(holistic / n) for n in HOLISTIC_FILES},
            **{f"winobias/{n}": sha256(winobias / n) for n in WINOBIAS_FILES},
            **{f"curated/{n}": sha256(CURATED / n) for n in CURATED_FILES},
        },
        "axes": axes,
        "identity": identity,
        "age_numbers": curated["implicit.json"]["age_numbers"],
        "person_nouns": person_nouns,
        "gender_words": gender_words,
        "occupations": occupation_entries(winobias, curated["occupations.json"]),
        "traits": trait_entries(curated["stereotypes.json"]),
        "slurs": slurs,
        "dehumanising": dehumanising,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "bias" / "lexicon.json")
    args = parser.parse_args(argv)
    lexicon = build(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = {k: len(v) for k, v in lexicon.items() if isinstance(v, list) and k != "attribution"}
    print(f"wrote {args.out} (version {VERSION}): {counts}, {len(lexicon['axes'])} axes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
