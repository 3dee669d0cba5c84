"""A development set for the eval-set decontamination check (issue 14): leaks of gold test questions.

    .venv/bin/python benchmarks/contamination_data.py --out DIR [--seed 0] [--eval-items 250]

Source data (read from ``../shared/data``; nothing is downloaded):

* ``halueval_qa_dev.jsonl``: RUCAIBox/HaluEval ``generation/qa/qa_one-turn_data.json`` @ b7253db3,
  licence MIT; 500 ``{knowledge, question, right_answer, hallucinated_answer}`` (HotpotQA-style
  multi-hop questions). Source of the eval items, the leaks and the same-style negatives.
* ``alpaca_5000.json``: tatsu-lab/stanford_alpaca ``data/alpaca_5000.json`` @ 5e69c500, licence
  CC BY-NC 4.0 (data); the first 300 records are the unrelated ``clean`` negatives.

The 500 questions are split, deterministically for a seed, into an EVAL half (``--eval-items``,
registered as the eval set) and a NEGATIVE half (questions of the same style that are never
registered). The split keeps together questions that are linked by a shared word 8-gram (a
question's 8-gram found in another record's question, knowledge or answer), so that no negative
built from the NEGATIVE half carries a long n-gram of an eval question (``meta.json`` reports it).
Question ``k`` (0-based line of the source file) is ``q<k>`` in both halves.

Writes:

* ``DIR/evalset.jsonl``: ``{"id": "q<k>", "text": question, "answer": right_answer}`` per eval item.
* ``DIR/samples.jsonl``: Alpaca-shaped training samples ``{"id", "instruction", "input", "output",
  "kind", "eval_id"}`` in a seeded shuffled order (ids ``s00000`` … in file order). Extra fields are
  metadata: ``source_id`` (the question a sample was built from), ``template`` (where the question
  sits), for reworded samples ``reworded`` (the reworded question), ``rewording`` (the rules applied)
  and ``jaccard``, and for negatives ``style``.
  ``kind``:

  - ``verbatim``: the eval question verbatim inside a longer sample (after a quiz-style instruction,
    in the input, or in the middle of the output between other sentences), with a short answer
    sentence built from ``right_answer``; sometimes lower-cased or with its ``?`` changed, which the
    check's normalisation removes.
  - ``reworded``: the same question reworded by rules (:func:`reword`): frame rewrites ("In what
    year X?" -> "When X?", "X in what city?" -> "Name the city in which X."), clause reordering
    ("Which magazine was started first, A or B?" -> "Between B and A, which magazine was launched
    earlier?"), entity order swaps in "A and B" / "A or B", "January 8, 2006" -> "8 January 2006",
    "X's wife" -> "the wife of X", reduced relatives, and synonyms from a hand-written table (about
    300 phrases, some only in context). Numbers, quoted titles and capitalised names are kept; a
    question no rule touches becomes "Can you tell me who exactly ...?". ``jaccard`` is the word
    3-gram Jaccard to the original question (:func:`benchmarks.perturb.true_jaccard`). Placed in
    the same templates as ``verbatim`` (never with the original question).
  - ``answered``: the eval question, then its answer and an explanation built from ``knowledge``.
  - ``negative``: built exactly like ``verbatim`` (``style: "verbatim"``) and ``answered``
    (``style: "answered"``) from the NEGATIVE half; ``eval_id`` is null. Must not be flagged.
  - ``clean``: the first 300 Alpaca records, unchanged; ``eval_id`` is null.

* ``DIR/meta.json``: the seed, the split (with the ids of both halves), counts per kind, the 3-gram
  Jaccard of the reworded questions (mean, median, quartiles) and n-gram sharing: the share of
  reworded questions (and of whole reworded samples) that share at least one word 13-, 8- and
  5-gram with their source question (what an n-gram filter alone can catch), and how many negative
  and clean samples share one with any eval question (which such a filter would wrongly flag).

N-grams are word n-grams of ``normalize`` -> ``words`` (case-folded, punctuation dropped: the
tokens the NEAR_DUPLICATE check uses). An item with fewer than n words counts as one n-gram of its
own length, so "shares a 13-gram" with a 9-word question means containing all 9 words in a row.

:func:`build` returns ``(evalset, samples, meta)`` in memory; only the standard library and
:mod:`benchmarks.perturb` (hence ``curator.domain.normalize``) are used.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.perturb import true_jaccard  # noqa: E402
from curator.domain.normalize import normalize, words  # noqa: E402

DATA_DIR = ROOT.parent / "shared" / "data"
HALUEVAL_QA = "halueval_qa_dev.jsonl"
ALPACA = "alpaca_5000.json"

KINDS = ("verbatim", "reworded", "answered", "negative", "clean")
CLEAN_RECORDS = 300
SPLIT_NGRAM = 8
SHARE_SIZES = (13, 8, 5)
JACCARD_SHINGLE = 3

# --------------------------------------------------------------------------- n-grams


def tokens(text: str) -> list[str]:
    """Word tokens after case folding and dropping punctuation (the check's normalisation)."""
    return words(normalize(text))


def ngrams(toks: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """All word ``n``-grams of ``toks`` (none when it has fewer than ``n`` words)."""
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def item_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The ``n``-grams of an item; an item shorter than ``n`` words is one n-gram of its own length."""
    toks = tokens(text)
    return ngrams(toks, min(n, len(toks))) if toks else set()


def shares_ngram(item: str, text: str, n: int) -> bool:
    """Whether ``text`` contains one of ``item``'s word ``n``-grams (all of a shorter item, in a row)."""
    grams = item_ngrams(item, n)
    if not grams:
        return False
    size = len(next(iter(grams)))
    return not grams.isdisjoint(ngrams(tokens(text), size))


def contains_text(item: str, text: str) -> bool:
    """Whether ``text`` contains all of ``item``'s words in a row (case and punctuation ignored)."""
    need = tokens(item)
    have = tokens(text)
    if not need:
        return False
    return any(have[i : i + len(need)] == need for i in range(len(have) - len(need) + 1))


class NgramIndex:
    """The ``n``-grams of many items, to ask which items a text shares one with.

    Grams are filed under their first two words, so a text is scanned once, position by position.
    """

    def __init__(self, items: Iterable[tuple[str, str]], n: int) -> None:
        self.n = n
        self.by_start: dict[tuple[str, ...], dict[tuple[str, ...], set[str]]] = {}
        for key, text in items:
            for gram in item_ngrams(text, n):
                self.by_start.setdefault(gram[:2], {}).setdefault(gram, set()).add(key)

    def hits(self, text: str) -> set[str]:
        toks = tokens(text)
        found: set[str] = set()
        for i in range(len(toks)):
            for start in (tuple(toks[i : i + 2]), (toks[i],)):  # one-word items are filed under one word
                for gram, keys in self.by_start.get(start, {}).items():
                    if tuple(toks[i : i + len(gram)]) == gram:
                        found |= keys
        return found


# --------------------------------------------------------------------------- rewording

# Phrases (lower case, up to three words) and their replacements; "" deletes the phrase.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "is located in": ("lies in", "is situated in", "can be found in"),
    "are located in": ("lie in", "are situated in"),
    "located in": ("situated in", "found in"),
    "located": ("situated",),
    "based in": ("headquartered in", "located in"),
    "based out of": ("headquartered in", "operating out of"),
    "also known as": ("also called", "otherwise called"),
    "known as": ("called", "referred to as"),
    "best known": ("most famous", "best remembered"),
    "best know": ("most famous",),
    "known for": ("famous for", "recognised for"),
    "have in common": ("share",),
    "took place": ("happened", "occurred"),
    "take place": ("happen", "occur"),
    "takes place": ("happens", "occurs"),
    "first ever": ("very first",),
    "most recently": ("lately",),
    "has in common": ("shares",),
    "a number of": ("several", "a series of"),
    "a large number of": ("many", "lots of"),
    "as well as": ("and also",),
    "in order to": ("so as to",),
    "the same": ("a shared", "an identical"),
    "how many": ("what number of",),
    "how old": ("what age",),
    "is part of": ("belongs to", "forms part of"),
    "named after": ("named for", "called after"),
    "played for": ("represented", "turned out for"),
    "owned by": ("controlled by", "the property of"),
    "video game": ("computer game",),
    "television series": ("TV show", "TV series"),
    "tv series": ("television show",),
    "tv show": ("television programme",),
    "record label": ("label",),
    "guest appearances": ("cameo appearances", "cameos"),
    "television": ("TV",),
    "tv": ("television",),
    "film": ("movie", "picture", "motion picture"),
    "films": ("movies", "pictures"),
    "movie": ("film", "picture"),
    "movies": ("films",),
    "album": ("record", "LP"),
    "albums": ("records",),
    "band": ("group",),
    "bands": ("groups",),
    "song": ("track", "tune"),
    "songs": ("tracks", "tunes"),
    "singer": ("vocalist",),
    "singers": ("vocalists",),
    "actor": ("performer",),
    "actors": ("performers",),
    "actress": ("female performer", "performer"),
    "country": ("nation",),
    "countries": ("nations",),
    "company": ("firm", "business"),
    "companies": ("firms",),
    "directed": ("helmed",),
    "director": ("filmmaker",),
    "show": ("programme", "program"),
    "released": ("put out", "issued"),
    "named": ("called",),
    "founded": ("established", "set up"),
    "founder": ("creator",),
    "started": ("launched",),
    "began": ("started",),
    "starred": ("featured",),
    "starring": ("featuring",),
    "featuring": ("starring", "with"),
    "featured": ("showcased",),
    "won": ("claimed", "took home"),
    "winner": ("victor", "recipient"),
    "played": ("portrayed",),
    "plays": ("portrays",),
    "population": ("number of inhabitants", "number of residents"),
    "produced": ("made", "created"),
    "character": ("figure",),
    "written": ("penned", "authored"),
    "wrote": ("penned", "authored"),
    "writer": ("author",),
    "author": ("writer",),
    "team": ("side", "squad"),
    "nationality": ("citizenship",),
    "former": ("one-time", "previous"),
    "published": ("issued", "printed"),
    "publisher": ("publishing house",),
    "called": ("named",),
    "largest": ("biggest",),
    "large": ("big",),
    "larger": ("bigger",),
    "currently": ("now", "at present", ""),
    "current": ("present",),
    "man": ("gentleman",),
    "artist": ("performer",),
    "musician": ("music artist",),
    "magazine": ("periodical",),
    "magazines": ("periodicals",),
    "player": ("athlete",),
    "players": ("athletes",),
    "includes": ("contains", "features"),
    "include": ("contain",),
    "including": ("such as",),
    "contains": ("includes", "holds"),
    "songwriter": ("lyricist",),
    "stadium": ("arena", "ground"),
    "owned": ("controlled",),
    "event": ("competition", "contest"),
    "events": ("competitions",),
    "professional": ("pro",),
    "composer": ("songwriter",),
    "works": ("pieces",),
    "built": ("constructed", "erected"),
    "created": ("made", "devised"),
    "creator": ("maker", "originator"),
    "developed": ("devised", "created"),
    "designed": ("devised",),
    "invented": ("devised",),
    "genre": ("style", "category"),
    "type": ("kind", "sort"),
    "kind": ("type", "sort"),
    "game": ("match",),
    "politician": ("political figure",),
    "appeared": ("featured",),
    "associated": ("linked", "connected"),
    "used": ("employed", "utilised"),
    "use": ("employ",),
    "originally": ("initially", "at first"),
    "served": ("worked",),
    "died": ("passed away",),
    "older": ("the elder",),
    "made": ("created", "produced"),
    "book": ("volume",),
    "books": ("volumes",),
    "novel": ("book",),
    "later": ("subsequently", "afterwards"),
    "leader": ("head",),
    "aired": ("broadcast",),
    "received": ("obtained", "got"),
    "network": ("channel",),
    "channel": ("network",),
    "famous": ("well known", "renowned"),
    "popular": ("well-liked", "widely loved"),
    "husband": ("spouse",),
    "wife": ("spouse",),
    "screenwriter": ("scriptwriter",),
    "composed": ("written",),
    "episode": ("instalment",),
    "hosted": ("presented",),
    "host": ("presenter",),
    "formed": ("set up",),
    "headquartered": ("based",),
    "location": ("place", "site"),
    "share": ("have in common",),
    "worked": ("was employed", "served"),
    "awarded": ("given", "granted"),
    "occupation": ("profession", "job"),
    "profession": ("occupation", "line of work"),
    "previously": ("formerly", "earlier"),
    "opened": ("inaugurated",),
    "nominated": ("shortlisted",),
    "performed": ("sang",),
    "organization": ("body", "institution"),
    "award": ("prize", "honour"),
    "awards": ("prizes",),
    "retailer": ("store chain",),
    "related": ("linked", "connected"),
    "building": ("structure",),
    "journal": ("publication",),
    "about": ("concerning", "on"),
    "over": ("more than",),
    "during": ("in the course of", "throughout"),
    "after": ("following",),
    "before": ("prior to",),
    "along": ("alongside",),
    "many": ("numerous",),
    "main": ("principal", "chief"),
    "major": ("leading", "big"),
    "real": ("actual",),
    "titles": ("crowns",),
    "comedian": ("comic",),
    "sitcom": ("situation comedy",),
    "comedy": ("comic",),
    "industry": ("sector", "business"),
    "small": ("little",),
    "officially": ("formally",),
    "partially": ("partly",),
    "approximately": ("roughly", "about"),
    "sometimes": ("occasionally",),
    "eventually": ("ultimately", "in the end"),
    "unsuccessfully": ("without success",),
    "once": ("at one time",),
    "considered": ("regarded as",),
    "brother": ("sibling",),
    "woman": ("lady",),
    "people": ("persons", "individuals"),
    "person": ("individual",),
    "place": ("location",),
    "area": ("region", "district"),
    "reached": ("hit", "got to"),
    "chemical": ("substance",),
    "limit": ("restrict", "cap"),
    "regulations": ("rules",),
    "designated": ("assigned",),
    "accredited": ("certified",),
    "only": ("just", "merely"),
    "staged": ("held",),
    "protagonist": ("lead character",),
    "form": ("style",),
    "also": ("", "additionally"),
    "very": ("",),
    "several": ("a few",),
    "situated": ("located",),
    "at the age of": ("aged", "at age"),
    "a member of": ("part of", "one of the members of"),
    "an original member": ("a founding member",),
    "original member": ("founding member",),
    "on display": ("exhibited",),
    "home games": ("home matches",),
    "home matches": ("home games",),
    "debut studio album": ("first studio record",),
    "debut album": ("first album",),
    "studio album": ("studio record", "studio LP"),
    "lead single": ("first single", "main single"),
    "real name": ("actual name", "birth name"),
    "thesis supervisor": ("doctoral adviser",),
    "inducted into": ("admitted to",),
    "aside from": ("apart from", "besides"),
    "much of": ("a lot of",),
    "led": ("guided", "headed"),
    "die": ("pass away",),
    "planned": ("proposed",),
    "beneath": ("under",),
    "rule": ("reign",),
    "role": ("part",),
    "allegations": ("accusations",),
    "lawsuit": ("legal case",),
    "suit": ("case",),
    "chairman": ("chair",),
    "mentioned": ("referenced", "cited"),
    "dedicated": ("devoted",),
    "inspired": ("influenced",),
    "perspective": ("viewpoint",),
    "publications": ("periodicals",),
    "communities": ("groups",),
    "result": ("outcome",),
    "strike": ("attack",),
    "found": ("located",),
    "banks": ("shores",),
    "picked": ("selected", "chose"),
    "sang": ("performed",),
    "finale": ("final episode",),
    "schemes": ("plots",),
    "take over": ("conquer",),
    "attended": ("went to",),
    "attempt": ("try",),
    "rescue": ("save",),
    "endorsed": ("backed",),
    "represented": ("served",),
    "official": ("formal",),
    "opponent": ("critic",),
    "region": ("area",),
    "gave": ("granted", "awarded"),
    "until": ("up until", "till"),
    "while": ("whereas",),
    "defeated": ("beaten",),
    "since": ("ever since",),
    "investigate": ("look into", "probe"),
    "initiated": ("launched", "set up"),
    "segment": ("section", "part"),
    "birthplace": ("place of birth",),
    "competition": ("contest",),
    "monument": ("memorial",),
    "memorial": ("monument",),
    "concerned": ("involved",),
    "president": ("head",),
    "disadvantaged": ("underprivileged",),
    "available": ("offered",),
    "compositions": ("works",),
    "issues": ("concerns",),
    "sold": ("marketed",),
    "footballer": ("football player", "soccer player"),
    "retired": ("former",),
    "signed": ("recruited",),
    "celebrities": ("stars",),
    "eponymous": ("self-titled",),
    "agencies": ("services",),
    "agency": ("body",),
    "boundary": ("border",),
    "separated": ("divided",),
    "reboot": ("remake",),
    "titled": ("called", "entitled"),
    "act": ("perform",),
    "adapting": ("bringing",),
    "connection": ("link", "relationship"),
    "serves": ("covers",),
    "acted": ("starred",),
    "represents": ("serves",),
    "drive": ("race",),
    "launched": ("started",),
}
_MAX_PHRASE = max(len(k.split()) for k in SYNONYMS)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


AUX = _wordset("is was are were do does did has have had be been can could would will should may might 's")
PREPS = _wordset(
    "in at on by from for of with to into near under after before during about since "
    "through across via among against along between as"
)
DETERMINERS = _wordset("the a an this that these those his her its their our my your")
PERSON_NOUNS = _wordset(
    "person man woman actor actress singer performer player politician executive narrator author "
    "writer director producer composer musician artist rapper coach leader president footballer "
    "boxer member founder entrepreneur comedian screenwriter vocalist songwriter guitarist drummer "
    "athlete manager designer architect scientist host one"
)
DEMONYMS = _wordset(
    "American British English Canadian Australian French German Italian Spanish Japanese Chinese Korean "
    "Indian Irish Scottish Welsh Russian Swedish Dutch Mexican Brazilian Danish Norwegian Finnish Polish "
    "Greek Turkish Israeli Egyptian Belgian Swiss Austrian Portuguese Argentine Filipino"
)
CONNECTORS = _wordset("of the de da von van del la le du &")
# Capitalised words that modify the name after "and" ("First and Second World War"): no swap there.
NOT_NAMES = _wordset(
    "First Second Third Fourth Fifth North South East West Northern Southern Eastern Western Upper Lower "
    "Old New Greater"
)
QUESTION_STARTERS = _wordset(
    "what which who whom whose where when why how are is were was do does did can in at on by of "
    "from for to between according name"
)
# Verbs that end a wh-subject's noun phrase ("Which stadium hosts ...") besides AUX and "-ed" forms.
FINITE_VERBS = _wordset(
    "won wrote began ran sang made built led held took became gave found fought drew sold bought "
    "plays hosts includes contains features owns funds represents shares covers serves runs holds "
    "lies uses makes provides has had"
)
# Past participles after which a relative "that was" / "which is" can go ("the band that was formed in").
PARTICIPLES = _wordset("known born written built made held shown founded located based")
# Words in -ly that are not adverbs, or whose deletion would change the meaning.
NOT_ADVERBS = _wordset(
    "only family italy early july fly rally reply supply apply ally belly bully holy daily weekly monthly "
    "yearly likely unlikely ugly lonely friendly elderly assembly anomaly emily kelly molly lily sally "
    "billy willy polly jolly hourly nightly quarterly fully nearly partly solely jointly"
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_RUN = re.compile(r"\s+|\S+")
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_PROTECTED = re.compile(r'"[^"]*"|“[^”]*”|\([^)]*\)|\[[^]]*\]')


def _lower_first(text: str) -> str:
    """Lower-case the first word when it is a function word (not "The" of a name: "The Price Is Right")."""
    m = re.match(r"\W*(\w+)(\W+(\w))?", text)
    if not m:
        return text
    first = m.group(1).lower()
    next_cap = bool(m.group(3)) and m.group(3)[0].isupper()
    if first in QUESTION_STARTERS or (first in ("the", "a", "an") and not next_cap):
        i = m.start(1)
        return text[:i] + text[i].lower() + text[i + 1 :]
    return text


def _upper_first(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :]
    return text


def _clean(text: str) -> str:
    return " ".join(text.split())


def _strip_q(text: str) -> str:
    """The question without its final ``?`` (and spaces)."""
    return re.sub(r"\s*\?+\s*$", "", text.strip())


class _Word:
    """One whitespace-delimited run: leading punctuation, core, trailing punctuation, char offset."""

    __slots__ = ("core", "lead", "start", "trail")

    def __init__(self, run: str, start: int) -> None:
        m = _CORE.match(run)
        assert m is not None
        self.lead, self.core, self.trail = m.group(1), m.group(2), m.group(3)
        self.start = start

    @property
    def core_start(self) -> int:
        return self.start + len(self.lead)

    @property
    def core_end(self) -> int:
        return self.core_start + len(self.core)

    @property
    def low(self) -> str:
        return self.core.lower()

    def is_cap(self) -> bool:
        return bool(self.core) and (self.core[0].isupper() or self.core[0].isdigit())


def _words(text: str) -> list[_Word]:
    return [_Word(m.group(), m.start()) for m in _RUN.finditer(text) if not m.group().isspace()]


def _cap_or_quoted(w: _Word | None) -> bool:
    return w is not None and (w.is_cap() or w.lead[:1] in ('"', "“", "'"))


def _digit(w: _Word | None) -> bool:
    return w is not None and w.core[:1].isdigit()


# Table entries that only apply in context: guard(previous word, next word) -> allowed.
GUARDS: dict[str, Callable[[_Word | None, _Word | None], bool]] = {
    "played": lambda p, n: _cap_or_quoted(n),  # a role ("played Samson"), not "played one season"
    "plays": lambda p, n: _cap_or_quoted(n),
    "over": lambda p, n: _digit(n),  # "over 25,000"
    "about": lambda p, n: not _digit(n),
    "only": lambda p, n: p is None or p.low not in DETERMINERS,  # not "the only"
    "place": lambda p, n: p is None or p.low not in ("took", "take", "takes", "taking"),
    "game": lambda p, n: p is None or p.low not in ("video", "board", "card"),
    "named": lambda p, n: n is None or n.low not in ("after", "for"),
    "show": lambda p, n: n is None or n.low not in ("up", "off"),
    "form": lambda p, n: n is not None and n.low == "of",
}


def _protected_mask(text: str, ws: Sequence[_Word]) -> list[bool]:
    """Words that rewording must not touch: in quotes or brackets, or lower-case words inside a name."""
    spans = [m.span() for m in _PROTECTED.finditer(text)]
    mask = [any(a <= w.start < b for a, b in spans) for w in ws]
    for i in range(1, len(ws) - 1):
        w = ws[i]
        if w.core.islower() and ws[i - 1].is_cap() and ws[i + 1].is_cap() and not ws[i - 1].trail:
            mask[i] = True  # "Friends in Low Places", "Kings of Leon"
    return mask


def _context_rule(ws: Sequence[_Word], i: int) -> tuple[int, tuple[str, ...]] | None:
    """Rewrites of interrogative and relative words, reduced relatives and deletable adverbs at word ``i``."""
    w = ws[i]
    prev = ws[i - 1] if i > 0 else None
    nxt = ws[i + 1] if i + 1 < len(ws) else None
    low = w.low
    if nxt is None or w.trail:
        return None
    prev_low = prev.low if prev is not None else ""
    nxt_low = nxt.low
    plain_next = nxt.core.isalpha() and nxt_low not in AUX and nxt_low not in DETERMINERS and not nxt.lead
    if low == "what" and plain_next:
        return 1, ("which",)
    if low == "which" and plain_next and (i == 0 or (i == 1 and prev_low in PREPS)):
        return 1, ("what",)  # only the interrogative at the start, not the relative "the film in which"
    noun_before = (
        prev is not None
        and not prev.trail
        and prev.core.isalpha()
        and prev_low not in PREPS | AUX | DETERMINERS
        and prev_low not in ("who", "which", "that", "and", "or", "but", "so", "than", "what")
    )
    if low in ("who", "which", "that") and noun_before:
        # "the band that was formed in" -> "the band formed in"
        if nxt_low in ("is", "was", "are", "were") and not nxt.trail and i + 2 < len(ws):
            after = ws[i + 2]
            if after.low in PARTICIPLES or (after.low.endswith("ed") and after.core.islower()):
                return 2, ("",)
        if nxt_low in AUX or nxt_low.endswith("ed") or nxt_low in FINITE_VERBS:
            if low == "that":
                return 1, ("who",) if prev_low in PERSON_NOUNS else ("which",)
            return 1, ("that",)
    if (
        low.endswith("ly")
        and len(low) > 5
        and low not in NOT_ADVERBS
        and w.core.islower()
        and prev is not None
        and not prev.trail
    ):
        return 1, ("",)
    return None


def synonym_pass(text: str, rng: random.Random, prob: float) -> tuple[str, int]:
    """Replace table phrases and apply context rules (what/which, relatives, adverbs), each with ``prob``."""
    ws = _words(text)
    if not ws:
        return text, 0
    mask = _protected_mask(text, ws)
    edits: list[tuple[int, int, str]] = []  # (char start, char end, replacement)
    i = 0
    while i < len(ws):
        w = ws[i]
        core = w.core
        if mask[i] or not core.isalpha() or not (core.islower() or (i == 0 and core[0].isupper())):
            i += 1
            continue
        # The longest table phrase here, over unprotected lower-case words with no punctuation between.
        match = None
        for size in range(min(_MAX_PHRASE, len(ws) - i), 0, -1):
            span = ws[i : i + size]
            if any(mask[i + k] for k in range(size)):
                continue
            if any(s.trail for s in span[:-1]) or any(s.lead for s in span[1:]):
                continue
            if any(not s.core.isalpha() or (k > 0 and not s.core.islower()) for k, s in enumerate(span)):
                continue
            key = " ".join(s.low for s in span)
            guard = GUARDS.get(key)
            before = ws[i - 1] if i > 0 else None
            after = ws[i + size] if i + size < len(ws) else None
            if key in SYNONYMS and (guard is None or guard(before, after)):
                match = (size, SYNONYMS[key])
                break
        if match is None:
            match = _context_rule(ws, i)
        if match is None or rng.random() >= prob:
            i += 1
            continue
        size, options = match
        repl = rng.choice(options)
        last = ws[i + size - 1]
        if repl:
            if i == 0 and core[0].isupper():
                repl = _upper_first(repl)
            edits.append((w.core_start, last.core_end, repl))
        elif not w.lead and not last.trail and i > 0 and i + size < len(ws):
            # Delete the words and the space after them; never at either end or next to punctuation.
            edits.append((w.core_start, ws[i + size].start, ""))
        else:
            i += 1
            continue
        i += size
    for start, end, repl in reversed(edits):
        text = text[:start] + repl + text[end:]
    return _clean(text), len(edits)


def fix_articles(text: str) -> str:
    """ "a" / "an" agreeing with a lower-case word after it (a synonym may have changed the word)."""

    def agree(m: re.Match[str]) -> str:
        art, word = m.group(1), m.group(2)
        vowel = word[0] in "aeiou" and not word.startswith(("one", "uni", "use", "usu", "eu", "ur"))
        new = "an" if vowel else "a"
        if art[0].isupper():
            new = new.capitalize()
        return f"{new} {word}"

    return re.sub(
        r"\b(a|an|A|An) ([a-z][\w-]*)", lambda m: agree(m) if m.group(2)[0] != "h" else m.group(0), text
    )


_OWNED = (
    "husband|wife|son|daughter|father|mother|brother|sister|uncle|grandfather|team|album|song|book|novel|"
    "film|home|headquarters|founder|creator|owner|leader|coach|president|successor|predecessor|birthplace|"
    "hometown|career|label|name|debut|widow|nephew|niece|partner"
)
_POSSESSIVE = re.compile(
    rf"\b((?:The )?[A-Z][\w.-]*(?: [A-Z][\w.-]*){{0,3}})'s ({_OWNED})\b"
    r"(?=\s*[?,.]|\s*$| (?:is|was|are|were|has|had|did|do|does|play|born|die|"
    r"in|on|at|from|of|for|to|with|by)\b)"
)


def possessive_of(text: str) -> str:
    """ "Myra Kraft's husband" -> "the husband of Myra Kraft" (a name's relative or belonging)."""

    def of(m: re.Match[str]) -> str:
        out = f"the {m.group(2)} of {m.group(1)}"
        return _upper_first(out) if m.start() == 0 else out

    return _POSSESSIVE.sub(of, text)


def reformat_dates(text: str) -> str:
    """ "January 8, 2006" <-> "8 January 2006" (same numbers, different word order)."""
    months = "|".join(MONTHS)
    new = re.sub(rf"\b({months}) (\d{{1,2}}), (\d{{4}})\b", r"\2 \1 \3", text)
    if new != text:
        return new
    return re.sub(rf"\b(\d{{1,2}}) ({months}) (\d{{4}})\b", r"\2 \1, \3", text)


def _cap_run_left(ws: Sequence[_Word], j: int) -> int | None:
    """Start of the run of capitalised words ending at word ``j`` (connectors allowed inside)."""
    if not ws[j].is_cap() or ws[j].lead or (ws[j].trail and ws[j].trail != ","):
        return None
    i = j
    while i > 0:
        p = ws[i - 1]
        if p.trail or ws[i].lead:
            break
        if (p.is_cap() and p.low not in QUESTION_STARTERS) or (
            p.core in CONNECTORS and i - 2 >= 0 and ws[i - 2].is_cap() and not ws[i - 2].trail
        ):
            i -= 1
        else:
            break
    while ws[i].core in DEMONYMS and i < j:
        i += 1
    return i


def _cap_run_right(ws: Sequence[_Word], k: int) -> int | None:
    """End of the run of capitalised words starting at word ``k``."""
    if k >= len(ws) or not ws[k].is_cap() or ws[k].lead:
        return None
    j = k
    while j + 1 < len(ws) and not ws[j].trail:
        n = ws[j + 1]
        if n.lead:
            break
        if n.is_cap() or (n.core in CONNECTORS and j + 2 < len(ws) and ws[j + 2].is_cap() and not n.trail):
            j += 1
        else:
            break
    # "Kings of Leon American rock bands": a trailing demonym before a lower-case word is not the name.
    while j > k and ws[j].core in DEMONYMS and j + 1 < len(ws) and ws[j + 1].core.islower():
        j -= 1
    return j


def swap_coordination(text: str) -> str | None:
    """Swap the names in the first "A and B" / "A or B" (also "…, A, and B") where both are capitalised."""
    ws = _words(text)
    for c in range(1, len(ws) - 1):
        if ws[c].core not in ("and", "or") or ws[c].lead or ws[c].trail:
            continue
        i = _cap_run_left(ws, c - 1)
        j = _cap_run_right(ws, c + 1)
        if i is None or j is None:
            continue
        if i == 0 and ws[0].low in QUESTION_STARTERS:
            continue
        if i == c - 1 and (ws[i].core in NOT_NAMES or j > c + 1):
            continue  # "First and Second World War", "Paul and Chris Weitz": a shared head, maybe
        if i > 1 and ws[i - 1].low in ("for", "of", "&") and ws[i - 2].is_cap() and not ws[i - 2].trail:
            continue  # inside a longer name: "Centre for Medieval and Renaissance Studies"
        s1, e1 = ws[i].core_start, ws[c - 1].core_end
        s2, e2 = ws[c + 1].core_start, ws[j].core_end
        a, b = text[s1:e1], text[s2:e2]
        if a == b:
            continue
        return text[:s1] + b + text[e1:s2] + a + text[e2:]
    return None


# Frames: each takes the question (one line, stripped) and the rng, and returns a rewrite or None.

_COMPARATIVE = (
    r"first|earlier|later|older|younger|larger|smaller|longer|shorter|taller|bigger|more \w+|"
    r"fewer \w+|less \w+|most \w+|higher|lower"
)
_NAME_START = re.compile(r"^(?:[A-Z0-9\"'“]|the [A-Z])")


def frame_or_choice(q: str, rng: random.Random) -> str | None:
    """ "Which X was Y first, A or B?" -> "Between B and A, which X was Y earlier?" and similar."""
    body = _strip_q(q)
    if not re.match(r"^(which|who|what)\b", body, re.I) or body.count(" or ") != 1:
        return None
    head, b = body.rsplit(" or ", 1)
    head = head.rstrip(", ")
    if "," in head:
        pred, a = head.split(",", 1)
    else:
        mc = re.match(rf"^(?P<pred>.+?\b(?:{_COMPARATIVE}))\s+(?P<a>(?:the )?[A-Z\"'“0-9].*)$", head)
        if not mc:
            return None
        pred, a = mc.group("pred"), mc.group("a")
    a, b, pred = a.strip(" ,"), b.strip(" ,"), pred.strip()
    if not _NAME_START.match(a) or not _NAME_START.match(b):
        return None
    pred = re.sub(r"\bfirst$", lambda _: rng.choice(("earlier", "first")), pred)
    pred_l = _lower_first(pred)
    form = rng.randrange(3)
    if form == 0:
        return f"Between {b} and {a}, {pred_l}?"
    if form == 1:
        return f"Of {b} and {a}, {pred_l}?"
    return f"{_upper_first(pred_l)}: {b} or {a}?"


def frame_both(q: str, rng: random.Random) -> str | None:
    """ "Are A and B both P?" <-> "Is it true that A and B are both P?" (the names are swapped later)."""
    body = _strip_q(q)
    m = re.match(r"^(Are|Were)\s+(?!both\b)(.+?)\s+both\s+(.+)$", body)
    if m:
        verb = m.group(1).lower()
        if rng.random() < 0.5:
            return f"Is it true that {m.group(2)} {verb} both {m.group(3)}?"
        return f"{m.group(1)} both {m.group(2)} {m.group(3)}?"
    m = re.match(r"^(Are|Were)\s+both\s+(.+)$", body)
    if not m:
        return None
    ws = _words(m.group(2))
    for c, w in enumerate(ws):
        if w.core == "and":
            j = _cap_run_right(ws, c + 1)
            if j is None:
                return None
            names = m.group(2)[: ws[j].core_end]
            rest = m.group(2)[ws[j].core_end :].strip()
            if not rest:
                return None
            verb = m.group(1).lower()
            if rng.random() < 0.5:
                return f"Is it true that {names} {verb} both {rest}?"
            return f"{m.group(1)} {names} both {rest}?"
    return None


def frame_in_common(q: str, rng: random.Random) -> str | None:
    """ "What N does A and B have in common?" -> "Which N do A and B share?" / "What N is common to ..."."""
    body = _strip_q(q)
    m = re.match(r"^(?:What|Which) (.+?) (?:do|does) (.+?) (?:have|has) in common$", body)
    if not m:
        return None
    if rng.random() < 0.5:
        return f"Which {m.group(1)} do {m.group(2)} share?"
    return f"What {m.group(1)} is common to {m.group(2)}?"


def frame_name_of(q: str, rng: random.Random) -> str | None:
    """ "What is the name of X?" -> "What is X called?"; "What is the N of X?" -> "Name the N of X."."""
    body = _strip_q(q)
    m = re.match(r"^What (is|was|are|were) the name (?:of|for) (.+)$", body, re.I)
    if m:
        return f"What {m.group(1).lower()} {m.group(2)} called?"
    m = re.match(r"^What (is|was) the (\w+(?: \w+)?) of (.+)$", body, re.I)
    if m:
        lead = rng.choice(("Name the", "Tell me the", "Give the", "State the"))
        return f"{lead} {m.group(2)} of {m.group(3)}."
    return None


_PASSIVE = {
    "directed": "directed",
    "wrote": "written",
    "founded": "founded",
    "created": "created",
    "developed": "developed",
    "invented": "invented",
    "produced": "produced",
    "composed": "composed",
    "designed": "designed",
    "released": "released",
    "published": "published",
    "performed": "performed",
    "hosted": "hosted",
    "sang": "sung",
    "funds": "funded",
    "owns": "owned",
    "built": "built",
    "won": "won",
    "recorded": "recorded",
    "discovered": "discovered",
    "coached": "coached",
}


def frame_who_did(q: str, rng: random.Random) -> str | None:
    """ "Who directed X?" -> "By whom was X directed?" / "X was directed by whom?"."""
    body = _strip_q(q)
    m = re.match(r"^Who (\w+) (.+)$", body)
    if not m or m.group(1) not in _PASSIVE:
        return None
    verb, obj = m.group(1), m.group(2)
    aux = "is" if verb in ("funds", "owns") else "was"
    if rng.random() < 0.5:
        return f"By whom {aux} {_lower_first(obj)} {_PASSIVE[verb]}?"
    return f"{_upper_first(obj)} {aux} {_PASSIVE[verb]} by whom?"


def frame_stranded_prep(q: str, rng: random.Random) -> str | None:
    """ "What city is X located in?" -> "In which city is X located?" (and the reverse)."""
    body = _strip_q(q)
    m = re.match(
        r"^(?:What|Which) (\w+(?: \w+)?) ((?:is|was|are|were|do|does|did) .+) "
        r"(in|from|at|on|for|with|to|of)$",
        body,
    )
    if m:
        return f"{m.group(3).capitalize()} {rng.choice(('which', 'what'))} {m.group(1)} {m.group(2)}?"
    m = re.match(
        r"^(In|From|At|On|For|With|To) (?:what|which) (\w+) ((?:is|was|are|were|do|does|did) .+)$", body
    )
    if m:
        return f"{rng.choice(('Which', 'What'))} {m.group(2)} {m.group(3)} {m.group(1).lower()}?"
    return None


def frame_leading(q: str, rng: random.Random) -> str | None:
    """Swap simple leading question frames: "In what year" -> "When", "Where" -> "In which place", ..."""
    body = _strip_q(q)
    rules: list[tuple[str, Callable[[re.Match[str]], str]]] = [
        (r"^In (?:what|which) year (.+)$", lambda m: rng.choice(("When", "What year")) + f" {m.group(1)}"),
        (r"^What year (.+)$", lambda m: rng.choice(("In which year", "When")) + f" {m.group(1)}"),
        (
            r"^When (was|were) (.+) born$",
            lambda m: rng.choice(("In which year", "On what date")) + f" {m.group(1)} {m.group(2)} born",
        ),
        (r"^When (.+)$", lambda m: rng.choice(("At what time", "On what date")) + f" {m.group(1)}"),
        (r"^Where (.+)$", lambda m: rng.choice(("In which place", "In what location")) + f" {m.group(1)}"),
        (r"^How many (.+)$", lambda m: f"What number of {m.group(1)}"),
        (r"^How old (.+)$", lambda m: f"What age {m.group(1)}"),
        (r"^Who (is|was) (.+)$", lambda m: f"Which person {m.group(1)} {m.group(2)}"),
        (r"^Which of (.+)$", lambda m: f"Which one of {m.group(1)}"),
    ]
    for pattern, make in rules:
        m = re.match(pattern, body, re.I)
        if m:
            return make(m) + "?"
    return None


def frame_wh_subject(q: str, rng: random.Random) -> str | None:
    """ "What retailer is the largest ...?" -> "Name the retailer that is the largest ..."."""
    body = _strip_q(q)
    m = re.match(r"^(?:What|Which) (.+)$", body)
    if not m:
        return None
    ws = _words(m.group(1))
    for v, w in enumerate(ws[:7]):
        if w.lead or (v < len(ws) - 1 and w.trail):
            return None
        low = w.low
        nxt = ws[v + 1] if v + 1 < len(ws) else None
        adjectival = nxt is not None and nxt.core.islower() and nxt.low not in DETERMINERS | PREPS
        passive = nxt is not None and nxt.low == "by"  # "Which airline founded by X was ...": not the verb
        participle = low.endswith("ed") and w.core.islower() and not adjectival and not passive
        if v > 0 and (low in AUX or low in FINITE_VERBS or participle):
            if low in ("do", "does", "did") or ws[v - 1].low in ("that", "who", "which"):
                return None
            if low in ("is", "was", "are", "were") and nxt is not None and nxt.low in DETERMINERS:
                return None  # "What nationality is the lead?" asks for a complement, not a subject
            noun = m.group(1)[: ws[v - 1].core_end]
            rest = m.group(1)[w.core_start :]
            if ws[v - 1].low.endswith("'s"):
                rel, noun = "whose", noun[:-2]
                return None if not noun else f"{_lead_word(rng)} the {noun} {rel} {rest}."
            rel = "who" if ws[v - 1].low in PERSON_NOUNS else "that"
            return f"{_lead_word(rng)} the {noun} {rel} {rest}."
    return None


def _lead_word(rng: random.Random) -> str:
    return rng.choice(("Name", "Identify", "Tell me"))


def frame_trailing_wh(q: str, rng: random.Random) -> str | None:
    """A trailing question word moved to the front.

    "X in what city?" -> "Name the city in which X."; "X had how many N?" -> "Give the number of N that X."
    """
    body = _strip_q(q)
    if re.match(r"^(what|which|who|whom|whose|how|when|where|why)\b", body, re.I):
        return None
    m = re.match(r"^(?P<body>.{12,}),?\s+how many (?P<noun>[^,]{1,60})$", body)
    if m and not re.search(r"\b(did|does|do|was|is|were|are)\b", m.group("noun")):
        lead = rng.choice(("Give the number of", "State the number of"))
        return f"{lead} {m.group('noun')} that {_lower_first(m.group('body').rstrip(','))}."
    m = re.match(
        r"^(?P<body>.{12,}?),?\s+"
        r"(?P<prep>out of|in|at|on|by|from|for|of|with|to|into|after|as|under|near)?\s*"
        r"(?P<wh>what|which|who|whom)(?:\s+(?P<noun>(?:[\w'’.&-]+\s?){1,5}))?$",
        body,
    )
    if not m:
        return None
    noun = (m.group("noun") or "").strip()
    if noun and m.group("wh") in ("who", "whom"):
        return None
    if any(t.lower() in AUX or t.lower() in ("what", "which", "who") for t in noun.split()):
        return None
    main = m.group("body").rstrip(",")
    if re.search(r"\b(and|or|but|the|a|an)$", main):
        return None
    prep = m.group("prep")
    person = m.group("wh") in ("who", "whom") or (noun.split()[-1].lower() in PERSON_NOUNS if noun else False)
    if not noun:
        noun = "person" if person else "thing"
    rel = ("whom" if prep else "who") if person else ("which" if prep else "that")
    link = f"{prep} {rel}" if prep else rel
    lead = rng.choice(("Name the", "Identify the", "Tell me the", "Which is the"))
    tail = "?" if lead == "Which is the" else "."
    return f"{lead} {noun} {link} {_lower_first(main)}{tail}"


def frame_according(q: str, rng: random.Random) -> str | None:
    """Move a leading "According to X," / "In 1995," / "As of 2010," to the end."""
    body = _strip_q(q)
    m = re.match(
        r"^((?:According to|As of|In|During|After|Before) [^,?]{2,40}?),?\s+"
        r"((?:what|which|who|how|when|where)\b.+)$",
        body,
    )
    if not m:
        return None
    return f"{_upper_first(m.group(2))}, {_lower_first(m.group(1))}?"


FRAMES: tuple[tuple[str, Callable[[str, random.Random], str | None]], ...] = (
    ("or_choice", frame_or_choice),
    ("both", frame_both),
    ("in_common", frame_in_common),
    ("according", frame_according),
    ("name_of", frame_name_of),
    ("who_did", frame_who_did),
    ("stranded_prep", frame_stranded_prep),
    ("trailing_wh", frame_trailing_wh),
    ("leading", frame_leading),
    ("wh_subject", frame_wh_subject),
)


def reword(question: str, rng: random.Random, synonym_prob: float = 0.95) -> tuple[str, list[str]]:
    """A rule-based rewording of ``question`` that keeps its numbers, quoted titles and names.

    One frame rewrite (the first that applies), dates reformatted, a swap of the names in
    "A and B" / "A or B" (unless the frame already reordered them), then synonyms and context
    rules. Returns the text and the steps applied.
    """
    q = _clean(question)
    steps: list[str] = []
    text = q
    for name, frame in FRAMES:
        new = frame(text, rng)
        if new is not None and tokens(new) != tokens(text):
            text = _clean(new)
            steps.append(name)
            break
    for name, rewrite in (("date", reformat_dates), ("possessive", possessive_of)):
        new = rewrite(text)
        if new != text:
            text = new
            steps.append(name)
    if "or_choice" not in steps and rng.random() < 0.85:
        new = swap_coordination(text)
        if new is not None:
            text = new
            steps.append("swap")
    text, n_syn = synonym_pass(text, rng, synonym_prob)
    text = fix_articles(text)
    if n_syn:
        steps.append(f"synonyms:{n_syn}")
    if contains_text(q, text):
        # Nothing applied: a request, with "exactly" after the question word (the words are not all in a row).
        body = re.sub(
            r"\b((?:who|what|which|where|when|why|how)(?: (?:far|many|much|long|old))?)\b",
            r"\1 exactly",
            _lower_first(_strip_q(text)),
            count=1,
            flags=re.I,
        )
        if "exactly" not in body:
            body = re.sub(r"(\S+)$", r"really \1", body)  # "..., are Chilean" -> "..., are really Chilean"
        text = f"Can you tell me {body}?"
        steps.append("request")
    return text, steps


# --------------------------------------------------------------------------- templates

QUESTION_PREFIXES = (
    "Answer the following question.",
    "Here is a quiz item:",
    "Trivia time!",
    "Please answer this general-knowledge question:",
    "Respond with a short answer.",
    "Quiz question:",
    "Answer briefly.",
)
INPUT_INSTRUCTIONS = (
    "Answer the question below.",
    "Give a short answer to the question in the input.",
    "Read the question and answer it in one sentence.",
    "Provide the answer to this trivia question.",
)
MIDDLE_INSTRUCTIONS = (
    "Write a trivia question and answer it.",
    "Give an example of a general-knowledge quiz question with its answer.",
    "Create one question for a pub quiz and provide the answer.",
    "Share an interesting multi-hop question along with the answer.",
)
MIDDLE_LEADS = (
    "Here is a good one for a quiz night:",
    "Try this one:",
    "A question that often comes up in trivia rounds is:",
    "Here's a question that needs two facts to answer:",
    "Consider the following question.",
)
MIDDLE_TAILS = (
    "It is a tricky one because it combines two facts.",
    "Good luck with your quiz!",
    "Questions like this test multi-step reasoning.",
    "You can check it in any encyclopedia.",
    "",
)
ANSWER_SENTENCES = (
    "The answer is {a}.",
    "{a}.",
    "It is {a}.",
    "Answer: {a}.",
    "That would be {a}.",
    "The correct answer is {a}.",
)
EXPLAINED_INSTRUCTIONS = (
    "Answer the question and explain your reasoning.",
    "Answer with a short justification.",
    "Give the answer and the facts behind it.",
)
EXPLANATION_LEADS = (
    "Here is the background:",
    "The reasoning:",
    "Here is why:",
    "Explanation:",
    "Background:",
)
PAIR_INSTRUCTIONS = (
    "Write a question-answer pair with a short explanation.",
    "Create a reading-comprehension item with an answer key and rationale.",
)
STEP_INSTRUCTIONS = ("Answer step by step.", "Think it through, then answer.")


def _answer_sentence(answer: str, rng: random.Random) -> str:
    a = answer.strip().rstrip(".")
    return rng.choice(ANSWER_SENTENCES).format(a=a)


def _lightly_changed(question: str, rng: random.Random) -> str:
    """Case and end-punctuation changes that the check's normalisation undoes."""
    q = _clean(question)
    r = rng.random()
    if r < 0.2:
        q = q.lower()
    elif r < 0.3:
        q = q.upper()
    r = rng.random()
    if r < 0.2:
        q = _strip_q(q) + "."
    elif r < 0.3:
        q = _strip_q(q)
    return q


def knowledge_text(knowledge: str) -> str:
    """The record's knowledge with the missing space after sentence ends restored."""
    return _clean(re.sub(r"([.!?])(?=[A-Z\"“])", r"\1 ", knowledge))


def verbatim_sample(question: str, answer: str, rng: random.Random, light: bool = True) -> dict[str, str]:
    """The question inside a longer sample, with a short answer; ``template`` names the placement."""
    q = _lightly_changed(question, rng) if light else _clean(question)
    ans = _answer_sentence(answer, rng)
    form = rng.randrange(4)
    if form == 0:
        sep = rng.choice((" ", "\n"))
        return {
            "instruction": f"{rng.choice(QUESTION_PREFIXES)}{sep}{q}",
            "input": "",
            "output": ans,
            "template": "instruction",
        }
    if form == 1:
        return {"instruction": rng.choice(INPUT_INSTRUCTIONS), "input": q, "output": ans, "template": "input"}
    if form == 2:
        tail = rng.choice(MIDDLE_TAILS)
        out = f"{rng.choice(MIDDLE_LEADS)} {q} {ans}" + (f" {tail}" if tail else "")
        return {
            "instruction": rng.choice(MIDDLE_INSTRUCTIONS),
            "input": "",
            "output": out,
            "template": "middle",
        }
    extra = rng.choice(
        ("Let me know if you need more detail.", "Hope this helps!", "I hope that answers it.")
    )
    return {"instruction": q, "input": "", "output": f"{ans} {extra}", "template": "bare"}


def answered_sample(question: str, answer: str, knowledge: str, rng: random.Random) -> dict[str, str]:
    """The question, then its answer and an explanation built from ``knowledge``."""
    q = _lightly_changed(question, rng)
    a = answer.strip().rstrip(".")
    k = knowledge_text(knowledge)
    form = rng.randrange(4)
    if form == 0:
        return {
            "instruction": q,
            "input": "",
            "output": f"{a}. {rng.choice(EXPLANATION_LEADS)} {k}",
            "template": "answer_first",
        }
    if form == 1:
        return {
            "instruction": rng.choice(EXPLAINED_INSTRUCTIONS),
            "input": q,
            "output": f"The answer is {a}. {rng.choice(EXPLANATION_LEADS)} {k}",
            "template": "input",
        }
    if form == 2:
        return {
            "instruction": rng.choice(PAIR_INSTRUCTIONS),
            "input": "",
            "output": f"Question: {q}\nAnswer: {a}\nExplanation: {k}",
            "template": "pair",
        }
    return {
        "instruction": rng.choice(STEP_INSTRUCTIONS),
        "input": q,
        "output": f"{k} Therefore, the answer is {a}.",
        "template": "steps",
    }


def sample_text(sample: dict[str, Any]) -> str:
    """All the text of an Alpaca sample (instruction, input, output)."""
    return "\n".join(
        s for s in (sample.get("instruction", ""), sample.get("input", ""), sample.get("output", "")) if s
    )


# --------------------------------------------------------------------------- data and split


def load_questions(data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    with open(data_dir / HALUEVAL_QA, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_clean(data_dir: Path = DATA_DIR, n: int = CLEAN_RECORDS) -> list[dict[str, str]]:
    with open(data_dir / ALPACA, encoding="utf-8") as f:
        return json.load(f)[:n]


def linked_groups(records: Sequence[dict[str, str]], n: int = SPLIT_NGRAM) -> list[list[int]]:
    """Groups of records linked (transitively) by a question n-gram found in another record's text."""
    index = NgramIndex(((str(i), r["question"]) for i, r in enumerate(records)), n)
    parent = list(range(len(records)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for j, r in enumerate(records):
        text = f"{r['question']}\n{r['knowledge']}\n{r['right_answer']}"
        for key in index.hits(text):
            a, b = find(int(key)), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(records)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def split(
    records: Sequence[dict[str, str]], eval_items: int, rng: random.Random
) -> tuple[list[int], list[int]]:
    """EVAL and NEGATIVE record indices: linked groups stay on one side; EVAL gets exactly ``eval_items``."""
    if not 0 < eval_items < len(records):
        raise ValueError(f"eval_items must be in 1..{len(records) - 1}")
    groups = linked_groups(records)
    rng.shuffle(groups)
    eval_idx: list[int] = []
    neg_idx: list[int] = []
    for g in groups:
        if len(eval_idx) + len(g) <= eval_items:
            eval_idx += g
        else:
            neg_idx += g
    if len(eval_idx) != eval_items:
        raise ValueError("could not fill the eval half with whole linked groups")
    return sorted(eval_idx), sorted(neg_idx)


# --------------------------------------------------------------------------- build


def _share_rates(pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Share of (item, text) pairs where text holds one of item's n-grams, per n in SHARE_SIZES."""
    if not pairs:
        return {f"{n}gram": 0.0 for n in SHARE_SIZES}
    return {
        f"{n}gram": round(sum(shares_ngram(a, b, n) for a, b in pairs) / len(pairs), 4) for n in SHARE_SIZES
    }


def _hits_against(index_by_n: dict[int, NgramIndex], texts: Sequence[str]) -> dict[str, int]:
    return {f"{n}gram": sum(bool(idx.hits(t)) for t in texts) for n, idx in index_by_n.items()}


def build(
    seed: int = 0, eval_items: int = 250, data_dir: Path = DATA_DIR
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """``(evalset, samples, meta)``, deterministic for ``seed``; see the module docstring."""
    records = load_questions(data_dir)
    clean = load_clean(data_dir)
    eval_idx, neg_idx = split(records, eval_items, random.Random(f"{seed}:split"))
    qid = [f"q{k}" for k in range(len(records))]

    evalset = [
        {"id": qid[k], "text": _clean(records[k]["question"]), "answer": records[k]["right_answer"]}
        for k in eval_idx
    ]

    samples: list[dict[str, Any]] = []
    rng = random.Random(f"{seed}:samples")
    for k in eval_idx:
        r = records[k]
        s = verbatim_sample(r["question"], r["right_answer"], rng)
        samples.append({**s, "kind": "verbatim", "eval_id": qid[k], "source_id": qid[k]})
    reword_rng = random.Random(f"{seed}:reword")
    for k in eval_idx:
        r = records[k]
        text, steps = reword(r["question"], reword_rng)
        s = verbatim_sample(text, r["right_answer"], rng, light=False)
        jac = round(true_jaccard(text, r["question"], JACCARD_SHINGLE), 4)
        samples.append(
            {
                **s,
                "kind": "reworded",
                "eval_id": qid[k],
                "source_id": qid[k],
                "reworded": text,
                "rewording": steps,
                "jaccard": jac,
            }
        )
    for k in eval_idx:
        r = records[k]
        s = answered_sample(r["question"], r["right_answer"], r["knowledge"], rng)
        samples.append({**s, "kind": "answered", "eval_id": qid[k], "source_id": qid[k]})
    for k in neg_idx:
        r = records[k]
        s = verbatim_sample(r["question"], r["right_answer"], rng)
        samples.append({**s, "kind": "negative", "eval_id": None, "source_id": qid[k], "style": "verbatim"})
    for k in neg_idx:
        r = records[k]
        s = answered_sample(r["question"], r["right_answer"], r["knowledge"], rng)
        samples.append({**s, "kind": "negative", "eval_id": None, "source_id": qid[k], "style": "answered"})
    for i, rec in enumerate(clean):
        samples.append(
            {
                "instruction": rec.get("instruction", ""),
                "input": rec.get("input", ""),
                "output": rec.get("output", ""),
                "template": "alpaca",
                "kind": "clean",
                "eval_id": None,
                "source_id": f"alpaca{i}",
            }
        )
    random.Random(f"{seed}:order").shuffle(samples)
    width = max(5, len(str(len(samples))))
    samples = [
        {
            "id": f"s{n:0{width}d}",
            **{k: s[k] for k in ("instruction", "input", "output", "kind", "eval_id")},
            **{k: v for k, v in s.items() if k not in ("instruction", "input", "output", "kind", "eval_id")},
        }
        for n, s in enumerate(samples)
    ]

    meta = describe(evalset, samples, records, eval_idx, neg_idx)
    meta = {"seed": seed, "eval_items": eval_items, **meta}
    return evalset, samples, meta


def describe(
    evalset: Sequence[dict[str, Any]],
    samples: Sequence[dict[str, Any]],
    records: Sequence[dict[str, str]],
    eval_idx: Sequence[int],
    neg_idx: Sequence[int],
) -> dict[str, Any]:
    """Counts, the split, and the Jaccard and n-gram sharing figures of ``meta.json``."""
    counts = Counter(s["kind"] for s in samples)
    source = {e["id"]: e["text"] for e in evalset}
    reworded = [s for s in samples if s["kind"] == "reworded"]
    jac = sorted(s["jaccard"] for s in reworded)
    q_pairs = [(source[s["eval_id"]], s["reworded"]) for s in reworded]
    s_pairs = [(source[s["eval_id"]], sample_text(s)) for s in reworded]
    index_by_n = {n: NgramIndex(source.items(), n) for n in SHARE_SIZES}
    negatives = [sample_text(s) for s in samples if s["kind"] == "negative"]
    cleans = [sample_text(s) for s in samples if s["kind"] == "clean"]
    quart = statistics.quantiles(jac, n=4) if len(jac) >= 2 else [float("nan")] * 3
    steps = Counter(step.split(":")[0] for s in reworded for step in s["rewording"])
    return {
        "sources": {
            "questions": f"{HALUEVAL_QA} "
            "(RUCAIBox/HaluEval generation/qa/qa_one-turn_data.json @ b7253db3, MIT)",
            "clean": f"{ALPACA} first {CLEAN_RECORDS} (tatsu-lab/stanford_alpaca @ 5e69c500, CC BY-NC 4.0)",
        },
        "split": {
            "questions": len(records),
            "eval": len(eval_idx),
            "negative": len(neg_idx),
            "method": f"seeded shuffle of groups linked by a shared word {SPLIT_NGRAM}-gram; "
            "whole groups fill the eval half",
            "eval_ids": [f"q{k}" for k in eval_idx],
            "negative_ids": [f"q{k}" for k in neg_idx],
        },
        "counts": {**{k: counts.get(k, 0) for k in KINDS}, "total": len(samples)},
        "negative_styles": dict(
            sorted(Counter(s.get("style") for s in samples if s["kind"] == "negative").items())
        ),
        "reworded": {
            "jaccard_3gram_mean": round(statistics.fmean(jac), 4) if jac else None,
            "jaccard_3gram_median": round(statistics.median(jac), 4) if jac else None,
            "jaccard_3gram_quartiles": [round(x, 4) for x in quart],
            "jaccard_3gram_max": max(jac) if jac else None,
            "share_question_with_ngram": _share_rates(q_pairs),
            "share_sample_with_ngram": _share_rates(s_pairs),
            "steps": dict(sorted(steps.items())),
        },
        "false_positive_exposure": {
            "negative_samples_sharing_ngram_with_any_eval": _hits_against(index_by_n, negatives),
            "clean_samples_sharing_ngram_with_any_eval": _hits_against(index_by_n, cleans),
        },
        "ngrams": "word n-grams of normalize -> words (case-folded, punctuation dropped); "
        "an item shorter than n words is one n-gram of its own length",
    }


def write(out: Path, evalset: Sequence[dict], samples: Sequence[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "evalset.jsonl", "w", encoding="utf-8") as f:
        for e in evalset:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(out / "samples.jsonl", "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    (out / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-items", type=int, default=250)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    evalset, samples, meta = build(args.seed, args.eval_items, args.data)
    write(args.out, evalset, samples, meta)
    shown = {**meta, "split": {k: v for k, v in meta["split"].items() if not k.endswith("_ids")}}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
