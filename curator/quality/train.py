"""``curator train quality``: rebuild every artefact in models/quality/ from the data, reproducibly.

1. Language profiles: character n-gram counts of ``models/quality/langid_seed/*.txt`` → ``langid.json``.
2. Two fastText classifiers over the same input text (:func:`curator.quality.classifier.fasttext_text`),
   trained with ``thread=1`` and a fixed seed, quantised:

   * ``hallucination.ftz``: *good* / *hallucinated*, from ``halueval_general_dev.jsonl`` alone
     (``hallucination`` no / yes);
   * ``quality.ftz``: *good* / *hallucinated* / *defective*, from the same data plus negatives
     synthesised from its good samples in the manner of FactCC (:mod:`curator.quality.synth`:
     changed numbers and names → *hallucinated*; truncation, an answer to another prompt →
     *defective*).

   The synthetic negatives train only the quality model: without a reference, a changed number
   is invisible to a bag of words, and in cross-validation adding them to the hallucination
   model's data lowered its AUROC on the real labels (0.67 → 0.60 at half a negative per sample).
3. A TF-IDF logistic regression over the same input lines (:mod:`curator.quality.linear`), from
   halueval_general_dev → ``hallucination_linear.json``; and a logistic regression over the prompt's
   and response's mean MiniLM token vectors (:mod:`curator.quality.pooled`) →
   ``hallucination_embedding.json``.
4. Calibration (``calibration.json``):

   * without context: a logistic model over the hallucination classifier's logit, the TF-IDF and
     pooled-embedding models' logits and the signals of
     :data:`curator.quality.judgement.NO_CONTEXT_FEATURES`, and Platt scaling of the quality
     model's P(good), both fitted on out-of-fold predictions (5 folds): no score is calibrated on a
     prediction of a model that saw the sample;
   * with context: logistic models over the grounding features (and the classifier's logit), fitted on
     the *calibration half* of ``halueval_qa_dev.jsonl`` (a seeded half of its 500 questions; the
     benchmark reports the other half).

Everything is seeded; the same data and seed give the same artefacts.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curator.domain.sample import ContentShape, Sample
from curator.quality import default_model_dir
from curator.quality.calibration import Logistic, auroc, logit
from curator.quality.classifier import LABELS, NO_MASK, IdentityMask, fasttext_text, predict_texts
from curator.quality.grounding import FEATURES, GroundingScorer
from curator.quality.judgement import NO_CONTEXT_FEATURES, classifier_logit, no_context_features
from curator.quality.langid import LanguageIdentifier, write_profiles
from curator.quality.lexicon import IDENTITY_TERMS
from curator.quality.linear import LinearTextModel
from curator.quality.models import LINEAR_FILE, POOLED_FILE
from curator.quality.pooled import PooledEmbeddingModel, TokenVectors
from curator.quality.pooled import features as pooled_features
from curator.quality.rules import Heuristics
from curator.quality.synth import synthesise

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "data"
CONTEXT_FEATURES = (*FEATURES, "classifier_logit")
# A stated equation that the parser proves wrong is near-certain evidence; no training set has enough
# of them to fit a weight, so this prior is combined with the model by noisy-OR.
ARITHMETIC_ERROR_PROBABILITY = 0.95
# What each signal means: +1, more of it means more likely hallucinated; -1, less likely; absent: either.
SIGNS = {
    "classifier_logit": 1,
    "linear_logit": 1,
    "embedding_logit": 1,
    "self_reference": 1,
    "new_numbers": 1,
    "new_names": 1,
    "unreachable_reference": 1,
    "truncated": 1,
    "placeholder": 1,
    "refusal": 1,
    "unsupported_words": 1,
    "unsupported_fraction": 1,
    "unsupported_entities": 1,
    "unsupported_numbers": 1,
    "min_sentence_support": -1,
    "support_gain": -1,
    "prompt_echo": 1,
}
MODEL_FILES = (
    "hallucination.ftz",
    "quality.ftz",
    LINEAR_FILE,
    POOLED_FILE,
    "langid.json",
    "identity_terms.json",
    "calibration.json",
)
# HolisticBias axes whose descriptors are masked (body type, "characteristics", "cultural" and the nonce
# control axis are common adjectives such as "short", "slow" or "tall", left visible).
IDENTITY_AXES = (
    "ability",
    "age",
    "gender_and_sex",
    "nationality",
    "political_ideologies",
    "race_ethnicity",
    "religion",
    "sexual_orientation",
    "socioeconomic_class",
)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    out_dir: Path = field(default_factory=default_model_dir)
    seed: int = 13
    folds: int = 5
    synth_per_sample: float = 1.0  # quality model only
    epochs: int = 5
    lr: float = 0.3
    dim: int = 100
    word_ngrams: int = 2
    bucket: int = 200_000
    min_count: int = 1
    quantize_cutoff: int = 50_000
    linear_c: float = 0.3  # inverse L2 strength of the TF-IDF model
    pooled_c: float = 0.01  # inverse L2 strength of the pooled-embedding model (standardised features)
    linear_min_df: int = 2  # words in fewer training texts are left out
    qa_calibration_fraction: float = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    prompt: str
    response: str
    label: str  # "good", "hallucinated" or "defective"
    kind: str = "real"  # "real", or the synthetic transformation


# ---------------------------------------------------------------- data


def load_general(data_dir: Path) -> list[Example]:
    path = Path(data_dir) / "halueval_general_dev.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    return [
        Example(
            r["user_query"], r["chatgpt_response"], "hallucinated" if r["hallucination"] == "yes" else "good"
        )
        for r in rows
    ]


def load_self_instruct(data_dir: Path) -> list[Example]:
    """The expert-written instances of self-instruct's user-oriented set (Apache-2.0), as good samples:
    they show the quality model short, correct answers ("Confident"), which HaluEval's long ChatGPT
    answers do not."""
    path = Path(data_dir) / "self_instruct_user_oriented.jsonl"
    out = []
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        for inst in r["instances"]:
            prompt = "\n".join(p for p in (r["instruction"], inst["input"]) if p)
            out.append(Example(prompt, inst["output"], "good", "self_instruct"))
    return out


def load_qa(data_dir: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (Path(data_dir) / "halueval_qa_dev.jsonl").open(encoding="utf-8")]


def qa_split(n: int, seed: int, fraction: float = 0.5) -> tuple[list[int], list[int]]:
    """(calibration indices, evaluation indices) of the QA questions: a seeded shuffle, cut once."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = round(n * fraction)
    return sorted(order[:cut]), sorted(order[cut:])


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[list[int]]:
    """k folds with the label mix of the whole; fold f holds every k-th index of each shuffled label."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for label in sorted(set(labels)):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[j % k].append(i)
    return [sorted(f) for f in folds]


def with_synthetic(examples: Sequence[Example], seed: int, per_sample: float) -> list[Example]:
    """The examples plus negatives made from their good ones."""
    good = [(e.prompt, e.response) for e in examples if e.label == "good"]
    made = synthesise(good, random.Random(seed), per_sample)
    return [*examples, *(Example(s.prompt, s.response, s.label, s.kind) for s in made)]


# ---------------------------------------------------------------- fastText


def train_fasttext(
    examples: Sequence[Example], config: TrainConfig, mask: IdentityMask = NO_MASK, quantize: bool = False
) -> Any:
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    lines = [f"__label__{e.label} {fasttext_text(e.prompt, e.response, mask)}" for e in examples]
    random.Random(config.seed).shuffle(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        model = fasttext.train_supervised(
            input=str(path),
            lr=config.lr,
            epoch=config.epochs,
            dim=config.dim,
            wordNgrams=config.word_ngrams,
            bucket=config.bucket,
            minCount=config.min_count,
            loss="softmax",
            thread=1,
            seed=config.seed,
            verbose=0,
        )
        if quantize:
            model.quantize(
                input=str(path), qnorm=True, retrain=False, cutoff=config.quantize_cutoff, thread=1
            )
    return model


def predict(model: Any, examples: Sequence[Example], mask: IdentityMask = NO_MASK) -> np.ndarray:
    return predict_texts(model, [fasttext_text(e.prompt, e.response, mask) for e in examples])


def train_linear(
    examples: Sequence[Example], config: TrainConfig, mask: IdentityMask = NO_MASK
) -> LinearTextModel:
    texts = [fasttext_text(e.prompt, e.response, mask) for e in examples]
    labels = [e.label == "hallucinated" for e in examples]
    return LinearTextModel.fit(texts, labels, c=config.linear_c, min_df=config.linear_min_df)


def predict_linear(
    model: LinearTextModel, examples: Sequence[Example], mask: IdentityMask = NO_MASK
) -> np.ndarray:
    return model.decision([fasttext_text(e.prompt, e.response, mask) for e in examples])


def pooled_matrix(examples: Sequence[Example], mask: IdentityMask = NO_MASK) -> np.ndarray:
    """The pooled-embedding model's input rows; compute once and slice them per fold."""
    return pooled_features(
        TokenVectors.shared(), [e.prompt for e in examples], [e.response for e in examples], mask
    )


