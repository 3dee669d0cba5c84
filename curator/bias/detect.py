"""Per-sample bias findings from one pass of the lexicon's matcher over the text.

What is found, and how (docs/bias.md has the full account):

* identity mentions: a descriptor of a HolisticBias axis and group. Descriptors with an everyday
  non-identity sense ("slow", "white", "single") count only where they modify a person noun, possibly
  through other descriptors ("young Black women"); the rest count anywhere.
* gendered terms: pronouns and gendered nouns, counted by gender (male, female, neutral).
* occupation-gender pairings: a WinoBias occupation introduced as a person ("the nurse", "a male
  nurse", "nurses") with the gender of the gendered word right before it, or else of the nearest
  gendered word within the window, in the same paragraph.
* stereotyped associations: a group reference (a plural or generic identity term, or a plural gendered
  noun: "Muslims", "Black people", "women") within the window of words of a curated trait, in the
  same sentence ("women are too emotional").
* toxic language: a slur anywhere, or a dehumanising term within a few words of a group reference.

Everything here is a function of the text and the lexicon; the check (curator.checks.bias) turns the
findings into scores and annotations.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

from curator.bias.lexicon import Entry, Lexicon
from curator.bias.names import Names
from curator.bias.names import confidence as name_confidence

DEFAULT_WINDOW = 8
DEHUMANISING_WINDOW = 4
_CONNECTOR = re.compile(r"[\s,/&\-]*(?:(?:and|or|nor)\s+)?", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?;\n]")
_PARAGRAPH_BREAK = re.compile(r"\n")
_WORD = re.compile(r"\w+(?:['\u2019]\w+)?")
_INTRODUCED = re.compile(
    r"\b(?:a|an|the|my|your|his|her|our|their|its|this|that|these|those|every|each|another|one|two|three"
    r"|any|no|some|many|several)\s+$",
    re.IGNORECASE,
)
_LOOKBEHIND = 24
# Only terms this many characters per word of the window away are measured in words (bounds the work
# on long texts; a window's worth of words longer than this on average is not English prose).
_CHARS_PER_WORD = 40
_SEPARATORS = re.compile(r"[\s\-]+")

# Cues for identity terms that count only next to a person (IdentityTerm.context). Each is searched
# in the text just before the term (``endpos`` = the term's start), so ``$`` is the term's start.
_CUE_REACH = 80
_ADVERBS = (
    r"(?:(?:very|really|quite|rather|pretty|extremely|so|too|a\s+bit|somewhat|visibly|clearly|morbidly|"
    r"legally|completely|partially|severely|also|not|now|still|always|both|recently|obviously|a|an)\s+)*"
)
# Said of a person: SUBJECT [who|that] is/was/looks/... [adverbs] TERM. The subject is checked apart.
_PREDICATE = re.compile(
    r"(?<![\w'])(?P<subject>\w+)(?P<who>\s+(?:who|that))?(?:['\u2019]s|\s+(?:is|was|are|were|be|been|being|looks?|"
    r"looked|seems?|seemed|became|becomes?|appears?|appeared|got|gets|felt|feels?|isn['\u2019]t|wasn['\u2019]t"
    r"|aren['\u2019]t|weren['\u2019]t|is\s+not|was\s+not))\s+" + _ADVERBS + r"$",
    re.IGNORECASE,
)
# "one obese and the other thin", "one short and one tall": two people contrasted without a verb.
_CONTRAST_BEFORE = re.compile(r"(?<!\w)(?:one|(?:the\s+)?other)\s+" + _ADVERBS + r"$", re.IGNORECASE)
_CONTRAST = re.compile(r"(?<!\w)one\b[^.;!?]{1,80}?\b(?:the\s+other|another|one)\b", re.IGNORECASE)
_CONDITION = re.compile(
    r"(?<!\w)(?:with|has|have|had|having|diagnosed\s+with|living\s+with|lives\s+with|suffers?\s+from|"
    r"suffering\s+from|suffered\s+from|struggles?\s+with|struggling\s+with|dealing\s+with|deals\s+with|"
    r"battling|battles|got)\s+(?:(?:a|an|some|severe|mild|chronic|serious|visible|lots\s+of|many|several|"
    r"the|his|her|their)\s+)*$",
    re.IGNORECASE,
)
_DEVICE = re.compile(
    r"(?<!\w)(?:in|uses?|using|used|with|on|needs?|needed|relies\s+on|relied\s+on|walks\s+with|"
    r"walked\s+with|maneuvering|manoeuvring|pushing|pushed|rolling|rolled|wheeling|wheeled|steering)\s+(?:a|an|the|his|her|their|my|your|our)\s+(?:(?:electric|motorized|manual|white|"
    r"new|old|special)\s+)*$",
    re.IGNORECASE,
)
_BORN_IN = re.compile(r"(?<!\w)(?:born|raised|grew\s+up|brought\s+up)\s+in\s+(?:the\s+)?$", re.IGNORECASE)
_FROM = re.compile(
    r"(?<![\w'])(?P<subject>\w+)(?:\s+(?:who|that))?(?:['\u2019]s)?\s+(?:(?:is|was|are|were|comes?|came|"
    r"originally|recently|immigrated|emigrated|moved|hails?|hailed|arrived|fled|just|all)\s+)*from\s+"
    r"(?:the\s+)?$",
    re.IGNORECASE,
)
# Words that refer to a person as the subject of a predicate (besides the lexicon's person nouns).
_SUBJECTS = frozenset(
    [
        "he",
        "she",
        "they",
        "i",
        "we",
        "you",
        "who",
        "someone",
        "somebody",
        "everyone",
        "everybody",
        "both",
        "neither",
        "either",
        "each",
        "other",
        "others",
        "one",
        "him",
        "her",
        "them",
        "me",
        "us",
    ]
)
_AGE = re.compile(
    r"(?<![\w.])(?P<n>\d{1,3})\s*[-\u2010\u2011 ]\s*(?P<years>years?)\s*[-\u2010\u2011 ]\s*old(?!\w)",
    re.IGNORECASE,
)
# After "N-year-old": a noun that is not a person ("a 200-year-old tree") rules it out; these do not.
_AFTER_AGE = frozenset(
    [
        "and",
        "or",
        "but",
        "who",
        "was",
        "is",
        "had",
        "has",
        "with",
        "from",
        "were",
        "are",
        "said",
        "says",
        "in",
        "at",
        "on",
        "named",
        ",",
        ".",
        ";",
        ":",
        "!",
        "?",
        ")",
    ]
)
# Clothes that mark how someone looks or what they can afford ("dressed in a poorly fitting suit",
# "wearing designer heels"): a marking adjective is required, so "wearing a hat" is no mention.
_DRESS = re.compile(
    r"(?<!\w)(?:dressed\s+in|wearing|wore|wears|clad\s+in|in)\s+(?:(?:a|an|the|his|her|their|some)\s+)?"
    r"(?:(?:very|really|rather|old|new|brand|clearly|obviously)\s+)*"
    r"(?P<marker>designer|expensive|cheap|luxury|branded|shabby|ragged|tattered|torn|threadbare|worn[\s-]out|worn|"
    r"stained|dirty|frayed|faded|ill[\s-]fitting|poorly[\s-]fitting|badly[\s-]fitting|baggy|tight|custom[\s-]made|"
    r"custom[\s-]tailored|tailored|bespoke|fancy|flashy|elegant|secondhand|second[\s-]hand|thrift[\s-]store|"
    r"hand[\s-]me[\s-]down|revealing|skimpy|modest)\s+(?:\w+\s+){0,2}?"
    r"(?P<item>clothes|clothing|outfits?|suits?|pantsuits?|dress(?:es)?|gowns?|shoes|sneakers|heels|boots|jeans|"
    r"pants|trousers|shirts?|t-shirts?|hoodies?|jackets?|coats?|uniforms?|sweaters?|skirts?|blazers?|rags|attire)"
    r"(?!\w)",
    re.IGNORECASE,
)
_NEXT_WORD = re.compile(r"\s*(\w+|[^\w\s])?")


# How a mention was found (``Mention.method``): a lexicon term or pattern, a first name (weak
# evidence: a name's documented association, never a fact about the person), or a trained model.
LEXICON, NAME, MODEL = "lexicon", "name", "model"
METHODS = (LEXICON, NAME, MODEL)
GENDER_AXIS = "gender_and_sex"


@dataclass(frozen=True, slots=True)
class Mention:
    axis: str
    group: str
    term: str  # the descriptor as the lexicon spells it (for a name: the name)
    span: tuple[int, int]
    method: str = LEXICON
    confidence: float = 1.0  # how sure the method is that the text names this group, in [0, 1]


@dataclass(frozen=True, slots=True)
class OccupationPairing:
    occupation: str
    gender: str  # male, female, neutral
    stereotype: str  # the gender WinoBias lists the occupation under
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class StereotypePair:
    group: str  # "axis/group", or "gender/female" | "gender/male" for gendered nouns
    group_text: str  # the group reference as written
    trait: str
    category: str
    span: tuple[int, int]  # from the first of the two to the end of the second


@dataclass(frozen=True, slots=True)
class ToxicFinding:
    category: str  # slur | dehumanising
    target: str  # "axis/group" (or "gender/...") the language is aimed at
    span: tuple[int, int]
    detail: str  # never the slur itself


@dataclass(slots=True)
class Findings:
    mentions: list[Mention] = field(default_factory=list)
    gender_counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (pronoun|noun, gender)
    occupations: list[OccupationPairing] = field(default_factory=list)
    stereotypes: list[StereotypePair] = field(default_factory=list)
    toxic: list[ToxicFinding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Ref:
    """A reference to a group as a whole: what stereotypes and dehumanising language attach to."""

    group: str
    start: int
    end: int


def analyse(
    text: str,
    lexicon: Lexicon,
    window: int = DEFAULT_WINDOW,
    dehumanising_window: int = DEHUMANISING_WINDOW,
    names: Names | None = None,
    name_axes: frozenset[str] | None = None,
) -> Findings:
    """``names``: also report first names' documented associations (on ``name_axes``; None: all), as
    weak evidence (method "name")."""
    hits = list(lexicon.find(text))
    out = Findings()
    if names is not None:
        out.mentions += _name_mentions(text, names, name_axes)
    if not hits:
        if lexicon.age_numbers:
            out.mentions += _age_mentions(text, lexicon, names) + _dress_mentions(text)
        return out
    n = len(hits)
    # linked[i]: hit i is followed directly by hit i+1 (only spaces, commas, "and"/"or" between).
    linked = [_CONNECTOR.fullmatch(text, hits[i][1], hits[i + 1][0]) is not None for i in range(n - 1)]
    linked.append(False)
    # head[i]: the person noun that a run of descriptors starting at hit i ends in, or -1.
    head = [-1] * n
    for i in range(n - 1, -1, -1):
        entry = hits[i][2]
        chains = entry.identity or entry.person_gender is not None or _gender_noun(entry)
        if chains and linked[i] and head[i + 1] >= 0:
            head[i] = head[i + 1]
        elif entry.person_gender is not None or _group_noun(entry):
            head[i] = i

    refs: list[_Ref] = []
    described: set[int] = set()  # starts of words used as identity descriptors: never also a trait
    for i, (start, end, entry) in enumerate(hits):
        if entry.identity and _identity_allowed(entry, text[start:end]):
            noun = head[i + 1] if i + 1 < n and linked[i] else -1
            for term in entry.identity:
                confidence = _in_context(term.context, text, start, noun >= 0, lexicon, names)
                if not confidence:
                    continue
                described.add(start)
                out.mentions.append(
                    Mention(term.axis, term.group, term.term, (start, end), LEXICON, confidence)
                )
                if noun >= 0 and hits[noun][2].plural:
                    refs.append(_Ref(f"{term.axis}/{term.group}", start, hits[noun][1]))
                elif noun < 0 and entry.plural and term.context == "any":
                    refs.append(_Ref(f"{term.axis}/{term.group}", start, end))
        if entry.gender is not None:
            category, gender = entry.gender
            out.gender_counts["pronoun" if category == "pronoun" else "noun", gender] += 1
            if category == "noun" and gender != "neutral" and entry.plural and entry.person_gender:
                refs.append(_Ref(f"gender/{gender}", start, end))
        if entry.slur_target is not None:
            out.toxic.append(
                ToxicFinding("slur", entry.slur_target, (start, end), f"slur aimed at {entry.slur_target}")
            )
        if entry.occupation is not None:
            pairing = _pairing(text, hits, linked, i, window)
            if pairing is not None:
                out.occupations.append(pairing)

    if lexicon.age_numbers:  # the implicit rules of lexicon 2.0 (a 1.0 lexicon keeps its old behaviour)
        out.mentions += (
            _gender_mentions(text, hits) + _age_mentions(text, lexicon, names) + _dress_mentions(text)
        )
    attributes = [
        h
        for h in hits
        if (h[2].trait is not None or h[2].dehumanising)
        and h[0] not in described
        and not _other_sense(text, *h)
    ]
    if refs and attributes:
        starts = [h[0] for h in attributes]
        reach = _CHARS_PER_WORD * (max(window, dehumanising_window) + 1)
        words_at = [m.start() for m in _WORD.finditer(text)]
        breaks = [m.start() for m in _SENTENCE_BREAK.finditer(text)]
        seen: set[tuple[str, str]] = set()  # (group, trait) pairs already reported
        aimed: set[tuple[str, int]] = set()  # (group, dehumanising term) already reported
        for ref in refs:
            lo = bisect.bisect_left(starts, ref.start - reach)
            hi = bisect.bisect_right(starts, ref.end + reach)
            for start, end, entry in attributes[lo:hi]:
                if start < ref.end and ref.start < end:  # the same words
                    continue
                words = _words_between(words_at, breaks, ref, start, end)
                if words is None:
                    continue
                group_text = text[ref.start : ref.end]
                span = (min(ref.start, start), max(ref.end, end))
                if entry.trait is not None and words <= window and (ref.group, entry.trait[0]) not in seen:
                    seen.add((ref.group, entry.trait[0]))
                    trait, category = entry.trait
                    out.stereotypes.append(StereotypePair(ref.group, group_text, trait, category, span))
                if entry.dehumanising and words <= dehumanising_window and (ref.group, start) not in aimed:
                    aimed.add((ref.group, start))
                    detail = f"dehumanising language about {ref.group}: {group_text!r} … {text[start:end]!r}"
                    out.toxic.append(ToxicFinding("dehumanising", ref.group, span, detail))
    return out


# Confidence by context: a priori, not calibrated (docs/bias.md says so). A term that names a group by
# itself is surest; one that needs a cue can still be about something else ("she was short of time").
_CONFIDENCE = {"any": 0.95, "person": 0.9, "predicate": 0.8, "condition": 0.85, "device": 0.8, "origin": 0.85}


def _in_context(
    context: str, text: str, start: int, modifies_person: bool, lexicon: Lexicon, names: Names | None = None
) -> float:
    """The mention's confidence where a term with this context counts at ``start``, else 0."""
    if context == "any":
        return _CONFIDENCE["any"]
    if modifies_person and context in ("person", "predicate"):
        return _CONFIDENCE["person"]
    lo = max(0, start - _CUE_REACH)
    if context == "predicate":
        return _CONFIDENCE["predicate"] if _said_of_person(text, lo, start, lexicon, names) else 0.0
    if context == "condition":
        return _CONFIDENCE["condition"] if _CONDITION.search(text, lo, start) else 0.0
    if context == "device":
        return _CONFIDENCE["device"] if _DEVICE.search(text, lo, start) else 0.0
    if context == "origin":
        if _BORN_IN.search(text, lo, start):
            return _CONFIDENCE["origin"]
        m = _FROM.search(text, lo, start)
        return _CONFIDENCE["origin"] if m and _person_word(m.group("subject"), lexicon, names) else 0.0
    return 0.0


