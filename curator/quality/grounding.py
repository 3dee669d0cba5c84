"""Grounding: what a response says that the sample's context does not support.

For a response with context (retrieved passages, a source document), three
kinds of evidence, all quoted back to the reviewer:

* **content words** of the response whose stem appears nowhere in the context;
* **numbers** whose value the context never states;
* **named entities** (runs of capitalised words, and single capitalised words
  that do not open a sentence) with a word the context lacks;

and one measure of **sentence support**: each response sentence's cosine
similarity (all-MiniLM-L6-v2, the shared embedder) to its best context
sentence, and how much adding the response to the prompt moves it towards the
context. A logistic model over these (``models/quality/calibration.json``,
fitted on held-out data, see MODEL_CARD.md) turns them into ``grounding``, the
probability that the response is supported.

Words of the prompt count as support for nothing: a response that restates a
question's premise is no better grounded for it. They are only left out of the
quoted spans when the context supports them too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from curator.quality.text import FUNCTION_WORDS, NUMBER, fold, number_value, sentences, stem, words

Encode = Callable[[Sequence[str]], np.ndarray]

MAX_CONTEXT_SENTENCES = 64
MAX_RESPONSE_SENTENCES = 16
MAX_SPANS_QUOTED = 5

_NAME_JOINERS = frozenset({"of", "the", "de", "von", "van", "da", "del", "la", "le"})
_TOKEN = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*|\S", re.UNICODE)

# Features the calibration model reads, in order.
FEATURES = (
    "unsupported_words",  # log1p of content words the context lacks
    "unsupported_fraction",  # of the response's content words
    "unsupported_entities",  # log1p
    "unsupported_numbers",  # log1p
    "min_sentence_support",  # lowest best-cosine of a response sentence to a context sentence
    "support_gain",  # best cosine of prompt + response to the context, minus the prompt's alone
    "prompt_echo",  # fraction of the response's content words taken from the prompt
)


@dataclass(slots=True)
class GroundingReport:
    """Features of one response against its context, and the spans to quote."""

    features: dict[str, float]
    unsupported_spans: list[str] = field(default_factory=list)
    unsupported_entities: list[str] = field(default_factory=list)
    unsupported_numbers: list[str] = field(default_factory=list)
    weakest_sentence: str = ""

    def vector(self) -> np.ndarray:
        return np.array([self.features[f] for f in FEATURES], dtype=np.float64)

    def describe(self) -> str:
        parts = []
        if self.unsupported_entities:
            parts.append(
                "entities " + ", ".join(f'"{e}"' for e in self.unsupported_entities[:MAX_SPANS_QUOTED])
            )
        if self.unsupported_numbers:
            parts.append(
                "numbers " + ", ".join(f'"{n}"' for n in self.unsupported_numbers[:MAX_SPANS_QUOTED])
            )
        quoted = {*self.unsupported_entities, *self.unsupported_numbers}
        spans = [s for s in self.unsupported_spans if s not in quoted]
        if spans:
            parts.append("words " + ", ".join(f'"{s}"' for s in spans[:MAX_SPANS_QUOTED]))
        if not parts and self.weakest_sentence:
            support = self.features["min_sentence_support"]
            parts.append(
                f'weakest sentence "{_clip(self.weakest_sentence)}" (cosine {support:.2f} to the context)'
            )
        return "; ".join(parts) if parts else "no unsupported span found"


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ContextIndex:
    """What a context supports: word stems, number values, sentences."""

    def __init__(self, context: Sequence[str]) -> None:
        text = "\n".join(context)
        self.stems = {stem(w) for w in words(text)}
        self.folded = {fold(w) for w in words(text)}
        self.numbers = {v for n in NUMBER.findall(text) if (v := number_value(n)) is not None}
        self.sentences = [s for c in context for s in sentences(c)][:MAX_CONTEXT_SENTENCES]
        self.lower = text.casefold()

    def supports_word(self, word: str) -> bool:
        return fold(word) in self.folded or stem(word) in self.stems

    def supports_number(self, token: str) -> bool:
        value = number_value(token)
        return value is None or value in self.numbers or token.replace(",", "") in self.lower.replace(",", "")


def is_content(word: str) -> bool:
    return fold(word) not in FUNCTION_WORDS and any(ch.isalpha() for ch in word)


def entities(text: str) -> list[str]:
    """Capitalised runs ("Santa Fe", "Port of Morrow"), and capitalised words not opening a sentence."""
    out = []
    for sentence in sentences(text):
        toks = _TOKEN.findall(sentence)
        i = 0
        while i < len(toks):
            if toks[i][:1].isupper() and not (i == 0 and fold(toks[i]) in FUNCTION_WORDS):
                j = i + 1
                while j < len(toks) and (
                    toks[j][:1].isupper()
                    or (fold(toks[j]) in _NAME_JOINERS and j + 1 < len(toks) and toks[j + 1][:1].isupper())
                ):
                    j += 1
                if j - i > 1 or i > 0:
                    out.append(" ".join(toks[i:j]))
                i = j
            else:
                i += 1
    return out


def analyse(prompt: str, response: str, index: ContextIndex) -> GroundingReport:
    """Everything but the sentence similarities (see :class:`GroundingScorer`)."""
    prompt_stems = {stem(w) for w in words(prompt)}
    content = [w for w in words(response) if is_content(w)]
    unsupported = [w for w in content if not index.supports_word(w)]
    echo = sum(1 for w in content if stem(w) in prompt_stems) / max(len(content), 1)
    bad_entities = [
        e for e in dict.fromkeys(entities(response)) if not all(index.supports_word(w) for w in words(e))
    ]
    bad_numbers = [n for n in dict.fromkeys(NUMBER.findall(response)) if not index.supports_number(n)]
    return GroundingReport(
        features={
            "unsupported_words": math.log1p(len(unsupported)),
            "unsupported_fraction": len(unsupported) / max(len(content), 1),
            "unsupported_entities": math.log1p(len(bad_entities)),
            "unsupported_numbers": math.log1p(len(bad_numbers)),
            "min_sentence_support": 1.0,
            "support_gain": 0.0,
            "prompt_echo": echo,
        },
        unsupported_spans=spans(response, index),
        unsupported_entities=bad_entities,
        unsupported_numbers=bad_numbers,
    )


def spans(response: str, index: ContextIndex) -> list[str]:
    """Maximal runs of unsupported content words, function words allowed inside a run."""
    out: list[str] = []
    run: list[str] = []
    pending: list[str] = []
    for tok in _TOKEN.findall(response):
        if not any(ch.isalnum() for ch in tok):
            if run:
                out.append(" ".join(run))
            run, pending = [], []
            continue
        if not is_content(tok) and not tok.isdigit():
            if run:
                pending.append(tok)
            continue
        supported = index.supports_number(tok) if tok[:1].isdigit() else index.supports_word(tok)
        if supported:
            if run:
                out.append(" ".join(run))
            run, pending = [], []
        else:
            run += [*pending, tok]
            pending = []
    if run:
        out.append(" ".join(run))
    return list(dict.fromkeys(out))


class GroundingScorer:
    """Features for a batch of (prompt, response, context), with one embedding call for all sentences."""

    def __init__(self, encode: Encode) -> None:
        self.encode = encode

    def reports(self, batch: Sequence[tuple[str, str, Sequence[str]]]) -> list[GroundingReport]:
        indexes = [ContextIndex(ctx) for _, _, ctx in batch]
        reports = [analyse(p, r, ix) for (p, r, _), ix in zip(batch, indexes, strict=True)]
        texts: list[str] = []
        layout = []
        for (prompt, response, _), ix in zip(batch, indexes, strict=True):
            resp_sents = [s for s in sentences(response) if any(ch.isalnum() for ch in s)][
                :MAX_RESPONSE_SENTENCES
            ]
            start = len(texts)
            texts += ix.sentences + resp_sents + [f"{prompt} {response}".strip(), prompt or " "]
            layout.append((start, len(ix.sentences), resp_sents))
        if not texts:
            return reports
        vectors = self.encode(texts)
        for report, (start, n_ctx, resp_sents), (prompt, _, _) in zip(reports, layout, batch, strict=True):
            n_resp = len(resp_sents)
            if n_ctx == 0 or n_resp == 0:
                report.features["min_sentence_support"] = 0.0
                continue
            ctx = vectors[start : start + n_ctx]
            resp = vectors[start + n_ctx : start + n_ctx + n_resp]
            claim, question = vectors[start + n_ctx + n_resp], vectors[start + n_ctx + n_resp + 1]
            best = (resp @ ctx.T).max(axis=1)
            weakest = int(best.argmin())
            report.features["min_sentence_support"] = float(best[weakest])
            if prompt.strip():
                report.features["support_gain"] = float((ctx @ claim).max() - (ctx @ question).max())
            report.weakest_sentence = resp_sents[weakest]
        return reports
