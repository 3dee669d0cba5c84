"""Small text helpers shared by the rules, grounding and the classifier: words, sentences, stems."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# A sentence ends at . ! ? (or a run of them) followed by space and a capital, digit, quote or
# bracket, or at a line break; abbreviations of one or two letters ("e.g.", "Dr.", "U.S.") do not end one.
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Z][a-z]\.)(?<!\b[A-Za-z]\.)(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[A-Z0-9])|\n+"
)


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, as a set (for word lists written as prose)."""
    return frozenset(text.split())


# Function words: never evidence of content.
FUNCTION_WORDS = word_set(
    """
    a an the and or but nor so yet of in on at to for with from by as into onto upon about above below
    over under between among through during before after since until than then that this these those
    which who whom whose what when where why how whether if because while although though unless
    is are was were be been being am do does did doing have has had having will would shall should
    can could may might must it its it's he she they them their theirs his her hers him we us our
    ours you your yours i me my mine not no also very just only too such some any each every all both
    either neither other another there here one ones own same more most much many few less least
    out up down off again further once s t
    """
)

NUMBER = re.compile(
    r"(?<![\w.])[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-−]?\d+(?:\.\d+)?(?![\w])"
)


def words(text: str) -> list[str]:
    return WORD.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences (and lines) of ``text``, stripped, empty ones left out."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def fold(word: str) -> str:
    """Case-folded, accents kept; curly apostrophes made straight."""
    return word.replace("’", "'").casefold()


def stem(word: str) -> str:
    """A light suffix stripper: enough to match "planets" with "planet" and "founded" with "founding"."""
    w = fold(word)
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ing", "ies", "ied", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            w = w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return w


def content_words(text: str) -> list[str]:
    """Words of ``text`` that carry content: not function words, not pure numbers."""
    return [w for w in words(text) if fold(w) not in FUNCTION_WORDS and not w.isdigit()]


def number_value(token: str) -> float | None:
    """The value of a number as written ("1,200", "-3.5", "−2"), or None."""
    t = token.replace(",", "").replace("−", "-")
    try:
        return float(t)
    except ValueError:
        return None


def letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