def _said_of_person(text: str, lo: int, start: int, lexicon: Lexicon, names: Names | None = None) -> bool:
    """Whether the words before ``start`` predicate what follows of a person ("the student who was",
    "she is very", "one ... and the other")."""
    m = _PREDICATE.search(text, lo, start)
    if m and (
        (m.group("who") and m.group("who").strip().lower() == "who")
        or _person_word(m.group("subject"), lexicon, names)
    ):
        return True
    if _CONTRAST_BEFORE.search(text, lo, start):
        return _CONTRAST.search(text, lo, min(len(text), start + _CUE_REACH)) is not None
    return False


def _person_word(word: str, lexicon: Lexicon, names: Names | None = None) -> bool:
    low = word.lower()
    if low in _SUBJECTS:
        return True
    entry = lexicon.entries.get(low)
    if entry is not None and entry.person_gender is not None:
        return True
    return names is not None and word[:1].isupper() and bool(names.lookup(word))


def _name_mentions(text: str, names: Names, axes: frozenset[str] | None = None) -> list[Mention]:
    """The first name of the text with each documented association, as weak evidence (method "name"):
    how a population uses the name, never a fact about the person."""
    out: dict[tuple[str, str], Mention] = {}
    for hit in names.find(text):
        for axis, group, share in hit.associations:
            if (axis, group) not in out and (axes is None or axis in axes):
                out[axis, group] = Mention(
                    axis, group, hit.name, (hit.start, hit.end), NAME, name_confidence(share)
                )
    return list(out.values())


