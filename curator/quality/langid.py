"""Language identification without a downloaded model: Unicode scripts, then character n-grams.

Texts in a script that belongs to few languages (Han, kana, Hangul, Greek, Thai,
Hebrew, Cyrillic, Arabic, Devanagari) are named by script. Latin-script text is
scored by a naive Bayes model over character 2- and 3-grams (words padded
with spaces), whose profiles are counted from a small hand-written seed corpus
(``models/quality/langid_seed/*.txt``: the same 20-odd everyday sentences in
each language) and shipped as ``models/quality/langid.json``.

Hand-written lists of frequent function words per language (:data:`STOPWORDS`)
check the n-gram guess: a guess is *confident* when a script decides it, when
the function words name the same language, or, with too few function words to
say, when the n-gram margin (mean log-likelihood ratio per n-gram between the
best and second-best language) is large. It is built for one question, "is the
response in the prompt's language?", so it abstains (``None``) on text with
too few letters.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.quality.text import word_set

NGRAMS = (2, 3)
ALPHA = 0.5
MAX_CHARS = 300
MIN_LETTERS = 25  # Latin, Cyrillic, ...: fewer letters than this and the model abstains
MIN_IDEOGRAPHS = 8  # Han, kana, Hangul: each character carries about a word

NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "sv": "Swedish",
    "pl": "Polish",
    "tr": "Turkish",
    "id": "Indonesian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "el": "Greek",
    "th": "Thai",
    "he": "Hebrew",
    "cyrillic": "a Cyrillic-script language",
    "arabic": "an Arabic-script language",
    "devanagari": "a Devanagari-script language",
}

# Frequent function words that are rare in the other languages listed (hand-written; ambiguous words
# such as "a", "de", "in", "die" or "is" are left out on purpose).
STOPWORDS: dict[str, frozenset[str]] = {
    lang: word_set(ws)
    for lang, ws in {
        "en": "the and of to is that with for this are was were have has be by from which what you they "
        "will would should can could not but or an it its their there been these those when how about",
        "es": "el los las del y que es por para con una un como pero más este esta está son fue muy "
        "también sus ser hay cuando donde porque lo le les se nos mi tu al sin sobre entre hasta",
        "fr": "le les des du et est que qui pour pas dans une un sur avec ce cette sont au aux mais "
        "ou il elle nous vous ils leur être était fait comme plus très aussi je tu ne se",
        "de": "der die das und ist nicht mit den dem des ein eine einen zu auf für von sich auch "
        "wir ich sie es aber oder wenn wie nach bei aus sind war hat haben noch nur über",
        "it": "il lo gli della delle dei che è per non con una un sono come ma anche più questo "
        "questa nel nella sul alla del al ci si mi ha hanno essere era molto quando",
        "pt": "o os as da das do dos e é que não com uma um para por mais como mas ao à são foi "
        "muito também seu sua ele ela nós você eles isso este esta em no na",
        "nl": "de het een en is van dat niet met voor op zijn er aan ook als maar om bij naar "
        "wordt worden ik je hij zij wij u ze dit deze die was heeft hebben nog wel",
        "sv": "och är att det som en ett på med för av inte till om har jag du han hon vi de "
        "den var men eller när från så också kan ska skulle hade efter där",
        "pl": "i w na się nie z że jest do to jak ale o co po od za dla tak jego jej są był "
        "była przez tylko już może przy też bardzo gdy oraz czy który która",
        "tr": "ve bir bu da de için ile çok ne daha ama gibi olarak olan var yok en mi mı her "
        "şey ben sen o biz siz onlar değil kadar sonra önce göre",
        "id": "dan yang di ini itu dengan untuk dari tidak ke ada akan pada juga dalam saya kami "
        "mereka atau oleh karena bisa sudah lebih seperti telah adalah bahwa",
    }.items()
}
MIN_STOPWORD_HITS = 3
AGREED_MARGIN = 0.05  # n-grams and function words name the same language: a small margin will do
NGRAM_ONLY_MARGIN = 0.3  # too few function words to say: the n-grams alone must be clear

# (first code point, last code point, script)
_SCRIPTS = (
    (0x0041, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),
    (0x0370, 0x03FF, "el"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "he"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "th"),
    (0x3040, 0x30FF, "kana"),
    (0x4E00, 0x9FFF, "han"),
    (0x3400, 0x4DBF, "han"),
    (0xAC00, 0xD7AF, "ko"),
    (0x1100, 0x11FF, "ko"),
)
_NON_LETTERS = re.compile(r"[^\w]+|[\d_]+")


def script_counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ch in text:
        if not ch.isalpha():
            continue
        cp = ord(ch)
        for lo, hi, script in _SCRIPTS:
            if lo <= cp <= hi:
                counts[script] += 1
                break
        else:
            counts["other"] += 1
    return counts


def ngrams(text: str) -> Counter[str]:
    """Character n-grams of the lower-cased words of ``text``, each word padded with spaces."""
    padded = " " + " ".join(_NON_LETTERS.sub(" ", text.lower()).split()) + " "
    out: Counter[str] = Counter()
    for n in NGRAMS:
        out.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    out.pop(" ", None)
    out.pop("  ", None)
    return out


@dataclass(frozen=True, slots=True)
class Guess:
    language: str
    margin: float  # mean log-likelihood ratio per n-gram to the runner-up; inf for a script decision
    letters: int
    confident: bool = True
    method: str = "script"  # "script", "words" (n-grams and function words agree) or "ngrams"

    @property
    def name(self) -> str:
        return NAMES.get(self.language, self.language)


class LanguageIdentifier:
    def __init__(self, profiles: dict[str, dict[str, int]]) -> None:
        self.languages = sorted(profiles)
        vocab = sorted({g for p in profiles.values() for g in p})
        self._index = {g: i for i, g in enumerate(vocab)}
        counts = np.zeros((len(vocab), len(self.languages)), dtype=np.float64)
        for j, lang in enumerate(self.languages):
            for g, c in profiles[lang].items():
                counts[self._index[g], j] = c
        totals = counts.sum(axis=0) + ALPHA * (len(vocab) + 1)
        self._logp = np.log((counts + ALPHA) / totals)
        self._unseen = np.log(ALPHA / totals)

    @classmethod
    def load(cls, path: Path) -> LanguageIdentifier:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["profiles"])

    def identify(self, text: str) -> Guess | None:
        """The language of ``text``, or None when there are too few letters to say."""
        text = text[: MAX_CHARS * 3]
        scripts = script_counts(text)
        total = sum(scripts.values())
        if total < MIN_IDEOGRAPHS:
            return None
        script, count = scripts.most_common(1)[0]
        if total < MIN_LETTERS and not (script in ("han", "kana", "ko") and total >= MIN_IDEOGRAPHS):
            return None
        if count < 0.6 * total:
            return None  # mixed scripts: no single answer
        if script == "han":
            return Guess("ja" if scripts["kana"] >= 0.1 * total else "zh", math.inf, total)
        if script == "kana":
            return Guess("ja", math.inf, total)
        if script == "other":
            return None
        if script != "latin":
            return Guess(script, math.inf, total)
        grams = ngrams(text[:MAX_CHARS])
        n = sum(grams.values())
        if not n:
            return None
        known = [(self._index[g], c) for g, c in grams.items() if g in self._index]
        unseen = n - sum(c for _, c in known)
        scores = unseen * self._unseen
        if known:
            rows, weights = zip(*known, strict=True)
            scores = scores + np.asarray(weights, dtype=np.float64) @ self._logp[list(rows)]
        order = np.argsort(-scores)
        best, second = int(order[0]), int(order[1])
        language, margin = self.languages[best], float(scores[best] - scores[second]) / n
        by_words = _stopword_guess(text)
        if by_words is None:
            confident, method = margin >= NGRAM_ONLY_MARGIN, "ngrams"
        elif by_words == language:
            confident, method = margin >= AGREED_MARGIN, "words"
        else:
            language, confident, method = by_words, False, "words"
        return Guess(language, margin, total, confident, method)


def _stopword_guess(text: str) -> str | None:
    """The language when function words settle it: enough hits, at least twice the runner-up's."""
    ws = _NON_LETTERS.sub(" ", text[: MAX_CHARS * 3]).split()
    # Capitalised words are left out: names ("Les 400 Coups", "La Banquise") say little of the language.
    lower = [w for w in ws if w.islower()]
    hits = sorted(((sum(1 for w in lower if w in sw), lang) for lang, sw in STOPWORDS.items()), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    if best >= MIN_STOPWORD_HITS and best >= 2 * second and best >= 0.15 * len(ws):
        return lang
    return None


def build_profiles(seed_dir: Path) -> dict[str, dict[str, int]]:
    """n-gram counts per language from ``<lang>.txt`` files."""
    profiles = {}
    for path in sorted(Path(seed_dir).glob("*.txt")):
        profiles[path.stem] = dict(sorted(ngrams(path.read_text(encoding="utf-8")).items()))
    return profiles


def write_profiles(seed_dir: Path, out: Path) -> dict[str, dict[str, int]]:
    profiles = build_profiles(seed_dir)
    document = {
        "about": "character 2/3-gram counts per language, from models/quality/langid_seed (hand-written)",
        "ngrams": list(NGRAMS),
        "profiles": profiles,
    }
    Path(out).write_text(json.dumps(document, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return profiles


def languages_of(guesses: Iterable[Guess | None]) -> set[str]:
    return {g.language for g in guesses if g is not None}