def train_pooled(x: np.ndarray, examples: Sequence[Example], config: TrainConfig) -> PooledEmbeddingModel:
    labels = [e.label == "hallucinated" for e in examples]
    return PooledEmbeddingModel.fit(x, labels, TokenVectors.shared().sha256, config.pooled_c)


@dataclass(slots=True)
class OutOfFold:
    """Predictions of both models for every example (and synthetic negatives of each held-out fold)."""

    examples: list[Example]  # the real examples, in fold order
    hallucination: np.ndarray  # rows: P over LABELS, from the hallucination model
    quality_examples: list[Example]  # real + synthetic, in fold order
    quality: np.ndarray
    linear: np.ndarray  # the TF-IDF model's logit, one per real example
    embedding: np.ndarray  # the pooled-embedding model's logit, one per real example


def out_of_fold(
    examples: Sequence[Example],
    config: TrainConfig,
    mask: IdentityMask = NO_MASK,
    with_quality: bool = True,
    quality_only: Sequence[Example] = (),
) -> OutOfFold:
    """Predictions from models that never saw the sample. ``quality_only`` examples (self-instruct) join
    the quality model's folds only."""
    folds = stratified_folds([e.label for e in examples], config.folds, config.seed)
    out = OutOfFold([], np.zeros((0, len(LABELS))), [], np.zeros((0, len(LABELS))), np.zeros(0), np.zeros(0))
    pooled = pooled_matrix(examples, mask)
    for f, test in enumerate(folds):
        held = set(test)
        kept = [i for i in range(len(examples)) if i not in held]
        train = [examples[i] for i in kept]
        tests = [examples[i] for i in test]
        model = train_fasttext(train, config, mask)
        out.examples += tests
        out.hallucination = np.vstack([out.hallucination, predict(model, tests, mask)])
        out.linear = np.append(out.linear, predict_linear(train_linear(train, config, mask), tests, mask))
        embedding = train_pooled(pooled[kept], train, config)
        out.embedding = np.append(out.embedding, embedding.decision_features(pooled[test]))
        if with_quality:
            extra_train = [e for i, e in enumerate(quality_only) if i % config.folds != f]
            extra_test = [e for i, e in enumerate(quality_only) if i % config.folds == f]
            qmodel = train_fasttext(
                with_synthetic([*train, *extra_train], config.seed + f, config.synth_per_sample), config, mask
            )
            held_out = with_synthetic([*tests, *extra_test], config.seed + 100 + f, config.synth_per_sample)
            out.quality_examples += held_out
            out.quality = np.vstack([out.quality, predict(qmodel, held_out, mask)])
    return out