def _gender_mentions(text: str, hits: list[tuple[int, int, Entry]]) -> list[Mention]:
    """The first gendered person noun, title or pronoun of each gender, as a mention on the gender axis
    (so gendered words are queried like identity mentions). A noun or title is surer than a pronoun."""
    best: dict[str, Mention] = {}
    for start, end, entry in hits:
        if entry.gender is None or entry.gender[1] not in ("male", "female"):
            continue
        category, gender = entry.gender
        if category == "noun" and entry.person_gender is None:
            continue
        confidence = 0.6 if category == "pronoun" else 0.9
        have = best.get(gender)
        if have is None or confidence > have.confidence:
            best[gender] = Mention(
                GENDER_AXIS, gender, text[start:end].lower(), (start, end), LEXICON, confidence
            )
    return [best[g] for g in sorted(best)]


def _age_mentions(text: str, lexicon: Lexicon, names: Names | None = None) -> list[Mention]:
    """ "a 22-year-old", "the 78-year-old man", "she is 85 years old": the age group of the number."""
    if not lexicon.age_numbers:
        return []
    out = []
    for m in _AGE.finditer(text):
        age = int(m.group("n"))
        group = next((g for lo, hi, g in lexicon.age_numbers if lo <= age <= hi), None)
        if group is None:
            continue
        if m.group("years").lower() == "years":  # "N years old": only said of a person
            if not _said_of_person(text, max(0, m.start() - _CUE_REACH), m.start(), lexicon, names):
                continue
        else:  # "N-year-old": followed by a person noun, or by no noun at all
            nxt = _NEXT_WORD.match(text, m.end())
            word = (nxt.group(1) or "").lower() if nxt else ""
            entry = lexicon.entries.get(word)
            if (
                word
                and word not in _AFTER_AGE
                and not (entry is not None and entry.person_gender is not None)
            ):
                continue
        out.append(
            Mention("age", group, f"{age}-year-old", (m.start(), m.end()), LEXICON, _CONFIDENCE["person"])
        )
    return out


