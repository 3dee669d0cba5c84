"""Quality and hallucination benchmark: AUROC, balanced accuracy, baselines, rule precision, cost.

Run from the repository root (reads ../shared/data; nothing is downloaded)::

    .venv/bin/python benchmarks/quality_benchmark.py [--data DIR] [--out results.jsonl]
        [--sections general,qa,rules,groups,cost] [--fold-draws 5]

One JSON line per section goes to stdout (and to ``--out``):

* ``halueval_general_cv``: ``hallucination`` on halueval_general_dev by 5-fold cross-validation. In each fold
  the whole training procedure of ``curator train quality`` runs on the other four folds (fastText
  classifier, TF-IDF and pooled-embedding models, calibration on inner out-of-fold predictions) and scores
  the held-out fold. AUROC, balanced accuracy (at 0.5, and at the threshold that maximises it on the
  training folds' out-of-fold scores), precision at the thresholds, and two baselines: answer length, and
  token overlap with the query. ``--fold-draws`` repeats the CV on other fold assignments; the verdict is
  the mean's. Target AUROC >= 0.70.
* ``halueval_qa``: ``hallucination`` of the shipped models, through the real grounding and
  hallucination checks with the real embedder, on the *evaluation half* of halueval_qa_dev (the
  other half fitted the context calibration); knowledge is the context, the right answer is 0 and
  the hallucinated one 1. Baselines: answer length; 1 - fraction of answer tokens found in the
  knowledge. Also: the AUROC over all 500 questions with 2-fold cross-fitting of the calibration, and
  per-feature AUROCs. Target AUROC >= 0.95 and above both baselines.
* ``rules_alpaca``: per-rule precision (and recall) on the hand-labelled alpaca_5000 records of
  benchmarks/quality_labels/. Target precision >= 0.9 for every rule that fires.
* ``rules_other_datasets``: per-rule precision on every firing over self-instruct and HaluEval
  (benchmarks/quality_labels/other_labels.jsonl), now and when the firings were labelled.
* ``rules_other_datasets``: the same rules over the answers of self_instruct_user_oriented,
  halueval_general_dev and halueval_qa_dev (both answers), joined with the hand labels of every firing
  (benchmarks/quality_labels/other_labels.jsonl), per rule and dataset, now and when labelled.
* ``rules_constructed``: the four rules that fire on no real answer, on defects made from real alpaca
  records (labels by construction), with the originals as controls: recall and false alarms.
* ``group_mentions``: HolisticBias sentences naming a group, as responses to a neutral prompt: how
  many fire any heuristic rule (target 0), and HALLUCINATION / LOW_QUALITY rates with and without
  a group named (same sentences with a neutral descriptor).
* ``cost``: milliseconds per sample of the heuristics check + the hallucination check on samples
  without context (grounding excluded), one CPU, over alpaca_5000. Target <= 1 ms.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# One CPU means the tokeniser too: HF tokenizers would spread a batch over every core.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from curator.checks.base import CheckContext, Item  # noqa: E402
from curator.checks.quality import GroundingCheck, HallucinationCheck, HeuristicsCheck  # noqa: E402
from curator.domain.policy import CheckPolicy, DedupKey  # noqa: E402
from curator.domain.sample import ContentShape, Sample  # noqa: E402
from curator.embeddings.embedder import Embedder  # noqa: E402
from curator.quality import default_model_dir  # noqa: E402
from curator.quality.arithmetic import find_errors  # noqa: E402
from curator.quality.calibration import Logistic, auroc, balanced_accuracy  # noqa: E402
from curator.quality.classifier import IdentityMask  # noqa: E402
from curator.quality.judgement import NO_CONTEXT_FEATURES, classifier_logit  # noqa: E402
from curator.quality.models import QualityModels  # noqa: E402
from curator.quality.rules import Finding, looks_english, too_long, too_short  # noqa: E402
from curator.quality.text import sentences, stem, words  # noqa: E402
from curator.quality.train import (  # noqa: E402
    ARITHMETIC_ERROR_PROBABILITY,
    CONTEXT_FEATURES,
    DEFAULT_DATA_DIR,
    IDENTITY_AXES,
    SIGNS,
    TrainConfig,
    context_features,
    load_general,
    load_qa,
    no_context_matrix,
    out_of_fold,
    pooled_matrix,
    predict,
    predict_linear,
    qa_examples,
    qa_split,
    stratified_folds,
    train_fasttext,
    train_linear,
    train_pooled,
)
from curator.settings import EmbeddingSettings  # noqa: E402

CODES = {
    "empty_response": "EMPTY_RESPONSE",
    "too_short": "TOO_SHORT",
    "too_long": "TOO_LONG",
    "refusal": "REFUSAL",
    "truncated": "TRUNCATED",
    "repetition": "REPETITION",
    "placeholder": "PLACEHOLDER",
    "unreachable_reference": "UNREACHABLE_REFERENCE",
    "language_mismatch": "LANGUAGE_MISMATCH",
    "arithmetic_errors": "ARITHMETIC_ERROR",
}


def emit(record: dict[str, Any], out: Any) -> None:
    line = json.dumps(record, ensure_ascii=False)
    print(line, flush=True)
    if out is not None:
        out.write(line + "\n")
        out.flush()


def r4(x: float) -> float:
    return round(float(x), 4)


def length_baseline(responses: Sequence[str]) -> np.ndarray:
    return np.array([len(words(r)) for r in responses], dtype=float)


def overlap_baseline(responses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """1 - the fraction of the response's tokens that occur in the reference text."""
    out = []
    for response, reference in zip(responses, references, strict=True):
        ref = {stem(w) for w in words(reference)}
        toks = [stem(w) for w in words(response)]
        out.append(1.0 - sum(1 for t in toks if t in ref) / max(len(toks), 1))
    return np.array(out)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    candidates = np.unique(np.quantile(scores, np.linspace(0.01, 0.99, 99)))
    return float(max(candidates, key=lambda t: balanced_accuracy(scores, labels, t)))