# ---------------------------------------------------------------- calibration


def platt(probabilities: np.ndarray, targets: np.ndarray, name: str) -> Logistic:
    return Logistic.fit(logit(probabilities)[:, None], targets, (name,), l2=1e-3)


def heuristic_findings(heuristics: Heuristics, examples: Sequence[Example]) -> list[dict[str, Any]]:
    return [
        heuristics.score(
            Sample(id=str(i), shape=ContentShape.ALPACA, instruction=e.prompt, output=e.response)
        )
        for i, e in enumerate(examples)
    ]


def write_identity_terms(data_dir: Path, path: Path) -> list[str]:
    """Group names for :class:`~curator.quality.classifier.IdentityMask`: HolisticBias descriptors of the
    protected axes, its gendered nouns, and the module's own list; sorted, so the file is stable."""
    base = Path(data_dir) / "holistic_bias"
    descriptors = json.loads((base / "descriptors.json").read_text(encoding="utf-8"))
    nouns = json.loads((base / "nouns.json").read_text(encoding="utf-8"))
    terms = set(IDENTITY_TERMS)
    for axis in IDENTITY_AXES:
        groups = descriptors[axis]
        for entries in groups.values() if isinstance(groups, dict) else [groups]:
            for d in entries:
                terms.add((d["descriptor"] if isinstance(d, dict) else d).casefold())
    for gender in ("female", "male"):
        for pair in nouns[gender]:
            terms.update(w.casefold() for w in pair)
    ordered = sorted(terms)
    document = {
        "about": "group names the classifiers never see (masked as __group); built by `curator train quality`"
        " from ../shared/data/holistic_bias (CC BY-SA 4.0) and curator.quality.lexicon.IDENTITY_TERMS",
        "axes": list(IDENTITY_AXES),
        "terms": ordered,
    }
    Path(path).write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return ordered