def _dress_mentions(text: str) -> list[Mention]:
    """Clothes described by what they say about the wearer, as a physical-appearance mention (once)."""
    m = _DRESS.search(text)
    if m is None:
        return []
    term = f"{m.group('marker')} {m.group('item')}".lower()
    return [Mention("body_type", "clothing", term, m.span("marker")[:1] + m.span("item")[1:], LEXICON, 0.7)]


# "the weak, the poor and the voiceless": an adjective used as a noun names people; it is no trait of
# the group beside it.
_NOMINAL_BEFORE = re.compile(r"(?<!\w)the\s+$", re.IGNORECASE)
_NOMINAL_AFTER = re.compile(r"\s*(?:[,;:.!?)]|and\b|or\b|$)", re.IGNORECASE)
_WORD_AFTER = re.compile(r"\s+(\w+)")


def _other_sense(text: str, start: int, end: int, entry: Entry) -> bool:
    """Whether a trait term is used in a sense that attributes nothing: a nominal adjective ("the weak,")
    or the lexicon's other sense ("entitled to")."""
    if entry.trait is None:
        return False
    if _NOMINAL_BEFORE.search(text, max(0, start - 6), start) and _NOMINAL_AFTER.match(text, end):
        return True
    if entry.trait_other_sense:
        m = _WORD_AFTER.match(text, end)
        return m is not None and m.group(1).lower() == entry.trait_other_sense
    return False


