"""The fastText quality classifier: prompt + response in, P(good), P(hallucinated), P(defective) out.

fastText sees bags of words and word bigrams, so the text it is given carries,
besides the words, a few marker tokens for what a bag of words cannot see: the
response's length, whether it ends a sentence, how much of it shares words with
the prompt (an answer to another prompt shares almost none), and how many
numbers, capitalised names and first-person AI disclaimers it has. The same
:func:`fasttext_text` builds training and inference inputs.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curator.quality.lexicon import REFUSAL_ANYWHERE
from curator.quality.text import FUNCTION_WORDS, NUMBER, WORD, fold, stem, words

LABELS = ("good", "hallucinated", "defective")
MAX_PROMPT_WORDS = 64
MAX_RESPONSE_WORDS = 256

_KEEP_FUNCTION_WORDS = frozenset(
    {
        "i",
        "my",
        "me",
        "not",
        "no",
        "can",
        "cannot",
        "however",
        "would",
        "could",
        "may",
        "might",
        "you",
        "your",
    }
)
_ENDS_SENTENCE = re.compile(r"[.!?…\"')\]`*]\s*$")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")


def _bin(value: float, edges: Sequence[float]) -> int:
    return sum(1 for e in edges if value >= e)


class IdentityMask:
    """Replaces words that name a group of people with ``__group`` before the classifier sees them.

    A classifier trained on a few thousand samples learns weights for group names by accident
    (they are rare), so a sample could score worse for naming a group. Masking them, at training
    and at run time alike, makes the classifier blind to which group is named. The terms
    (``identity_terms.json``) come from the HolisticBias descriptors of the protected axes and
    its gendered nouns, plus :data:`curator.quality.lexicon.IDENTITY_TERMS`.
    """

    MAX_WORDS = 4

    def __init__(self, terms: Sequence[str]) -> None:
        self.phrases = {tuple(words(t.casefold())) for t in terms if words(t)}
        self.lengths = sorted({len(p) for p in self.phrases}, reverse=True)

    @classmethod
    def load(cls, path: Path) -> IdentityMask:
        return cls(json.loads(Path(path).read_text(encoding="utf-8"))["terms"])

    def apply(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in self.lengths:
                if tuple(tokens[i : i + n]) in self.phrases:
                    out.append("__group")
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def blank(self, text: str) -> str:
        """``text`` with every group name cut out and all else (case, punctuation, layout) kept: the
        input of a model that reads raw text rather than a word list."""
        found = list(WORD.finditer(text))
        tokens = [fold(m.group(0)) for m in found]
        out: list[str] = []
        start = i = 0
        while i < len(tokens):
            for n in self.lengths:
                if i + n <= len(tokens) and tuple(tokens[i : i + n]) in self.phrases:
                    out.append(text[start : found[i].start()])
                    start = found[i + n - 1].end()
                    i += n
                    break
            else:
                i += 1
        out.append(text[start:])
        return "".join(out)


NO_MASK = IdentityMask(())


def fasttext_text(prompt: str, response: str, mask: IdentityMask = NO_MASK) -> str:
    """One line of classifier input: prompt words marked ``q_``, response words, then marker tokens."""
    p_words = mask.apply([fold(w) for w in words(prompt)])
    r_words = mask.apply([fold(w) for w in words(response)])
    p_content = {stem(w) for w in p_words if w not in FUNCTION_WORDS}
    r_content = [stem(w) for w in r_words if w not in FUNCTION_WORDS]
    overlap = sum(1 for w in r_content if w in p_content) / max(len(r_content), 1)
    numbers = NUMBER.findall(response)
    prompt_numbers = set(NUMBER.findall(prompt))
    new_numbers = sum(1 for n in numbers if n not in prompt_numbers)
    names = _CAPITALISED.findall(response)
    prompt_lower = prompt.casefold()
    new_names = sum(1 for n in names if n.casefold() not in prompt_lower)
    markers = [
        f"__len{_bin(math.log2(len(r_words) + 1), (1, 2, 3, 4, 5, 6, 7, 8, 9))}",
        f"__plen{_bin(math.log2(len(p_words) + 1), (2, 3, 4, 5, 6, 7))}",
        f"__ov{_bin(overlap, (0.01, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7))}",
        f"__num{_bin(len(numbers), (1, 2, 4, 8, 16))}",
        f"__newnum{_bin(new_numbers, (1, 2, 4, 8))}",
        f"__cap{_bin(len(names) / max(len(r_words), 1), (0.01, 0.03, 0.06, 0.1, 0.2))}",
        f"__newcap{_bin(new_names, (1, 2, 4, 8, 16))}",
        "__end" if _ENDS_SENTENCE.search(response) else "__noend",
        "__selfref" if REFUSAL_ANYWHERE.search(response) else "__noselfref",
    ]
    keep = _KEEP_FUNCTION_WORDS
    q = " ".join("q_" + w for w in p_words[:MAX_PROMPT_WORDS] if w not in FUNCTION_WORDS or w in keep)
    r = " ".join(w for w in r_words[:MAX_RESPONSE_WORDS] if w not in FUNCTION_WORDS or w in keep)
    return f"{q} {r} {' '.join(markers)}".replace("\n", " ")


class QualityClassifier:
    """A quantised fastText model (``.ftz``), loaded once, thread-safe to call."""

    def __init__(self, path: Path, mask_path: Path | None = None) -> None:
        self.path = Path(path)
        self.mask_path = mask_path
        self.mask = NO_MASK
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                import fasttext

                fasttext.FastText.eprint = lambda *args, **kwargs: None  # no deprecation chatter on stderr
                if self.mask_path is not None:
                    self.mask = IdentityMask.load(self.mask_path)
                self._model = fasttext.load_model(str(self.path))
            return self._model

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Rows of probabilities in :data:`LABELS` order, one per (prompt, response)."""
        return self.predict_texts(self.texts(pairs))

    def texts(self, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """The input lines of (prompt, response) pairs, group names masked (shared by both classifiers
        and the linear model, so a batch builds them once)."""
        self.load()
        return [fasttext_text(p, r, self.mask) for p, r in pairs]

    def predict_texts(self, texts: Sequence[str]) -> np.ndarray:
        return predict_texts(self.load(), texts)


def predict_texts(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Label probabilities in :data:`LABELS` order.

    Calls ``model.f.predict`` once per text: the wrapper's ``predict`` fails on a string under
    numpy 2, and ``multilinePredict`` of fasttext-wheel 0.9.2 returns the top probability for
    every label.
    """
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
    index = {f"__label__{name}": i for i, name in enumerate(LABELS)}
    predict = model.f.predict
    for row, text in enumerate(texts):
        for p, label in predict(text, len(LABELS), 0.0, "strict"):
            if label in index:
                out[row, index[label]] = p
    return out