def no_context_matrix(
    examples: Sequence[Example],
    probs: np.ndarray,
    linear: np.ndarray,
    embedding: np.ndarray,
    heuristics: Heuristics,
) -> np.ndarray:
    findings = heuristic_findings(heuristics, examples)
    return np.vstack(
        [
            no_context_features(e.prompt, e.response, p, lin, emb, f)
            for e, p, lin, emb, f in zip(examples, probs, linear, embedding, findings, strict=True)
        ]
    )


def fit_no_context(oof: OutOfFold, heuristics: Heuristics) -> tuple[Logistic, Logistic]:
    """(hallucination model without context, Platt scaling of the quality model's P(good))."""
    y = np.array([e.label == "hallucinated" for e in oof.examples], dtype=float)
    x = no_context_matrix(oof.examples, oof.hallucination, oof.linear, oof.embedding, heuristics)
    hallucination = Logistic.fit_signed(x, y, NO_CONTEXT_FEATURES, SIGNS, l2=1.0)
    good = np.array([e.label == "good" for e in oof.quality_examples], dtype=float)
    quality = platt(oof.quality[:, LABELS.index("good")], good, "p_good")
    return hallucination, quality


def qa_examples(rows: Sequence[dict[str, str]]) -> list[tuple[str, str, list[str], int]]:
    """(question, answer, context, label) pairs: the right answer 0, the hallucinated one 1."""
    out = []
    for r in rows:
        out.append((r["question"], r["right_answer"], [r["knowledge"]], 0))
        out.append((r["question"], r["hallucinated_answer"], [r["knowledge"]], 1))
    return out


def context_features(
    items: Sequence[tuple[str, str, list[str], int]],
    encode: Callable[[Sequence[str]], np.ndarray],
    model: Any,
    mask: IdentityMask = NO_MASK,
) -> np.ndarray:
    """Grounding features + the hallucination classifier's logit, one row per item."""
    scorer = GroundingScorer(encode)
    reports = []
    for start in range(0, len(items), 64):
        chunk = items[start : start + 64]
        reports += scorer.reports([(q, a, c) for q, a, c, _ in chunk])
    probs = predict_texts(model, [fasttext_text(q, a, mask) for q, a, _, _ in items])
    clf = np.array([classifier_logit(p) for p in probs])
    return np.column_stack([np.vstack([r.vector() for r in reports]), clf])


# ---------------------------------------------------------------- the command