def _group_noun(entry: Entry) -> bool:
    """A plural identity noun names people by itself ("Americans"), so descriptors can modify it."""
    return entry.plural and any(not t.person_context for t in entry.identity)


def _gender_noun(entry: Entry) -> bool:
    return entry.gender is not None and entry.gender[0] == "noun"


def _identity_allowed(entry: Entry, surface: str) -> bool:
    """Acronyms such as MTF or LGBT only count in the spelling the lexicon gives them."""
    return not entry.cased_forms or _SEPARATORS.sub(" ", surface.replace("\u2019", "'")) in entry.cased_forms


def _words_between(words_at: list[int], breaks: list[int], ref: _Ref, start: int, end: int) -> int | None:
    """Words between a group reference and a term in the same sentence; None across a sentence end.

    ``words_at``: start offsets of the text's words; ``breaks``: offsets of sentence-ending characters.
    """
    a, b = (ref.end, start) if ref.end <= start else (end, ref.start)
    if bisect.bisect_left(breaks, a) != bisect.bisect_left(breaks, b):
        return None
    return bisect.bisect_left(words_at, b) - bisect.bisect_left(words_at, a)


def _introduced(text: str, start: int) -> bool:
    return _INTRODUCED.search(text, max(0, start - _LOOKBEHIND), start) is not None