# ---------------------------------------------------------------- halueval_general (5-fold CV)


def general_cv(data: Path, config: TrainConfig, models: QualityModels, draws: int = 1) -> dict[str, Any]:
    """Nested: each outer fold runs the training procedure (inner out-of-fold calibration) on the rest.
    With ``draws`` > 1 the whole cross-validation is repeated on other random fold assignments and
    their AUROCs are reported too: one draw's AUROC moves by about 0.005 with the folds alone."""
    started = time.perf_counter()
    result = _general_cv(data, config, models, config.seed + 1000)
    if draws > 1:
        others = [_general_cv(data, config, models, config.seed + 1000 + k)["auroc"] for k in range(1, draws)]
        every = [result["auroc"], *others]
        result["auroc_by_fold_draw"] = every
        result["auroc_mean_over_fold_draws"] = r4(statistics.mean(every))
        # One draw can land above the target by luck of the folds; the verdict is the mean's.
        result["pass"] = statistics.mean(every) >= 0.70
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _general_cv(data: Path, config: TrainConfig, models: QualityModels, fold_seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    examples = load_general(data)
    heuristics = models.heuristics
    mask = IdentityMask.load(models.model_dir / "identity_terms.json")
    labels = np.array([e.label == "hallucinated" for e in examples])
    folds = stratified_folds([e.label for e in examples], config.folds, fold_seed)
    scores = np.zeros(len(examples))
    classifier_only = np.zeros(len(examples))
    linear_only = np.zeros(len(examples))
    embedding_only = np.zeros(len(examples))
    pooled = pooled_matrix(examples, mask)
    tuned = np.zeros(len(examples), dtype=bool)
    thresholds = []
    for f, test in enumerate(folds):
        held = set(test)
        kept = [i for i in range(len(examples)) if i not in held]
        train = [examples[i] for i in kept]
        inner = dataclasses.replace(config, seed=config.seed + 10 * (f + 1))
        oof = out_of_fold(train, inner, mask, with_quality=False)
        y_in = np.array([e.label == "hallucinated" for e in oof.examples])
        x_in = no_context_matrix(oof.examples, oof.hallucination, oof.linear, oof.embedding, heuristics)
        cal = Logistic.fit_signed(x_in, y_in.astype(float), NO_CONTEXT_FEATURES, SIGNS, l2=1.0)
        threshold = best_threshold(cal.predict(x_in), y_in)
        thresholds.append(threshold)
        model = train_fasttext(train, inner, mask)
        tests = [examples[i] for i in test]
        probs = predict(model, tests, mask)
        linear = predict_linear(train_linear(train, inner, mask), tests, mask)
        embedding = train_pooled(pooled[kept], train, inner).decision_features(pooled[test])
        h = cal.predict(no_context_matrix(tests, probs, linear, embedding, heuristics))
        wrong = np.array([bool(find_errors(e.response, e.prompt)) for e in tests])
        h = np.where(wrong, noisy_or_array(h, ARITHMETIC_ERROR_PROBABILITY), h)
        scores[test] = h
        classifier_only[test] = [classifier_logit(p) for p in probs]
        linear_only[test] = linear
        embedding_only[test] = embedding
        tuned[test] = h >= threshold
    responses = [e.response for e in examples]
    prompts = [e.prompt for e in examples]
    tpr = (tuned & labels).sum() / labels.sum()
    tnr = (~tuned & ~labels).sum() / (~labels).sum()
    auc = auroc(scores, labels)
    return {
        "section": "halueval_general_cv",
        "samples": len(examples),
        "hallucinated": int(labels.sum()),
        "folds": config.folds,
        "fold_seed": fold_seed,
        "auroc": r4(auc),
        "classifier_only_auroc": r4(auroc(classifier_only, labels)),
        "tfidf_model_only_auroc": r4(auroc(linear_only, labels)),
        "pooled_embedding_model_only_auroc": r4(auroc(embedding_only, labels)),
        "balanced_accuracy_at_0.5": r4(balanced_accuracy(scores, labels, 0.5)),
        "at_default_thresholds": flag_rates(scores, labels, (0.5, 0.8, 0.95)),
        "balanced_accuracy_at_tuned_threshold": r4((tpr + tnr) / 2),
        "tuned_thresholds": [r4(t) for t in thresholds],
        "baselines": {
            "length_auroc": r4(auroc(length_baseline(responses), labels)),
            "token_overlap_auroc": r4(auroc(overlap_baseline(responses, prompts), labels)),
        },
        "target_auroc": 0.70,
        "pass": auc >= 0.70,
        "seconds": round(time.perf_counter() - started, 1),
    }


def flag_rates(scores: np.ndarray, labels: np.ndarray, thresholds: Sequence[float]) -> dict[str, Any]:
    """Samples with ``hallucination`` at or above each threshold: how many, and precision / recall."""
    out = {}
    for t in thresholds:
        hit = scores >= t
        out[f"hallucination>={t}"] = {
            "flagged": int(hit.sum()),
            "precision": r4(labels[hit].mean()) if hit.any() else None,
            "recall": r4(hit[labels == 1].mean()),
        }
    return out


def noisy_or_array(p: np.ndarray, prior: float) -> np.ndarray:
    return 1.0 - (1.0 - p) * (1.0 - prior)


# ---------------------------------------------------------------- halueval_qa (evaluation half)


def qa_samples(rows: Sequence[dict[str, str]]) -> tuple[list[Sample], np.ndarray]:
    samples, labels = [], []
    for n, (question, answer, context, label) in enumerate(qa_examples(rows)):
        samples.append(
            Sample(
                id=f"qa-{n}",
                shape=ContentShape.ALPACA,
                instruction=question,
                output=answer,
                context=tuple(context),
            )
        )
        labels.append(label)
    return samples, np.array(labels)


def run_checks(checks: Sequence[Any], samples: Sequence[Sample]) -> list[dict[str, float]]:
    items = [Item.build(s, i, DedupKey.SAMPLE) for i, s in enumerate(samples)]
    scores: list[dict[str, float]] = [{} for _ in items]
    for check in checks:
        for start in range(0, len(items), 256):
            batch = items[start : start + 256]
            ctx = CheckContext(CheckPolicy())  # these checks use no index
            for k, result in enumerate(check.evaluate_batch(batch, ctx)):
                scores[start + k].update(result.scores)
    return scores


def qa(data: Path, config: TrainConfig, models: QualityModels, embedder: Embedder) -> dict[str, Any]:
    started = time.perf_counter()
    rows = load_qa(data)
    calib_idx, eval_idx = qa_split(len(rows), config.seed, config.qa_calibration_fraction)
    eval_rows = [rows[i] for i in eval_idx]
    samples, labels = qa_samples(eval_rows)
    checks = [GroundingCheck(embedder, models), HallucinationCheck(embedder, models)]
    scores = run_checks(checks, samples)
    hallucination = np.array([s["hallucination"] for s in scores])
    grounding = np.array([s["grounding"] for s in scores])
    answers = [s.response for s in samples]
    knowledge = [s.context[0] for s in samples]
    length_auc = auroc(length_baseline(answers), labels)
    overlap_auc = auroc(overlap_baseline(answers, knowledge), labels)
    auc = auroc(hallucination, labels)

    # Cross-fitting over all 500 questions: fit on one half, score the other, both ways.
    model = models.hallucination.load()
    all_items = qa_examples(rows)
    x = context_features(all_items, embedder.encode, model, models.hallucination.mask)
    y = np.array([lab for *_, lab in all_items], dtype=float)
    half = np.array([n // 2 in set(calib_idx) for n in range(len(all_items))])
    crossfit = np.zeros(len(y))
    for fit_mask in (half, ~half):
        fitted = Logistic.fit_signed(x[fit_mask], y[fit_mask], CONTEXT_FEATURES, SIGNS, l2=1.0)
        crossfit[~fit_mask] = fitted.predict(x[~fit_mask])
    no_echo = [i for i, f in enumerate(CONTEXT_FEATURES) if f != "prompt_echo"]
    names = [CONTEXT_FEATURES[i] for i in no_echo]
    fitted = Logistic.fit_signed(x[half][:, no_echo], y[half], names, SIGNS, l2=1.0)
    without_echo = fitted.predict(x[~half][:, no_echo])
    return {
        "section": "halueval_qa",
        "split": f"evaluation half: {len(eval_idx)} questions (calibrated on the other {len(calib_idx)})",
        "answers": len(samples),
        "auroc": r4(auc),
        "balanced_accuracy_at_0.5": r4(balanced_accuracy(hallucination, labels, 0.5)),
        "grounding_auroc": r4(auroc(1 - grounding, labels)),
        "unsupported_claim_grounding<=0.2": {
            "flagged": int((grounding <= 0.2).sum()),
            "precision": r4(labels[grounding <= 0.2].mean()) if (grounding <= 0.2).any() else None,
            "recall": r4((grounding <= 0.2)[labels == 1].mean()),
        },
        "at_default_thresholds": {
            f"hallucination>={t}": {
                "flagged": int((hallucination >= t).sum()),
                "precision": r4(labels[hallucination >= t].mean()) if (hallucination >= t).any() else None,
                "recall": r4((hallucination >= t)[labels == 1].mean()),
            }
            for t in (0.8, 0.95)
        },
        "baselines": {"length_auroc": r4(length_auc), "token_overlap_auroc": r4(overlap_auc)},
        "crossfit_all_500_auroc": r4(auroc(crossfit, y)),
        "without_prompt_echo_auroc": r4(auroc(without_echo, y[~half])),
        "feature_auroc_all_500": {f: r4(auroc(x[:, i], y)) for i, f in enumerate(CONTEXT_FEATURES)},
        "target_auroc": 0.95,
        "pass": auc >= 0.95 and auc > length_auc and auc > overlap_auc,
        "seconds": round(time.perf_counter() - started, 1),
    }


# ---------------------------------------------------------------- rules on hand labels


def rules_alpaca(data: Path, models: QualityModels) -> dict[str, Any]:
    rows = json.loads((data / "alpaca_5000.json").read_text(encoding="utf-8"))
    labelled = [json.loads(line) for line in (ROOT / "benchmarks/quality_labels/alpaca_labels.jsonl").open()]
    check = HeuristicsCheck(models)
    policy = {str(r.code): r for r in check.rules}
    by_index = {r["index"]: set(r["labels"]) for r in labelled}
    samples = [
        Sample(
            id=str(i),
            shape=ContentShape.ALPACA,
            instruction=rows[i]["instruction"],
            input=rows[i]["input"],
            output=rows[i]["output"],
        )
        for i in range(len(rows))
    ]
    scores = run_checks([check], samples)
    # Each rule at its default threshold (or review band), and PLACEHOLDER also with the optional
    # review band for unfilled slots.
    settings = [(name, code, policy[code]) for name, code in CODES.items()]
    fired: dict[str, set[int]] = {code: set() for _, code, _ in settings}
    fired["PLACEHOLDER with review_threshold 0.5"] = set()
    for i, s in enumerate(scores):
        for name, code, rule in settings:
            value = s.get(name)
            threshold = rule.review_threshold if rule.review_threshold is not None else rule.threshold
            if value is not None and rule.crosses(value, threshold):
                fired[code].add(i)
        if s.get("placeholder", 0.0) >= 0.5:
            fired["PLACEHOLDER with review_threshold 0.5"].add(i)
    per_rule = {}
    for key, hits in fired.items():
        code = key.split()[0]
        judged = [i for i in hits if i in by_index]
        tp = sum(1 for i in judged if code in by_index[i])
        positives = sum(1 for labels in by_index.values() if code in labels)
        caught = sum(1 for i, labels in by_index.items() if code in labels and i in hits)
        per_rule[key] = {
            "fired": len(hits),
            "unlabelled_firings": len(hits) - len(judged),
            "true_positives": tp,
            "precision": r4(tp / len(judged)) if judged else None,
            "labelled_positives": positives,
            "recall_on_labelled": r4(caught / positives) if positives else None,
        }
    firing = [v["precision"] for v in per_rule.values() if v["precision"] is not None]
    return {
        "section": "rules_alpaca",
        "labelled_samples": len(labelled),
        "rules": per_rule,
        "target_precision": 0.9,
        "pass": all(p >= 0.9 for p in firing)
        and all(v["unlabelled_firings"] == 0 for v in per_rule.values()),
    }


def other_samples(data: Path) -> list[tuple[tuple[str, int, str], Sample]]:
    """Every answer of the other datasets, keyed as in quality_labels/other_labels.jsonl: (file, index,
    instance number or answer field). Self-instruct instances keep their input; HaluEval answers have none."""
    out: list[tuple[tuple[str, int, str], Sample]] = []
    name = "self_instruct_user_oriented.jsonl"
    for i, line in enumerate((data / name).open(encoding="utf-8")):
        r = json.loads(line)
        for j, inst in enumerate(r["instances"]):
            sample = Sample(
                id=f"si-{i}-{j}",
                shape=ContentShape.ALPACA,
                instruction=r["instruction"],
                input=inst["input"],
                output=inst["output"],
            )
            out.append(((name, i, str(j)), sample))
    name = "halueval_general_dev.jsonl"
    for i, line in enumerate((data / name).open(encoding="utf-8")):
        r = json.loads(line)
        sample = Sample(
            id=f"hg-{i}", shape=ContentShape.ALPACA, instruction=r["user_query"], output=r["chatgpt_response"]
        )
        out.append(((name, i, ""), sample))
    name = "halueval_qa_dev.jsonl"
    for i, line in enumerate((data / name).open(encoding="utf-8")):
        r = json.loads(line)
        for field in ("right_answer", "hallucinated_answer"):
            sample = Sample(
                id=f"qa-{i}-{field}", shape=ContentShape.ALPACA, instruction=r["question"], output=r[field]
            )
            out.append(((name, i, field), sample))
    return out


# ---------------------------------------------------------------- rules that real data never fires

SILENT_RULES = ("too_short", "too_long", "repetition", "language_mismatch")


def _alpaca(i: int, row: dict[str, str], output: str | None = None) -> Sample:
    return Sample(
        id=str(i),
        shape=ContentShape.ALPACA,
        instruction=row["instruction"],
        input=row["input"],
        output=row["output"] if output is None else output,
    )


def _looped(output: str) -> str:
    """A generator stuck in a loop: the answer's last sentence said six more times."""
    last = sentences(output)[-1]
    return output.rstrip() + "".join(" " + last for _ in range(6))


def _foreign_texts(data: Path, models: QualityModels) -> list[tuple[str | None, str]]:
    """(prompt, text) for every text of ≥ 8 words in alpaca and self-instruct (instructions, inputs and
    outputs) that the language identifier calls confidently non-English by its function words (an n-gram
    guess alone is not enough); the prompt is the one an output really answers, None for other fields."""
    fields: list[tuple[str | None, str]] = []
    rows = json.loads((data / "alpaca_5000.json").read_text(encoding="utf-8"))
    for r in rows:
        fields += [
            (None, r["instruction"]),
            (None, r["input"]),
            (r["instruction"] + "\n" + r["input"], r["output"]),
        ]
    for line in (data / "self_instruct_user_oriented.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        for inst in r["instances"]:
            fields += [(None, inst["input"]), (r["instruction"] + "\n" + inst["input"], inst["output"])]
    found = []
    for prompt, text in fields:
        if len(words(text)) < 8 or looks_english(text):
            continue
        guess = models.heuristics.langid.identify(text)
        if guess is not None and guess.confident and guess.language != "en" and guess.method != "ngrams":
            found.append((prompt, text))
    return found


def rules_constructed(data: Path, models: QualityModels, seed: int = 13) -> dict[str, Any]:
    """The rules that fire on none of the 8,506 real answers, on defects made from real alpaca records.

    Real data cannot give these rules a precision (no firing, nothing to label), so this measures the
    two things it can: whether each rule catches the defect it is for, and whether it stays quiet on
    the same records as they really are. Labels are by construction: every transformed record is a
    defect, every original a control (the originals are the census of rules_alpaca, where a firing
    would have been labelled). ``armed`` counts the real records on which the rule was in play."""
    rng = random.Random(seed)
    rows = json.loads((data / "alpaca_5000.json").read_text(encoding="utf-8"))
    check = HeuristicsCheck(models)
    policy = {str(r.code): r for r in check.rules}
    heuristics = models.heuristics

    def fires(name: str, sample: Sample) -> bool:
        rule = policy[CODES[name]]
        finding = heuristics.score(sample).get(name)
        return finding is not None and rule.crosses(finding.score, rule.threshold)

    originals = [_alpaca(i, r) for i, r in enumerate(rows)]
    short_answers = [
        r["output"]
        for r in rows
        if 1 <= len(words(r["output"])) <= 8
        and not any(
            heuristics.score(_alpaca(0, r)).get(n, Finding(0)).score
            for n in ("empty_response", "refusal", "placeholder")
        )
    ]
    long_answers = [r["output"] for r in rows if len(words(r["output"])) >= 150]
    made: dict[str, list[tuple[Sample, Sample | None]]] = {name: [] for name in SILENT_RULES}
    armed: dict[str, int] = {}

    # TOO_SHORT: a long-form request ("Write an essay ...") answered by a real one-line alpaca answer.
    long_form = [i for i, r in enumerate(rows) if too_short(r["instruction"], "").score > 0]
    armed["too_short"] = len(long_form)
    made["too_short"] = [(_alpaca(i, rows[i], rng.choice(short_answers)), originals[i]) for i in long_form]
    # TOO_LONG: a stated limit ("in 50 words", "in two sentences") answered by a real 150+ word answer.
    limited = [
        i
        for i, r in enumerate(rows)
        if "default limit" not in too_long(r["instruction"] + "\n" + r["input"], long_answers[0]).detail
    ]
    armed["too_long"] = len(limited)
    made["too_long"] = [(_alpaca(i, rows[i], rng.choice(long_answers)), originals[i]) for i in limited]
    # REPETITION: every answer of three sentences or more, with its last sentence looped.
    looping = [i for i, r in enumerate(rows) if len(sentences(r["output"])) >= 3]
    armed["repetition"] = len(rows)
    made["repetition"] = [(_alpaca(i, rows[i], _looped(rows[i]["output"])), originals[i]) for i in looping]
    # LANGUAGE_MISMATCH: the real non-English texts of the data as answers to 50 English prompts each;
    # the controls are the texts that are answers, under the prompts they really answer (translations).
    foreign = _foreign_texts(data, models)
    english = [i for i, r in enumerate(rows) if looks_english(r["instruction"] + " " + r["input"])]
    armed["language_mismatch"] = sum(1 for r in rows if not looks_english(r["output"]))
    for prompt, text in foreign:
        control = (
            None
            if prompt is None
            else Sample(id="c", shape=ContentShape.ALPACA, instruction=prompt, output=text)
        )
        for i in rng.sample(english, 50):
            made["language_mismatch"].append((_alpaca(i, rows[i], text), control))

    out: dict[str, Any] = {}
    for name, pairs in made.items():
        defects = [d for d, _ in pairs]
        controls = list({id(c): c for _, c in pairs if c is not None}.values())
        caught = sum(1 for d in defects if fires(name, d))
        false_alarms = sum(1 for c in controls if fires(name, c))
        out[CODES[name]] = {
            "armed_real_records": armed[name],
            "defects": len(defects),
            "caught": caught,
            "recall": r4(caught / len(defects)) if defects else None,
            "controls": len(controls),
            "false_alarms": false_alarms,
            "precision_on_this_mix": r4(caught / (caught + false_alarms)) if caught + false_alarms else None,
        }
    out["LANGUAGE_MISMATCH"]["distinct_foreign_texts"] = len(foreign)
    return {
        "section": "rules_constructed",
        "note": "defects made from real alpaca records (labels by construction); controls are the records as"
        " they are; see the docstring of rules_constructed for each transformation",
        "rules": out,
    }


def label_key(r: dict[str, Any]) -> tuple[str, int, str]:
    return (r["dataset"], r["index"], str(r.get("instance", r.get("answer", ""))))


def rules_other(data: Path, models: QualityModels) -> dict[str, Any]:
    """Every rule over the other datasets' answers (self-instruct, HaluEval general and QA), joined with
    the hand labels of every firing (quality_labels/other_labels.jsonl). ``at_labelling`` is the rules as
    they were when the firings were labelled; the false positives found there were fixed in the rules
    (not the labels), so the current figures are measured on the data that motivated the fixes."""
    keyed = other_samples(data)
    path = ROOT / "benchmarks/quality_labels/other_labels.jsonl"
    labelled = {label_key(r): r for r in (json.loads(line) for line in path.open(encoding="utf-8"))}
    check = HeuristicsCheck(models)
    policy = {str(r.code): r for r in check.rules}
    scores = run_checks([check], [s for _, s in keyed])
    per: dict[str, dict[str, Any]] = {}
    for name, code in CODES.items():
        rule = policy[code]
        threshold = rule.review_threshold if rule.review_threshold is not None else rule.threshold
        by_dataset: dict[str, Any] = {}
        for dataset in sorted({k[0] for k, _ in keyed}):
            hits = [
                k
                for (k, _), s in zip(keyed, scores, strict=True)
                if k[0] == dataset and name in s and rule.crosses(s[name], threshold)
            ]
            judged = [k for k in hits if k in labelled]
            tp = sum(1 for k in judged if code in labelled[k]["labels"])
            then = [r for k, r in labelled.items() if k[0] == dataset and code in r["fired"]]
            then_tp = sum(1 for r in then if code in r["labels"])
            by_dataset[dataset] = {
                "answers": sum(1 for k, _ in keyed if k[0] == dataset),
                "fired": len(hits),
                "unlabelled_firings": len(hits) - len(judged),
                "true_positives": tp,
                "precision": r4(tp / len(judged)) if judged else None,
                "at_labelling": {
                    "fired": len(then),
                    "true_positives": then_tp,
                    "precision": r4(then_tp / len(then)) if then else None,
                },
            }
        per[code] = by_dataset
    current = [v["precision"] for d in per.values() for v in d.values() if v["precision"] is not None]
    return {
        "section": "rules_other_datasets",
        "labelled_firings": len(labelled),
        "rules": per,
        "target_precision": 0.9,
        "pass": all(p >= 0.9 for p in current)
        and all(v["unlabelled_firings"] == 0 for d in per.values() for v in d.values()),
    }


# ---------------------------------------------------------------- group mentions


GROUP_PROMPTS = ("Introduce yourself.", "Tell me something about yourself in a sentence or two.")


def group_sentences(data: Path) -> list[tuple[str, str, str]]:
    """(axis, sentence naming a group, the same sentence with no group named), two templates a descriptor."""
    base = data / "holistic_bias"
    descriptors = json.loads((base / "descriptors.json").read_text(encoding="utf-8"))
    templates = list(json.loads((base / "sentence_templates.json").read_text(encoding="utf-8")))
    rng = random.Random(5)
    out = []
    for axis, groups in sorted(descriptors.items()):
        if axis == "nonce":
            continue
        for entries in groups.values() if isinstance(groups, dict) else [groups]:
            for d in entries:
                name = d["descriptor"] if isinstance(d, dict) else d
                article = "an" if name[:1].lower() in "aeiou" else "a"
                for template in rng.sample(templates, 2):
                    out.append(
                        (
                            axis,
                            template.format(
                                noun_phrase=f"{article} {name} person", plural_noun_phrase=f"{name} people"
                            ),
                            template.format(noun_phrase="a person", plural_noun_phrase="people"),
                        )
                    )
    return out


def group_mentions(data: Path, models: QualityModels, embedder: Embedder) -> dict[str, Any]:
    """Does naming a group change any decision? Each sentence against its twin that names none."""
    rows = [(prompt, *row) for row in group_sentences(data) for prompt in GROUP_PROMPTS]
    heuristics = HeuristicsCheck(models)
    hallucination = HallucinationCheck(embedder, models)

    def scored(pairs: Sequence[tuple[str, str]]) -> list[dict[str, float]]:
        samples = [
            Sample(id=str(i), shape=ContentShape.ALPACA, instruction=prompt, output=t)
            for i, (prompt, t) in enumerate(pairs)
        ]
        return run_checks([heuristics, hallucination], samples)

    named = scored([(r[0], r[2]) for r in rows])
    neutral = scored([(r[0], r[3]) for r in rows])
    review = {str(r.code): r for r in hallucination.rules}
    hall_rule, quality_rule = review["HALLUCINATION"], review["LOW_QUALITY"]

    def flagged(s: dict[str, float]) -> set[str]:
        out = {
            str(rule.code)
            for rule in heuristics.rules
            if rule.score in s and rule.crosses(s[rule.score], rule.review_threshold or rule.threshold)
        }
        if hall_rule.crosses(s["hallucination"], hall_rule.review_threshold or hall_rule.threshold):
            out.add("HALLUCINATION")
        if quality_rule.crosses(s["quality"], quality_rule.review_threshold or quality_rule.threshold):
            out.add("LOW_QUALITY")
        return out

    heuristic_codes = {str(r.code) for r in heuristics.rules}
    by_axis: dict[str, Counter[str]] = {}
    only_named: Counter[str] = Counter()
    rule_fired: Counter[str] = Counter()
    for (_, axis, _, _), a, b in zip(rows, named, neutral, strict=True):
        fa, fb = flagged(a), flagged(b)
        rule_fired.update(c for c in fa if c in heuristic_codes)
        counts = by_axis.setdefault(axis, Counter())
        counts["samples"] += 1
        for code in fa - fb:
            only_named[code] += 1
            counts[code] += 1
    masked_axes = set(IDENTITY_AXES)
    return {
        "section": "group_mentions",
        "samples": len(rows),
        "prompts": list(GROUP_PROMPTS),
        "heuristic_rule_firings_on_named": dict(rule_fired),
        "decisions_changed_by_naming_a_group": dict(only_named),
        "changed_by_axis": {
            f"{axis}{'' if axis in masked_axes else ' (not masked)'}": dict(c) for axis, c in by_axis.items()
        },
        "mean_quality": {
            "named": r4(np.mean([s["quality"] for s in named])),
            "neutral": r4(np.mean([s["quality"] for s in neutral])),
        },
        "mean_hallucination": {
            "named": r4(np.mean([s["hallucination"] for s in named])),
            "neutral": r4(np.mean([s["hallucination"] for s in neutral])),
        },
        "pass": not rule_fired,
    }


# ---------------------------------------------------------------- cost


def cost(data: Path, models: QualityModels, embedder: Embedder, repeat: int) -> dict[str, Any]:
    rows = json.loads((data / "alpaca_5000.json").read_text(encoding="utf-8"))
    samples = [
        Sample(
            id=str(i),
            shape=ContentShape.ALPACA,
            instruction=r["instruction"],
            input=r["input"],
            output=r["output"],
        )
        for i, r in enumerate(rows)
    ]
    models.load()
    heuristics, hallucination = HeuristicsCheck(models), HallucinationCheck(embedder, models)
    timings: dict[str, list[float]] = {"heuristics": [], "hallucination": [], "total": []}
    flagged: Counter[str] = Counter()
    for n_pass in range(repeat):
        items = [Item.build(s, i, DedupKey.SAMPLE) for i, s in enumerate(samples)]
        ctx = CheckContext(CheckPolicy())
        gc.collect()
        spent = {"heuristics": 0.0, "hallucination": 0.0}
        for start in range(0, len(items), 1000):
            batch = items[start : start + 1000]
            for name, check in (("heuristics", heuristics), ("hallucination", hallucination)):
                t = time.perf_counter()
                results = check.evaluate_batch(batch, ctx)
                spent[name] += time.perf_counter() - t
                if name == "hallucination" and n_pass == 0:
                    for result in results:
                        h, q = result.scores.get("hallucination"), result.scores.get("quality")
                        flagged["hallucination>=0.8 (review)"] += h is not None and h >= 0.8
                        flagged["hallucination>=0.95 (drop)"] += h is not None and h >= 0.95
                        flagged["quality<=0.05 (review)"] += q is not None and q <= 0.05
        for name, seconds in spent.items():
            timings[name].append(1000 * seconds / len(items))
        timings["total"].append(sum(1000 * s / len(items) for s in spent.values()))
    median = {k: r4(statistics.median(v)) for k, v in timings.items()}
    mean_words = statistics.mean(len(words(s.prompt)) + len(words(s.response)) for s in samples)
    return {
        "section": "cost",
        "samples": len(samples),
        "mean_words": round(mean_words, 1),
        "repeat": repeat,
        "ms_per_sample": median,
        "target_ms": 1.0,
        "pass": median["total"] <= 1.0,
        "note": "heuristics check + hallucination check (fastText, TF-IDF and pooled-embedding models) on"
        " samples without context; one CPU, tokeniser included",
        "alpaca_flagged_by_hallucination_check": dict(flagged),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=default_model_dir())
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sections", default="general,qa,rules,groups,cost")
    parser.add_argument("--repeat", type=int, default=3, help="cost: timed passes over alpaca_5000")
    parser.add_argument(
        "--fold-draws", type=int, default=5, help="general: cross-validations on different fold assignments"
    )
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    config = TrainConfig(data_dir=args.data)
    models = QualityModels(args.models)
    embedder = Embedder(EmbeddingSettings(threads=1))
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        if "rules" in sections:
            emit(rules_alpaca(args.data, models), out)
            emit(rules_other(args.data, models), out)
            emit(rules_constructed(args.data, models), out)
        if "cost" in sections:
            emit(cost(args.data, models, embedder, args.repeat), out)
        if "groups" in sections:
            emit(group_mentions(args.data, models, embedder), out)
        if "qa" in sections:
            emit(qa(args.data, config, models, embedder), out)
        if "general" in sections:
            emit(general_cv(args.data, config, models, args.fold_draws), out)
    finally:
        if out is not None:
            out.close()
        embedder.close()


if __name__ == "__main__":
    main()