def default_encoder() -> Callable[[Sequence[str]], np.ndarray]:
    from curator.embeddings.model import load_encoder

    encoder = load_encoder(None, "torch", 64, 1)  # one thread: reproducible, and kind to a shared machine
    return encoder.encode


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_quality(
    config: TrainConfig,
    encode: Callable[[Sequence[str]], np.ndarray] | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build every artefact of MODEL_FILES in ``config.out_dir``; return (and write) a training report."""
    started = time.perf_counter()
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    write_profiles(out / "langid_seed", out / "langid.json")
    heuristics = Heuristics(LanguageIdentifier.load(out / "langid.json"))
    report("language profiles written")
    terms = write_identity_terms(config.data_dir, out / "identity_terms.json")
    mask = IdentityMask(terms)
    report(f"{len(terms)} identity terms written")

    examples = load_general(config.data_dir)
    extra = load_self_instruct(config.data_dir)
    oof = out_of_fold(examples, config, mask, quality_only=extra)
    hall_cal, quality_cal = fit_no_context(oof, heuristics)
    y = np.array([e.label == "hallucinated" for e in oof.examples])
    oof_classifier = auroc(np.array([classifier_logit(p) for p in oof.hallucination]), y)
    oof_linear = auroc(oof.linear, y)
    oof_embedding = auroc(oof.embedding, y)
    x_oof = no_context_matrix(oof.examples, oof.hallucination, oof.linear, oof.embedding, heuristics)
    oof_judgement = auroc(hall_cal.predict(x_oof), y)
    report(
        f"out-of-fold AUROC on halueval_general_dev: classifier {oof_classifier:.4f},"
        f" TF-IDF model {oof_linear:.4f}, pooled-embedding model {oof_embedding:.4f},"
        f" judgement {oof_judgement:.4f}"
    )

    model = train_fasttext(examples, config, mask, quantize=True)
    model.save_model(str(out / "hallucination.ftz"))
    quality_examples = with_synthetic([*examples, *extra], config.seed, config.synth_per_sample)
    train_fasttext(quality_examples, config, mask, quantize=True).save_model(str(out / "quality.ftz"))
    train_linear(examples, config, mask).save(out / LINEAR_FILE)
    train_pooled(pooled_matrix(examples, mask), examples, config).save(out / POOLED_FILE)
    sizes = {
        name: (out / name).stat().st_size
        for name in ("hallucination.ftz", "quality.ftz", LINEAR_FILE, POOLED_FILE)
    }
    report(f"classifiers written: {', '.join(f'{k} {v / 1e6:.2f} MB' for k, v in sizes.items())}")

    qa = load_qa(config.data_dir)
    calib_idx, eval_idx = qa_split(len(qa), config.seed, config.qa_calibration_fraction)
    items = qa_examples([qa[i] for i in calib_idx])
    x = context_features(items, encode or default_encoder(), model, mask)
    y_qa = np.array([lab for *_, lab in items], dtype=float)
    grounding_cal = Logistic.fit_signed(x[:, : len(FEATURES)], y_qa, FEATURES, SIGNS, l2=1.0)
    context_cal = Logistic.fit_signed(x, y_qa, CONTEXT_FEATURES, SIGNS, l2=1.0)
    report(f"context calibration fitted on {len(calib_idx)} halueval_qa_dev questions")

    calibration = {
        "about": "see models/quality/MODEL_CARD.md; rebuilt by `curator train quality`",
        "no_context": {"hallucination": hall_cal.to_json(), "quality": quality_cal.to_json()},
        "context": {"grounding": grounding_cal.to_json(), "hallucination": context_cal.to_json()},
        "arithmetic_error_probability": ARITHMETIC_ERROR_PROBABILITY,
        "qa_split": {"seed": config.seed, "calibration": calib_idx, "evaluation": eval_idx},
    }
    (out / "calibration.json").write_text(json.dumps(calibration, indent=1) + "\n", encoding="utf-8")
    summary = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "training_examples": {
            "hallucination_model": {lab: sum(1 for e in examples if e.label == lab) for lab in LABELS[:2]},
            "quality_model": {lab: sum(1 for e in quality_examples if e.label == lab) for lab in LABELS},
            "added_by_kind": {
                k: sum(1 for e in quality_examples if e.kind == k)
                for k in sorted({e.kind for e in quality_examples} - {"real"})
            },
        },
        "out_of_fold_auroc_halueval_general": {
            "classifier": round(oof_classifier, 4),
            "linear": round(oof_linear, 4),
            "pooled_embedding": round(oof_embedding, 4),
            "judgement": round(oof_judgement, 4),
        },
        "model_bytes": sizes,
        "sha256": {name: file_sha256(out / name) for name in MODEL_FILES},
        "data_sha256": {
            name: file_sha256(Path(config.data_dir) / name)
            for name in (
                "halueval_general_dev.jsonl",
                "halueval_qa_dev.jsonl",
                "self_instruct_user_oriented.jsonl",
            )
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "training_report.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    report(f"done in {summary['seconds']} s")
    return summary