def _pairing(
    text: str, hits: list[tuple[int, int, Entry]], linked: list[bool], i: int, window: int
) -> OccupationPairing | None:
    start, end, entry = hits[i]
    assert entry.occupation is not None
    occupation, stereotype, ambiguous_plural = entry.occupation
    before = hits[i - 1] if i > 0 and linked[i - 1] else None
    if before is not None and before[2].gender is not None and before[2].gender[0] != "pronoun":
        return OccupationPairing(occupation, before[2].gender[1], stereotype, (start, end))
    if not entry.plural or ambiguous_plural:
        introduced = _introduced(text, start) or (
            before is not None and bool(before[2].identity) and _introduced(text, before[0])
        )
        if not introduced:
            return None
    best: tuple[int, int, str] | None = None  # (words away, 0 if after else 1, gender): nearest wins
    for direction in (-1, 1):
        j = i + direction
        while 0 <= j < len(hits):
            other_start, other_end, other = hits[j]
            a, b = (other_end, start) if direction < 0 else (end, other_start)
            if _PARAGRAPH_BREAK.search(text, a, b):
                break
            words = len(_WORD.findall(text, a, b))
            if words > window:
                break
            if other.gender is not None:
                candidate = (words, 0 if direction > 0 else 1, other.gender[1])
                if best is None or candidate < best:
                    best = candidate
                break
            j += direction
    if best is None:
        return None
    return OccupationPairing(occupation, best[2], stereotype, (start, end))
