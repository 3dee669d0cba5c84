"""Seeded text perturbations that turn a sample into a near-duplicate, and the exact Jaccard of the pair.

Every operator takes ``(text, rng)`` (plus a vocabulary for :func:`word_insert`)
and returns a changed copy of ``text``, or ``None`` when it cannot apply (a
one-word text has nothing to swap). Randomness comes only from the
``random.Random`` passed in, so a seed reproduces a data set exactly.

:func:`true_jaccard` measures a pair on exactly the shingle sets the
NEAR_DUPLICATE check hashes: ``normalize`` → ``words`` → word n-grams, the
whole token tuple when a text has fewer than n words. Only the standard
library and ``curator.domain.normalize`` are imported here.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence

from curator.domain.normalize import normalize, words

# --------------------------------------------------------------------------- shingles and exact Jaccard

Shingle = tuple[str, ...]


def shingles(text: str, size: int) -> set[Shingle]:
    """The word ``size``-gram set of ``text`` as the NEAR_DUPLICATE check sees it."""
    toks = words(normalize(text))
    if not toks:
        return set()
    n = min(size, len(toks))
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def jaccard_of_sets(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets are identical (1.0)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def true_jaccard(a_text: str, b_text: str, shingle_size: int) -> float:
    """Exact Jaccard similarity of the two texts' word-shingle sets."""
    return jaccard_of_sets(shingles(a_text, shingle_size), shingles(b_text, shingle_size))


