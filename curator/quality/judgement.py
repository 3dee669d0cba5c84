"""The inputs of the calibrated judgement, computed the same way at training and at run time.

Without context, ``hallucination`` is a logistic model over the fastText
classifier's logit, the TF-IDF model's logit (:mod:`curator.quality.linear`), the
pooled-embedding model's logit (:mod:`curator.quality.pooled`) and a few signals a
bag of words cannot see (:data:`NO_CONTEXT_FEATURES`);
with context, over the grounding features and the classifier's logit
(``curator.quality.train.CONTEXT_FEATURES``). Stated arithmetic that the parser
proves wrong is added by noisy-OR with a fixed prior, since no training
example has enough of it to fit a weight.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

from curator.quality.calibration import logit
from curator.quality.classifier import LABELS
from curator.quality.lexicon import REFUSAL_ANYWHERE
from curator.quality.rules import Finding
from curator.quality.text import FUNCTION_WORDS, NUMBER, fold, stem, words

NO_CONTEXT_FEATURES = (
    "classifier_logit",  # logit of P(hallucinated) / (P(hallucinated) + P(good))
    "linear_logit",  # the TF-IDF logistic regression's log-odds of hallucinated
    "embedding_logit",  # the pooled-embedding logistic regression's log-odds of hallucinated
    "self_reference",  # 1 when the response speaks as an AI model
    "new_numbers",  # log1p of numbers the prompt does not contain
    "new_names",  # log1p of capitalised words (not opening a sentence) the prompt does not contain
    "prompt_overlap",  # fraction of the response's content words found in the prompt
    "response_words",  # log1p
    "prompt_words",  # log1p
    "unreachable_reference",  # the heuristic rule's score
    "truncated",
    "placeholder",
    "refusal",
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")


def classifier_logit(probs: np.ndarray) -> float:
    """The classifier's hallucination logit, between *good* and *hallucinated* only."""
    p_good, p_hall = float(probs[LABELS.index("good")]), float(probs[LABELS.index("hallucinated")])
    return float(logit(p_hall / max(p_hall + p_good, 1e-9)))


def no_context_features(
    prompt: str,
    response: str,
    probs: np.ndarray,
    linear: float,
    embedding: float,
    findings: Mapping[str, Finding],
) -> np.ndarray:
    r_words, p_words = words(response), words(prompt)
    p_content = {stem(w) for w in p_words if fold(w) not in FUNCTION_WORDS}
    r_content = [stem(w) for w in r_words if fold(w) not in FUNCTION_WORDS]
    prompt_numbers = set(NUMBER.findall(prompt))
    prompt_lower = prompt.casefold()

    def score(name: str) -> float:
        finding = findings.get(name)
        return float(finding.score) if finding is not None else 0.0

    return np.array(
        [
            classifier_logit(probs),
            float(linear),
            float(embedding),
            float(bool(REFUSAL_ANYWHERE.search(response))),
            math.log1p(sum(1 for n in NUMBER.findall(response) if n not in prompt_numbers)),
            math.log1p(sum(1 for n in _CAPITALISED.findall(response) if n.casefold() not in prompt_lower)),
            sum(1 for w in r_content if w in p_content) / max(len(r_content), 1),
            math.log1p(len(r_words)),
            math.log1p(len(p_words)),
            score("unreachable_reference"),
            score("truncated"),
            min(score("placeholder"), 1.0),
            score("refusal"),
        ],
        dtype=np.float64,
    )


def noisy_or(p: float, prior: float) -> float:
    return 1.0 - (1.0 - p) * (1.0 - prior)
