"""Decontamination on the HaluEval development set: recall by leak kind, false positives, cost.

    .venv/bin/python benchmarks/decontamination_benchmark.py [--ngrams 5,8,10,13] [--json-out F]

Builds the development set of :mod:`benchmarks.contamination_data` (250 HaluEval QA questions as
the eval set; training samples that contain them verbatim, reworded or answered; same-style
negatives from the other 250 questions, and Alpaca records), then runs the ``decontamination``
check's two stages as the service runs them:

* the n-gram stage for several n: recall per leak kind, false-positive rate on the negatives, cost
  per sample and memory per indexed n-gram;
* the paraphrase stage (MiniLM, the check's own sentence segmentation) on what the n-gram stage at
  the default n missed: reworded recall and false positives across cosine thresholds.

One JSON object per line. The check's defaults (n = 8, threshold 0.85) were chosen from this output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.contamination_data import build  # noqa: E402
from curator.checks.decontamination import DEFAULT_NGRAM, MAX_SEGMENTS, _segments  # noqa: E402
from curator.dedup.ngrams import NgramIndex  # noqa: E402
from curator.embeddings.embedder import Embedder  # noqa: E402
from curator.settings import Settings  # noqa: E402

LEAKS = ("verbatim", "answered", "reworded")
NEGATIVE = ("negative", "clean")


def _text(sample: dict[str, Any]) -> str:
    return "\n".join(sample[k] for k in ("instruction", "input", "output") if sample.get(k))


def _rates(samples: list[dict[str, Any]], flagged: list[bool]) -> dict[str, float]:
    out = {}
    for kind in (*LEAKS, *NEGATIVE):
        hits = [f for s, f in zip(samples, flagged, strict=True) if s["kind"] == kind]
        out[kind] = round(sum(hits) / len(hits), 4) if hits else 0.0
    negatives = [f for s, f in zip(samples, flagged, strict=True) if s["kind"] in NEGATIVE]
    out["false_positive_rate"] = round(sum(negatives) / len(negatives), 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ngrams", default="5,8,10,13")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--max-segments", type=int, default=MAX_SEGMENTS, help="sentences per sample")
    args = parser.parse_args()
    evalset, samples, _ = build(args.seed, 250)
    items = [(f"gold:{e['id']}", e["text"]) for e in evalset]
    texts = [_text(s) for s in samples]
    lines: list[dict[str, Any]] = []

    def emit(line: dict[str, Any]) -> None:
        print(json.dumps(line), flush=True)
        lines.append(line)

    flagged_at_default: list[bool] = []
    for n in [int(x) for x in args.ngrams.split(",")]:
        tracemalloc.start()
        index = NgramIndex(items, n)
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        started = time.perf_counter()
        found = [index.find(t) for t in texts]
        seconds = time.perf_counter() - started
        flagged = [f is not None for f in found]
        wrong_item = sum(
            1
            for s, f in zip(samples, found, strict=True)
            if f is not None and s["kind"] in LEAKS and f.key != f"gold:{s['eval_id']}"
        )
        if n == DEFAULT_NGRAM:
            flagged_at_default = flagged
        emit(
            {
                "benchmark": "decontamination",
                "stage": "ngram",
                "n": n,
                **{f"recall_{k}" if k in LEAKS else k: v for k, v in _rates(samples, flagged).items()},
                "leaks_matched_to_another_item": wrong_item,
                "indexed_ngrams": len(index),
                "boilerplate_ngrams": index.boilerplate,
                "bytes_per_indexed_ngram": round(memory / max(1, len(index)), 1),
                "us_per_sample": round(seconds / len(texts) * 1e6, 1),
            }
        )
    # The paraphrase stage, on what the default n-gram stage missed, as the check runs it.
    embedder = Embedder(Settings.load().embeddings)
    embedder.encode(["warm up"])
    started = time.perf_counter()
    vectors = np.asarray(embedder.encode([text for _, text in items]), dtype=np.float32)
    items_s = time.perf_counter() - started
    missed = [k for k, f in enumerate(flagged_at_default) if not f]
    segments = [(k, s) for k in missed for s in _segments(texts[k])[: args.max_segments]]
    started = time.perf_counter()
    embedded = np.asarray(embedder.encode([s for _, s in segments]), dtype=np.float32)
    best = (embedded @ vectors.T).max(axis=1)
    seconds = time.perf_counter() - started
    score = np.zeros(len(samples))
    for (k, _), b in zip(segments, best.tolist(), strict=True):
        score[k] = max(score[k], b)
    whole_started = time.perf_counter()
    embedder.encode([texts[k] for k in missed])
    whole_s = time.perf_counter() - whole_started
    negatives = [k for k, s in enumerate(samples) if s["kind"] in NEGATIVE]
    for threshold in (0.75, 0.8, 0.85, 0.9):
        flagged = [f or score[k] >= threshold for k, f in enumerate(flagged_at_default)]
        emit(
            {
                "benchmark": "decontamination",
                "stage": f"ngram {DEFAULT_NGRAM} + paraphrase",
                "threshold": threshold,
                "max_segments": args.max_segments,
                **{f"recall_{k}" if k in LEAKS else k: v for k, v in _rates(samples, flagged).items()},
                "paraphrase_review_rate_on_negatives": round(
                    float(np.mean([score[k] >= threshold for k in negatives])), 4
                ),
            }
        )
    emit(
        {
            "benchmark": "decontamination",
            "stage": "paraphrase cost",
            "samples_embedded": len(missed),
            "max_segments": args.max_segments,
            "segments_per_sample": round(len(segments) / max(1, len(missed)), 2),
            "ms_per_sample": round(seconds / max(1, len(missed)) * 1e3, 2),
            "ms_per_sample_embedding_whole_text": round(whole_s / max(1, len(missed)) * 1e3, 2),
            "eval_items_embedding_s": round(items_s, 2),
        }
    )
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