def similar_pairs(sets: Sequence[set], threshold: float) -> dict[tuple[int, int], float]:
    """Every pair (i < j) with exact Jaccard ≥ ``threshold``, and its Jaccard.

    Exact all-pairs similarity join with prefix filtering: under one global
    order of shingles (rarest first), two sets with Jaccard ≥ t must share a
    shingle among the first ``|A| - ceil(t·|A|) + 1`` of each, so only those
    pairs are verified. Empty sets are left out (they never occur here).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    freq: dict[Shingle, int] = {}
    for s in sets:
        for sh in s:
            freq[sh] = freq.get(sh, 0) + 1
    postings: dict[Shingle, list[int]] = {}
    out: dict[tuple[int, int], float] = {}
    for j, s in enumerate(sets):
        if not s:
            continue
        ordered = sorted(s, key=lambda sh: (freq[sh], sh))
        prefix = ordered[: len(s) - math.ceil(threshold * len(s) - 1e-9) + 1]
        candidates: set[int] = set()
        for sh in prefix:
            bucket = postings.setdefault(sh, [])
            candidates.update(bucket)
            bucket.append(j)
        for i in candidates:
            jac = jaccard_of_sets(sets[i], s)
            if jac >= threshold:
                out[(i, j)] = jac
    return out


# --------------------------------------------------------------------------- tokens

# A text as alternating runs: whitespace runs are kept verbatim so that an edit
# never reflows the rest of the text.
_RUNS = re.compile(r"\s+|\S+")
_ALPHA_WORD = re.compile(r"[A-Za-z]{2,}")
_END_PUNCT = ".,;:!?"
LETTERS = string.ascii_lowercase


def _runs(text: str) -> list[str]:
    return _RUNS.findall(text)


def _word_positions(runs: Sequence[str]) -> list[int]:
    return [i for i, r in enumerate(runs) if not r.isspace()]


def _pick_word(runs: Sequence[str], rng: random.Random, pattern: re.Pattern[str] = _ALPHA_WORD) -> int | None:
    """Index of a random non-space run that contains ``pattern``, or None."""
    eligible = [i for i in _word_positions(runs) if pattern.search(runs[i])]
    return rng.choice(eligible) if eligible else None


# --------------------------------------------------------------------------- operators


def typo(text: str, rng: random.Random) -> str | None:
    """Swap, drop, insert or substitute one letter inside a word (always changes the word's token)."""
    runs = _runs(text)
    w = _pick_word(runs, rng)
    if w is None:
        return None
    word = runs[w]
    m = _ALPHA_WORD.search(word)
    # Edit the first run of ≥ 2 letters of the chosen chunk, so punctuation is never touched.
    lo, hi = m.span()
    letters = [i for i in range(lo, hi)]
    kinds = ["drop", "insert", "substitute"]
    swappable = [i for i in letters[:-1] if word[i].lower() != word[i + 1].lower()]
    if swappable:
        kinds.append("swap")
    kind = rng.choice(kinds)
    if kind == "swap":
        i = rng.choice(swappable)
        new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == "drop":
        i = rng.choice(letters)
        new = word[:i] + word[i + 1 :]
    elif kind == "insert":
        i = rng.randint(lo, hi)
        new = word[:i] + rng.choice(LETTERS) + word[i:]
    else:
        i = rng.choice(letters)
        new = word[:i] + rng.choice([c for c in LETTERS if c != word[i].lower()]) + word[i + 1 :]
    runs[w] = new
    return "".join(runs)


def word_drop(text: str, rng: random.Random) -> str | None:
    """Delete one word (with the whitespace before it)."""
    runs = _runs(text)
    pos = _word_positions(runs)
    if len(pos) < 2:
        return None
    w = rng.choice(pos)
    if w > 0 and runs[w - 1].isspace():
        del runs[w - 1 : w + 1]
    elif w + 1 < len(runs) and runs[w + 1].isspace():
        del runs[w : w + 2]
    else:
        del runs[w]
    return "".join(runs)


def word_insert(text: str, rng: random.Random, vocabulary: Sequence[str]) -> str | None:
    """Insert one word drawn from ``vocabulary`` before a random word (or at the end)."""
    if not vocabulary:
        return None
    runs = _runs(text)
    pos = _word_positions(runs)
    word = rng.choice(vocabulary)
    if not pos:
        return (text + " " + word) if text else word
    k = rng.randint(0, len(pos))
    if k == len(pos):
        runs.insert(pos[-1] + 1, " " + word)
    else:
        runs.insert(pos[k], word + " ")
    return "".join(runs)


def word_swap(text: str, rng: random.Random) -> str | None:
    """Swap two adjacent words that differ after normalisation."""
    runs = _runs(text)
    pos = _word_positions(runs)
    pairs = [(a, b) for a, b in itertools.pairwise(pos) if normalize(runs[a]) != normalize(runs[b])]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    runs[a], runs[b] = runs[b], runs[a]
    return "".join(runs)


def casing(text: str, rng: random.Random) -> str | None:
    """Change the case of one word or of the whole text (invisible after normalisation)."""
    if rng.random() < 0.2:
        options = [t for t in (text.upper(), text.lower(), text.capitalize()) if t != text]
        return rng.choice(options) if options else None
    runs = _runs(text)
    w = _pick_word(runs, rng, re.compile(r"[A-Za-z]"))
    if w is None:
        return None
    word = runs[w]
    options = [t for t in (word.upper(), word.lower(), word.capitalize(), word.swapcase()) if t != word]
    if not options:
        return None
    runs[w] = rng.choice(options)
    return "".join(runs)


def punctuation(text: str, rng: random.Random) -> str | None:
    """Replace, remove or add one mark of .,;:!? at a word's end (word tokens stay the same)."""
    runs = _runs(text)
    pos = _word_positions(runs)
    if not pos:
        return None
    ended = [i for i in pos if runs[i][-1] in _END_PUNCT]
    kind = rng.choice(["replace", "remove", "add"] if ended else ["add"])
    if kind == "add":
        w = rng.choice(pos)
        runs[w] = runs[w] + rng.choice(_END_PUNCT)
    else:
        w = rng.choice(ended)
        body, mark = runs[w][:-1], runs[w][-1]
        if kind == "remove" and body:
            runs[w] = body
        else:
            runs[w] = body + rng.choice([c for c in _END_PUNCT if c != mark])
    return "".join(runs)


BOILERPLATE_PREFIXES = (
    "Sure! Here is",
    "Sure! Here is the answer:",
    "Certainly! Here's",
    "Certainly! Here's what you asked for:",
    "Great question!",
    "Of course!",
)
BOILERPLATE_SUFFIXES = (
    "I hope this helps!",
    "Hope this helps!",
    "Let me know if you have any other questions.",
)


def boilerplate(text: str, rng: random.Random) -> str | None:
    """Add an assistant-style boilerplate prefix or suffix."""
    if rng.random() < 0.6:
        return f"{rng.choice(BOILERPLATE_PREFIXES)} {text}" if text else None
    return f"{text} {rng.choice(BOILERPLATE_SUFFIXES)}" if text else None


# A sentence ends at .!? followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[ \t]+|\n+")


def sentence_reorder(text: str, rng: random.Random) -> str | None:
    """Swap two sentences (or lines) that differ, keeping the separators in place."""
    parts = _SENTENCE_END.split(text)
    seps = _SENTENCE_END.findall(text)
    idx = [i for i, p in enumerate(parts) if p.strip()]
    pairs = [
        (a, b) for k, a in enumerate(idx) for b in idx[k + 1 :] if normalize(parts[a]) != normalize(parts[b])
    ]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    parts[a], parts[b] = parts[b], parts[a]
    out = [parts[0]]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += [sep, part]
    return "".join(out)


Operator = Callable[[str, random.Random], "str | None"]

# Name → relative weight. Edits that change word tokens dominate, as in LLM paraphrase noise.
OPERATOR_WEIGHTS: dict[str, float] = {
    "typo": 3.0,
    "word_drop": 2.0,
    "word_insert": 2.0,
    "word_swap": 2.0,
    "casing": 1.0,
    "punctuation": 1.0,
    "boilerplate": 0.5,
    "sentence_reorder": 0.5,
}


def operators(vocabulary: Sequence[str]) -> dict[str, Operator]:
    return {
        "typo": typo,
        "word_drop": word_drop,
        "word_insert": lambda t, r: word_insert(t, r, vocabulary),
        "word_swap": word_swap,
        "casing": casing,
        "punctuation": punctuation,
        "boilerplate": boilerplate,
        "sentence_reorder": sentence_reorder,
    }


def vocabulary_from(texts: Iterable[str], min_count: int = 2, limit: int = 5000) -> list[str]:
    """The corpus' most frequent alphabetic words (≥ ``min_count`` uses), sorted, for :func:`word_insert`."""
    counts: dict[str, int] = {}
    for t in texts:
        for w in re.findall(r"[A-Za-z]+", t):
            w = w.lower()
            counts[w] = counts.get(w, 0) + 1
    common = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return sorted(common[:limit])


# --------------------------------------------------------------------------- records


def perturb_text(
    text: str,
    rng: random.Random,
    n_ops: int,
    ops: Mapping[str, Operator],
    weights: Mapping[str, float] | None = None,
) -> tuple[str, list[str]]:
    """Apply ``n_ops`` operators (drawn by weight; an inapplicable one is redrawn) and name those applied."""
    weights = weights or OPERATOR_WEIGHTS
    names = [n for n in ops if weights.get(n, 0) > 0]
    w = [weights[n] for n in names]
    applied: list[str] = []
    for _ in range(n_ops):
        for _attempt in range(20):
            name = rng.choices(names, w)[0]
            new = ops[name](text, rng)
            if new is not None and new != text:
                text = new
                applied.append(name)
                break
    return text, applied


def perturb_record(
    record: Mapping[str, str],
    rng: random.Random,
    n_ops: int,
    ops: Mapping[str, Operator],
    instruction_prob: float = 0.3,
    weights: Mapping[str, float] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """A perturbed copy of an Alpaca record: ``n_ops`` edits over the output and, sometimes, the instruction.

    With probability ``instruction_prob`` the instruction is also eligible;
    each edit then lands on a field in proportion to its word count. The
    input is left alone. Returns the copy and the operators applied.
    """
    fields = ["output"]
    if rng.random() < instruction_prob or len(record.get("output", "").split()) < 2:
        fields.append("instruction")
    sizes = [max(1, len(record.get(f, "").split())) for f in fields]
    per_field = dict.fromkeys(fields, 0)
    for _ in range(n_ops):
        per_field[rng.choices(fields, sizes)[0]] += 1
    copy = dict(record)
    applied: list[str] = []
    for f in fields:
        if per_field[f]:
            copy[f], names = perturb_text(copy.get(f, ""), rng, per_field[f], ops, weights)
            applied += names
    return copy, applied


def edit_count(n_words: int, rng: random.Random, max_rate: float) -> int:
    """Edits for a text of ``n_words``: a rate drawn uniformly from [0, max_rate]; at least one edit.

    Stochastic rounding keeps short texts from always getting exactly one edit.
    """
    expected = rng.uniform(0.0, max_rate) * n_words
    return max(1, int(expected + rng.random()))
