"""The bias lexicon (models/bias/lexicon.json) and its one-pass matcher.

Every surface form of every list (identity descriptors and their plurals, person nouns, gendered
words, occupations, stereotype traits, slurs, dehumanising terms) goes into one character trie,
rendered as one compiled regular expression: case-insensitive, bounded by non-word characters on
both sides, longest form first at each position, with any run of spaces or hyphens inside a form
matching any other ("African American" = "African-American"). One ``finditer`` over the text finds
every term; each match is looked up by its normalised key to learn what it is (often several
things: "women" is a person noun and a gendered noun).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

BUILD_SCRIPT = "scripts/build_bias_lexicons.py"
_SEP = re.compile(r"[\s\-]+")
_SEP_PATTERN = r"[\s\-]+"
_APOSTROPHE_PATTERN = "['\u2019]"


class LexiconMissing(FileNotFoundError):
    """The lexicon file is not there (it is built, not downloaded)."""


def default_lexicon_path() -> Path:
    """models/bias/lexicon.json of the repository this package lives in (editable install)."""
    return Path(__file__).resolve().parent.parent.parent / "models" / "bias" / "lexicon.json"


def normalise(text: str) -> str:
    """The lookup key of matched text: lower case, one space for each run of spaces or hyphens."""
    return _SEP.sub(" ", text.replace("\u2019", "'")).lower()


@dataclass(frozen=True, slots=True)
class IdentityTerm:
    """An identity descriptor and where it counts as a mention (``context``):

    * ``any``: anywhere ("Muslims", "autism");
    * ``person``: modifying a person noun ("a slow man", "my Japanese friend");
    * ``predicate``: that, or said of a person ("she is pregnant", "the guy who was obese");
    * ``condition``: after with / has / diagnosed with / living with ... ("a student with depression");
    * ``device``: after in / uses / with + article ("the man in a wheelchair");
    * ``origin``: a country, after a person (who is / comes / came) from it, or born / raised in it.
    """

    term: str  # the descriptor as the source spells it
    axis: str
    group: str
    context: str = "any"

    @property
    def person_context(self) -> bool:
        """Counts only next to a person (never standalone)."""
        return self.context != "any"


@dataclass(slots=True)
class Entry:
    """Everything one surface form (a lookup key) stands for; most fields are empty for most keys."""

    identity: tuple[IdentityTerm, ...] = ()
    plural: bool = False  # the form is a plural (or generic: "the elderly") reference
    cased_forms: frozenset[str] = frozenset()  # when set, only these spellings count as identity terms
    person_gender: str | None = None  # a person noun, and its gender (male, female, neutral)
    gender: tuple[str, str] | None = None  # (category: pronoun | noun | title, gender)
    occupation: tuple[str, str, bool] | None = None  # (occupation, stereotyped gender, ambiguous plural)
    trait: tuple[str, str] | None = None  # (trait, category)
    trait_other_sense: str = ""  # a word after which the trait has another sense ("entitled" + "to")
    slur_target: str | None = None  # "axis/group"
    dehumanising: bool = False


@dataclass(slots=True)
class Lexicon:
    version: str
    axes: dict[str, tuple[str, ...]]  # axis -> every group of it (the reference distribution's support)
    occupations: dict[str, str]  # occupation -> stereotyped gender (WinoBias list)
    entries: dict[str, Entry]
    pattern: re.Pattern[str] = field(repr=False)
    path: Path | None = None
    # "N-year-old" bands: (lowest age, highest age, age group); empty in lexicons before 2.0.
    age_numbers: tuple[tuple[int, int, str], ...] = ()

    def find(self, text: str) -> Iterator[tuple[int, int, Entry]]:
        """(start, end, entry) of every term in ``text``, left to right, non-overlapping."""
        entries = self.entries
        for m in self.pattern.finditer(text):
            entry = entries.get(normalise(m.group()))
            if entry is not None:
                yield m.start(), m.end(), entry


def load_lexicon(path: Path | str | None = None) -> Lexicon:
    """The lexicon at ``path`` (default: models/bias/lexicon.json), parsed and compiled once per process."""
    return _load(Path(path).resolve() if path is not None else default_lexicon_path())


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> Lexicon:
    if not path.is_file():
        raise LexiconMissing(
            f"bias lexicon {path} is missing: build it with `python {BUILD_SCRIPT}` "
            "(reads ../shared/data/holistic_bias and ../shared/data/winobias)"
        )
    return from_json(orjson.loads(path.read_bytes()), path)


def from_json(data: dict[str, Any], path: Path | None = None) -> Lexicon:
    entries: dict[str, Entry] = {}

    def at(form: str) -> Entry:
        entry = entries.get(form)
        if entry is None:
            entry = entries[form] = Entry()
        return entry

    for item in data["identity"]:
        term = IdentityTerm(item["term"], item["axis"], item["group"], item["context"])
        cased = frozenset(item.get("cased_forms", ()))
        for form, is_plural in item["forms"].items():
            entry = at(form)
            if all((t.axis, t.group) != (term.axis, term.group) for t in entry.identity):
                entry.identity += (term,)
            entry.plural = entry.plural or is_plural
            entry.cased_forms = entry.cased_forms | cased
    for noun in data["person_nouns"]:
        for form, is_plural in noun["forms"].items():
            entry = at(form)
            entry.person_gender = noun["gender"]
            entry.plural = entry.plural or is_plural
    for word in data["gender_words"]:
        entry = at(word["term"])
        entry.gender = (word["category"], word["gender"])
        entry.plural = entry.plural or word["plural"]
    occupations = {}
    for occ in data["occupations"]:
        occupations[occ["term"]] = occ["stereotype"]
        for form, is_plural in occ["forms"].items():
            entry = at(form)
            entry.occupation = (occ["term"], occ["stereotype"], is_plural and occ["ambiguous_plural"])
            entry.plural = entry.plural or is_plural
    for trait in data["traits"]:
        entry = at(trait["term"])
        entry.trait = (trait["term"], trait["category"])
        entry.trait_other_sense = trait.get("other_sense_before", "")
    for slur in data["slurs"]:
        for form in slur["forms"]:
            at(form).slur_target = slur["target"]
    for term in data["dehumanising"]:
        at(term["term"]).dehumanising = True
    return Lexicon(
        version=data["version"],
        axes={axis: tuple(groups) for axis, groups in data["axes"].items()},
        occupations=occupations,
        entries=entries,
        pattern=compile_trie(entries),
        path=path,
        age_numbers=tuple((int(lo), int(hi), str(group)) for lo, hi, group in data.get("age_numbers", ())),
    )


def compile_trie(forms: dict[str, Any] | list[str]) -> re.Pattern[str]:
    """One regex matching any of ``forms`` (lookup keys) as whole words, longest first."""
    trie: dict[str, Any] = {}
    for form in forms:
        node = trie
        for ch in form:
            node = node.setdefault(ch, {})
        node[""] = {}
    return re.compile(rf"(?<!\w)(?:{_render(trie)})(?!\w)", re.IGNORECASE)


def _render(node: dict[str, Any]) -> str:
    """A trie node as a regex: one branch per next character; ending here is the last resort."""
    ends = "" in node
    branches = [_unit(ch) + _render(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


def _unit(ch: str) -> str:
    if ch == " ":
        return _SEP_PATTERN
    if ch == "'":
        return _APOSTROPHE_PATTERN
    return re.escape(ch)
