"""ONNX Runtime against torch for the embedding model: speed and agreement, in one run.

Run from the repository root::

    .venv/bin/python benchmarks/onnx_benchmark.py [--texts 512] [--threads 2 1] [--repeat 3] \
        [--onnx-dir DIR] [--no-int8] [--out results.jsonl]

Without ``--onnx-dir`` it exports the packaged all-MiniLM-L6-v2 into a temporary
directory first (``export_onnx`` with fusion and int8 quantisation) and reports
how long that took.

Two sets of texts from ``../shared/data/alpaca_5000.json``: ``alpaca``
(instruction, input and output of one record joined with newlines, ~60 words)
and ``alpaca_250w`` (consecutive records joined until a text has at least 250
words; longer than MiniLM's 256 word pieces, so every text is truncated).

Backends: ``torch`` (the project's SentenceTransformerEncoder: batch 32,
normalised, ``torch.set_num_threads``), ``onnx-fp32`` (``model.onnx``),
``onnx-fp32-fused`` (``model.fused.onnx``, onnxruntime's transformer fusions),
``onnx-int8`` (``model.int8.onnx``), each an OnnxEncoder with
``intra_op_num_threads`` equal to the torch threads. Every backend encodes the
whole set ``--repeat`` times (backends interleaved, order rotated per repeat,
after one warm-up batch); the median wall time counts. ``cpu_s_median`` (the
process's CPU time) and ``loadavg_1m`` (before, after) show how busy the
machine was: on a shared machine the wall times swing with other work. Agreement is the cosine
between each text's torch and ONNX embedding (both L2-normalised).

Output: one JSON line per backend × set × threads, then one verdict line. The
bar for a variant: min cosine >= 0.999 on every set AND faster than torch on
every set and thread count measured.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from curator.embeddings.model import SentenceTransformerEncoder, default_model_path  # noqa: E402
from curator.embeddings.onnx_encoder import OnnxEncoder  # noqa: E402
from curator.embeddings.onnx_export import FUSED_FILE, INT8_FILE, MODEL_FILE, export_onnx  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
BAR_COSINE = 0.999
VARIANTS = {"onnx-fp32": MODEL_FILE, "onnx-fp32-fused": FUSED_FILE, "onnx-int8": INT8_FILE}


def record_text(record: dict[str, str]) -> str:
    return "\n".join(part for part in (record["instruction"], record["input"], record["output"]) if part)


def make_sets(data: Path, n: int, long_words: int) -> dict[str, list[str]]:
    records = json.loads(data.read_text())
    short = [record_text(r) for r in records[:n]]
    long: list[str] = []
    i = 0
    while len(long) < n:
        parts: list[str] = []
        words = 0
        while words < long_words:
            text = record_text(records[i % len(records)])
            parts.append(text)
            words += len(text.split())
            i += 1
        long.append("\n".join(parts))
    return {"alpaca": short, f"alpaca_{long_words}w": long}


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a.astype(np.float64) * b.astype(np.float64)).sum(axis=1))


def emit(row: dict[str, Any], out: Any) -> None:
    line = json.dumps(row)
    print(line, flush=True)
    if out is not None:
        out.write(line + "\n")
        out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=512, help="texts per set")
    parser.add_argument("--long-words", type=int, default=250, help="least words per text of the long set")
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1], help="torch and ORT threads")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per backend; the median counts")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--onnx-dir", type=Path, default=None, help="an export; default: export now")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 variant")
    parser.add_argument("--no-fused", action="store_true", help="skip the fused fp32 variant")
    parser.add_argument("--sets", nargs="+", default=None, help="only these sets")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=None, help="also append the JSON lines here")
    args = parser.parse_args(argv)

    import torch

    out = args.out.open("a") if args.out else None
    model_path = default_model_path()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    onnx_dir: Path
    if args.onnx_dir is not None:
        onnx_dir = args.onnx_dir
    else:
        tmp = tempfile.TemporaryDirectory(prefix="curator-onnx-")
        onnx_dir = Path(tmp.name)
        started = time.perf_counter()
        export_onnx(model_path, onnx_dir, fuse=not args.no_fused, quantize=not args.no_int8)
        info = json.loads((onnx_dir / "export.json").read_text())
        emit(
            {
                "export": True,
                "export_s": info["export_s"],
                "total_with_fuse_and_int8_s": round(time.perf_counter() - started, 2),
                "max_abs_diff_vs_torch": info["max_abs_diff_vs_torch"],
                "torch": info["torch"],
                "onnxruntime": info["onnxruntime"],
                "opset": info["opset"],
            },
            out,
        )
    variants = {
        name: file
        for name, file in VARIANTS.items()
        if (onnx_dir / file).is_file()
        and not (args.no_int8 and file == INT8_FILE)
        and not (args.no_fused and file == FUSED_FILE)
    }

    sets = make_sets(args.data, args.texts, args.long_words)
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets}
    from tokenizers import Tokenizer

    counter = Tokenizer.from_file(str(onnx_dir / "tokenizer.json"))
    counter.no_truncation()
    counter.no_padding()

    rows: list[dict[str, Any]] = []
    torch_encoder = SentenceTransformerEncoder(model_path, "torch", batch_size=args.batch_size)
    for threads in args.threads:
        torch.set_num_threads(threads)
        encoders: dict[str, Any] = {"torch": torch_encoder}
        for name, file in variants.items():
            encoders[name] = OnnxEncoder(
                onnx_dir, batch_size=args.batch_size, threads=threads, file_name=file
            )
        for set_name, texts in sets.items():
            lengths = [len(e.ids) for e in counter.encode_batch(texts)]
            limit = torch_encoder.max_seq_length
            shape = {
                "texts": len(texts),
                "mean_words": round(statistics.fmean(len(t.split()) for t in texts), 1),
                "mean_tokens": round(statistics.fmean(lengths), 1),
                "truncated_frac": round(sum(n > limit for n in lengths) / len(texts), 3),
            }
            for encoder in encoders.values():  # warm-up: first-call allocations, thread pools
                encoder.encode(texts[: args.batch_size])
            runs: dict[str, list[float]] = {name: [] for name in encoders}
            cpu: dict[str, list[float]] = {name: [] for name in encoders}
            load_before = os.getloadavg()[0]
            vectors: dict[str, np.ndarray] = {}
            names = list(encoders)
            for rep in range(args.repeat):
                shift = rep % len(names)
                for name in names[shift:] + names[:shift]:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    vectors[name] = encoders[name].encode(texts)
                    runs[name].append(time.perf_counter() - start)
                    cpu[name].append(time.process_time() - start_cpu)
            load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            torch_s = statistics.median(runs["torch"])
            for name in names:
                median = statistics.median(runs[name])
                row: dict[str, Any] = {
                    "backend": name,
                    "set": set_name,
                    "threads": threads,
                    "batch_size": args.batch_size,
                    **shape,
                    "median_s": round(median, 3),
                    "runs_s": [round(s, 3) for s in runs[name]],
                    "texts_per_s": round(len(texts) / median, 1),
                    "speedup_vs_torch": round(torch_s / median, 3),
                    "cpu_s_median": round(statistics.median(cpu[name]), 3),
                    "loadavg_1m": load,
                }
                if name != "torch":
                    cos = cosines(vectors["torch"], vectors[name])
                    row.update(
                        cos_min=round(float(cos.min()), 6),
                        cos_mean=round(float(cos.mean()), 6),
                        cos_p01=round(float(np.quantile(cos, 0.01)), 6),
                    )
                rows.append(row)
                emit(row, out)

    verdict: dict[str, Any] = {"verdict": True, "bar": f"min cosine >= {BAR_COSINE} and faster than torch"}
    meets: dict[str, bool] = {}
    for name in variants:
        mine = [r for r in rows if r["backend"] == name]
        cos_min = min(r["cos_min"] for r in mine)
        slowest = min(r["speedup_vs_torch"] for r in mine)
        meets[name] = cos_min >= BAR_COSINE and slowest > 1.0
        verdict[name] = {
            "meets_bar": meets[name],
            "cos_min": cos_min,
            "cos_mean": round(statistics.fmean(r["cos_mean"] for r in mine), 6),
            "speedup_min": slowest,
            "speedup_by_set_threads": {f"{r['set']}@{r['threads']}": r["speedup_vs_torch"] for r in mine},
        }
    fp32 = [n for n in variants if n != "onnx-int8"]
    verdict["onnx_meets_bar"] = any(meets[n] for n in fp32)
    passing = [n for n in variants if meets[n]]
    verdict["recommended"] = max(passing, key=lambda n: verdict[n]["speedup_min"]) if passing else None
    emit(verdict, out)
    if out is not None:
        out.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
