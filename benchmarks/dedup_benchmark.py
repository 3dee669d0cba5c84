"""Near-duplicate benchmark of curator's dedup stage: precision, recall, F1 and samples/s.

Run from the repository root::

    .venv/bin/python benchmarks/dedup_benchmark.py [--copies N] [--seed S] [--threshold 0.8] \
        [--out results.jsonl]

For each data set (``alpaca``: the 5,000 Alpaca records as they are, ~60
words; ``alpaca_long``: each record with the next record's output appended,
~105 words) it builds N perturbed copies with :mod:`benchmarks.perturb`, feeds
the originals and then the shuffled copies through the dedup stage (the
Pipeline with EmptyCheck, ExactDuplicateCheck and NearDuplicateCheck over a
durable CollectionState, in requests of 1,000), scores every decision against
the exact Jaccard of the shingle sets, and times the same stage again with
signatures made the way datasketch users usually make them (``MinHash.update``
per shingle) as the reference. One JSON line per data set goes to stdout
(and to ``--out``). See benchmarks/README.md for what each field means.
"""

from __future__ import annotations

import os

# Single-threaded numpy, set before anything imports it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from datasketch import MinHash  # noqa: E402

from benchmarks.perturb import (  # noqa: E402
    edit_count,
    jaccard_of_sets,
    operators,
    perturb_record,
    shingles,
    similar_pairs,
    vocabulary_from,
)
from curator.checks.base import IndexedCheck, Item  # noqa: E402
from curator.checks.empty import EmptyCheck  # noqa: E402
from curator.checks.exact_duplicate import ExactDuplicateCheck  # noqa: E402
from curator.checks.near_duplicate import NearDuplicateCheck  # noqa: E402
from curator.dedup.minhash import lsh_params  # noqa: E402
from curator.domain.decision import Decision, Verdict  # noqa: E402
from curator.domain.normalize import normalize, words  # noqa: E402
from curator.domain.policy import CheckPolicy, Policy, RulePolicy, resolve_policy  # noqa: E402
from curator.domain.reasons import ReasonCode  # noqa: E402
from curator.domain.sample import ContentShape, Sample  # noqa: E402
from curator.pipeline.pipeline import Pipeline  # noqa: E402
from curator.state.collection import CollectionState  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
DUPLICATE_CODES = (ReasonCode.EXACT_DUPLICATE, ReasonCode.NEAR_DUPLICATE)
# Edits per word are drawn uniformly from [0, MAX_EDIT_RATE]: about half the
# copies then land above a 0.8 threshold (see the histogram in the output).
MAX_EDIT_RATE = 0.09
HIST_BINS = [round(0.05 * k, 2) for k in range(21)]


# --------------------------------------------------------------------------- reference check


class TimedNearDuplicateCheck(NearDuplicateCheck):
    """curator's NEAR_DUPLICATE check, unchanged, recording the time spent in ``features`` (signatures)."""

    features_s = 0.0

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        try:
            return super().features(items, policy)
        finally:
            self.features_s += time.perf_counter() - t0


class DatasketchReferenceCheck(TimedNearDuplicateCheck):
    """NEAR_DUPLICATE with signatures made per shingle by datasketch, as its users usually do.

    Same shingles (normalize → words → word n-grams), same LSH and verification;
    only ``features`` differs. Its signatures (sha1 of the joined shingle)
    differ from curator's, so it must run against its own collection.
    """

    def signatures(
        self, items: Sequence[Item], shingles: list[np.ndarray], policy: CheckPolicy
    ) -> np.ndarray:
        size = int(policy.params["shingle_size"])
        num_perm = int(policy.params["num_perm"])
        out = np.empty((len(items), num_perm), dtype=np.uint32)
        for row, it in enumerate(items):
            toks = words(it.normalized_key)
            m = MinHash(num_perm=num_perm, scheme="affine32")
            if toks:
                n = min(size, len(toks))
                for i in range(len(toks) - n + 1):
                    m.update(" ".join(toks[i : i + n]).encode())
            out[row] = m.hashvalues
        return out


# --------------------------------------------------------------------------- data sets


@dataclass
class DataSet:
    name: str
    samples: list[Sample]  # in feed order: originals, then shuffled copies
    source: dict[str, str]  # copy id -> id of the original it was made from
    n_originals: int
    ops_applied: dict[str, int] = field(default_factory=dict)


def alpaca_sample(sample_id: str, rec: Mapping[str, str]) -> Sample:
    return Sample(
        id=sample_id,
        shape=ContentShape.ALPACA,
        instruction=rec.get("instruction", ""),
        input=rec.get("input", ""),
        output=rec.get("output", ""),
    )


def lengthen(records: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Each record with the next record's output appended to its own (~105 words on average)."""
    n = len(records)
    return [
        {**rec, "output": "\n".join(p for p in (rec["output"], records[(i + 1) % n]["output"]) if p)}
        for i, rec in enumerate(records)
    ]


def build_set(
    name: str, records: Sequence[Mapping[str, str]], copies: int, seed: int, max_rate: float
) -> DataSet:
    rng = random.Random(f"{seed}:{name}")
    originals = [alpaca_sample(f"{name}-o{i}", rec) for i, rec in enumerate(records)]
    vocab = vocabulary_from(s.full_text for s in originals)
    ops = operators(vocab)
    made: list[Sample] = []
    source: dict[str, str] = {}
    applied: dict[str, int] = {}
    for k in range(copies):
        src = rng.randrange(len(records))
        n_words = len(words(normalize(originals[src].full_text)))
        rec, names = perturb_record(records[src], rng, edit_count(n_words, rng, max_rate), ops)
        sample = alpaca_sample(f"{name}-c{k}", rec)
        made.append(sample)
        source[sample.id] = originals[src].id
        for op in names:
            applied[op] = applied.get(op, 0) + 1
    rng.shuffle(made)
    return DataSet(name, originals + made, source, len(originals), dict(sorted(applied.items())))


# --------------------------------------------------------------------------- the stage


def make_policy(checks, threshold: float, num_perm: int, shingle_size: int, sketch_size: int) -> Policy:
    given = Policy(
        checks={
            "near_duplicate": CheckPolicy(
                rules={str(ReasonCode.NEAR_DUPLICATE): RulePolicy(threshold=threshold)},
                params={"num_perm": num_perm, "shingle_size": shingle_size, "sketch_size": sketch_size},
            )
        }
    )
    return resolve_policy(given, checks)


def run_stage(
    samples: Sequence[Sample],
    near: NearDuplicateCheck,
    policy_args: tuple[float, int, int],
    batch_size: int,
    state_dir: str | None,
    fsync: bool = True,
    profile: cProfile.Profile | None = None,
) -> tuple[list[Decision], float]:
    """Decisions for every sample and the wall time spent inside ``Pipeline.run`` only."""
    checks = [EmptyCheck(), ExactDuplicateCheck(), near]
    policy = make_policy(checks, *policy_args)
    pipeline = Pipeline(checks)
    decisions: list[Decision] = []
    elapsed = 0.0
    # What the process held before (the data set, earlier runs' decisions) is moved out of
    # the garbage collector's sight, so full collections during the run walk only what
    # the stage itself allocates (its indexes above all), as in a service process.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory(dir=state_dir, prefix="curator-bench-") as tmp:
        state = CollectionState(
            "bench", policy, Path(tmp), [c for c in checks if isinstance(c, IndexedCheck)], fsync=fsync
        )
        try:
            for lo in range(0, len(samples), batch_size):
                batch = samples[lo : lo + batch_size]
                if profile:
                    profile.enable()
                t0 = time.perf_counter()
                decisions += pipeline.run(batch, state, policy, 1)
                elapsed += time.perf_counter() - t0
                if profile:
                    profile.disable()
        finally:
            state.close()
            gc.unfreeze()
    return decisions, elapsed


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fn_copy_vs_source: int = 0  # kept copies whose exact Jaccard to their source is ≥ threshold
    fn_no_candidate: int = 0  # of the FNs: no kept sample scored at all (LSH proposed nothing)
    exact_drops: int = 0
    near_drops: int = 0
    # (outcome, deciding exact Jaccard) for every TP, FP and FN.
    outcomes: list[tuple[str, float]] = field(default_factory=list)

    def add(self, outcome: str, jac: float) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes.append((outcome, jac))

    @staticmethod
    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def f1(self) -> float:
        return self.prf(self.tp, self.fp, self.fn)[2]

    def f1_outside(self, threshold: float, band: float) -> float:
        """F1 over the decisions whose deciding exact Jaccard is at least ``band`` away from the threshold."""
        far = [o for o, j in self.outcomes if abs(j - threshold) >= band]
        return self.prf(far.count("tp"), far.count("fp"), far.count("fn"))[2]

    def error_range(self) -> list[float]:
        errs = [j for o, j in self.outcomes if o != "tp"]
        return [round(min(errs), 3), round(max(errs), 3)] if errs else []

    def fields(self, prefix: str, threshold: float) -> dict[str, object]:
        p, r, f = self.prf(self.tp, self.fp, self.fn)
        return {
            f"{prefix}precision": round(p, 4),
            f"{prefix}recall": round(r, 4),
            f"{prefix}f1": round(f, 4),
            f"{prefix}tp": self.tp,
            f"{prefix}fp": self.fp,
            f"{prefix}fn": self.fn,
            f"{prefix}f1_outside_0.05_of_threshold": round(self.f1_outside(threshold, 0.05), 4),
            f"{prefix}errors_true_jaccard_range": self.error_range(),
            f"{prefix}fn_copy_vs_source": self.fn_copy_vs_source,
            f"{prefix}fn_no_candidate": self.fn_no_candidate,
            f"{prefix}exact_drops": self.exact_drops,
            f"{prefix}near_drops": self.near_drops,
        }


def score(
    data: DataSet,
    decisions: Sequence[Decision],
    sets: Mapping[str, set],
    pairs: Mapping[tuple[int, int], float],
    threshold: float,
) -> Score:
    """Score the stage's decisions against exact Jaccard.

    A drop for EXACT_ or NEAR_DUPLICATE is a TP when the exact Jaccard to its
    ``matched_id`` is ≥ threshold, else an FP. A kept sample is an FN when an
    earlier-fed sample that was kept has exact Jaccard ≥ threshold with it
    (found by an exact all-pairs join, so originals that duplicate each other
    and copies of one source count too).
    """
    pos = {s.id: i for i, s in enumerate(data.samples)}
    partners: dict[int, list[int]] = {}
    for i, j in pairs:
        partners.setdefault(j, []).append(i)
    kept = [d.verdict is Verdict.KEEP for d in decisions]
    out = Score()
    for j, (sample, d) in enumerate(zip(data.samples, decisions, strict=True)):
        assert d.sample_id == sample.id
        dup = next((r for r in d.reasons if r.code in DUPLICATE_CODES), None)
        if dup is not None:
            if dup.code is ReasonCode.EXACT_DUPLICATE:
                out.exact_drops += 1
            else:
                out.near_drops += 1
            assert pos[dup.matched_id] < j and kept[pos[dup.matched_id]]
            jac = jaccard_of_sets(sets[sample.id], sets[dup.matched_id])
            out.add("tp" if jac >= threshold else "fp", jac)
        elif kept[j]:
            best = max((pairs[(i, j)] for i in partners.get(j, ()) if kept[i]), default=None)
            if best is not None:
                out.add("fn", best)
                if d.scores.get("near_duplicate", 0.0) == 0.0:
                    out.fn_no_candidate += 1
        src = data.source.get(sample.id)
        if dup is None and src is not None and jaccard_of_sets(sets[sample.id], sets[src]) >= threshold:
            out.fn_copy_vs_source += 1
    return out


def histogram(values: Sequence[float]) -> dict[str, int]:
    """Counts per 0.05-wide bin "[lo,hi)", plus "1.0" for exact shingle-set equality."""
    counts = np.histogram([v for v in values if v < 1.0], bins=HIST_BINS)[0]
    hist = {
        f"[{lo:.2f},{hi:.2f})": int(c) for lo, hi, c in zip(HIST_BINS, HIST_BINS[1:], counts, strict=False)
    }
    hist["1.0"] = sum(1 for v in values if v >= 1.0)
    return hist


# --------------------------------------------------------------------------- main


def measure(
    data: DataSet, args: argparse.Namespace, cpu: int, profile: cProfile.Profile | None
) -> dict[str, object]:
    # The stages run before the ground truth is built: its million shingle tuples would
    # otherwise sit in the heap (see run_stage on the garbage collector).
    # --repeat runs of each, interleaved so that drifts in machine speed hit both alike; the
    # medians are reported. Decisions are deterministic, so the first run's are scored.
    policy_args = (args.threshold, args.num_perm, args.shingle_size, args.sketch_size)
    ours_s: list[float] = []
    ours_sig_s: list[float] = []
    ref_s: list[float] = []
    ref_sig_s: list[float] = []
    decisions: list[Decision] = []
    ref_decisions: list[Decision] = []
    for r in range(max(1, args.repeat)):
        check = TimedNearDuplicateCheck()
        got, elapsed = run_stage(
            data.samples,
            check,
            policy_args,
            args.batch_size,
            args.state_dir,
            profile=profile if r == 0 else None,
        )
        if r == 0:
            decisions = got
        ours_s.append(elapsed)
        ours_sig_s.append(check.features_s)
        if not args.no_reference:
            ref_check = DatasketchReferenceCheck()
            got, ref_elapsed = run_stage(
                data.samples, ref_check, policy_args, args.batch_size, args.state_dir
            )
            if r == 0:
                ref_decisions = got
            ref_s.append(ref_elapsed)
            ref_sig_s.append(ref_check.features_s)
    elapsed, sig_s = float(np.median(ours_s)), float(np.median(ours_sig_s))

    t_prep = time.perf_counter()
    sets = {s.id: shingles(s.full_text, args.shingle_size) for s in data.samples}
    pairs = similar_pairs([sets[s.id] for s in data.samples], args.threshold)
    copy_jaccard = [jaccard_of_sets(sets[c], sets[src]) for c, src in data.source.items()]
    mean_words = float(np.mean([len(words(normalize(s.full_text))) for s in data.samples]))
    prep_s = time.perf_counter() - t_prep

    n = len(data.samples)
    ours = score(data, decisions, sets, pairs, args.threshold)
    line: dict[str, object] = {
        "benchmark": "dedup",
        "set": data.name,
        "samples": n,
        "originals": data.n_originals,
        "copies": len(data.source),
        "mean_words": round(mean_words, 1),
        "threshold": args.threshold,
        **ours.fields("", args.threshold),
        "true_pairs_at_or_above_threshold": len(pairs),
        "samples_per_s": round(n / elapsed, 1),
        "samples_per_s_runs": [round(n / t, 1) for t in ours_s],
        "stage_s": round(elapsed, 3),
        "signatures_s": round(sig_s, 3),
    }
    if not args.no_reference:
        ref = score(data, ref_decisions, sets, pairs, args.threshold)
        ref_elapsed, ref_sig = float(np.median(ref_s)), float(np.median(ref_sig_s))
        line |= {
            "reference_samples_per_s": round(n / ref_elapsed, 1),
            "reference_samples_per_s_runs": [round(n / t, 1) for t in ref_s],
            "reference_stage_s": round(ref_elapsed, 3),
            "reference_signatures_s": round(ref_sig, 3),
            "speedup": round(ref_elapsed / elapsed, 2),
            "signature_speedup": round(ref_sig / sig_s, 1),
            **{
                k: v
                for k, v in ref.fields("reference_", args.threshold).items()
                if k.split("reference_")[1] in ("precision", "recall", "f1", "tp", "fp", "fn")
            },
        }
    bands, rows = lsh_params(args.threshold, args.num_perm)
    line |= {
        "copies_at_or_above_threshold": sum(1 for j in copy_jaccard if j >= args.threshold),
        "true_jaccard_histogram": histogram(copy_jaccard),
        "ops_applied": data.ops_applied,
        "cpu": cpu,
        "num_perm": args.num_perm,
        "shingle_size": args.shingle_size,
        "sketch_size": args.sketch_size,
        "lsh_bands": bands,
        "lsh_rows": rows,
        "batch_size": args.batch_size,
        "fsync": True,
        "seed": args.seed,
        "repeat": args.repeat,
        "max_edit_rate": args.max_edit_rate,
        "ground_truth_s": round(prep_s, 2),
    }
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=5000, help="perturbed copies per data set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--out", type=Path, help="also append the JSON lines to this file")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="Alpaca JSON: a list of {instruction, input, output}"
    )
    parser.add_argument("--sets", default="alpaca,alpaca_long", help="comma-separated: alpaca, alpaca_long")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--shingle-size", type=int, default=3)
    parser.add_argument(
        "--sketch-size",
        type=int,
        default=256,
        help="bottom-k verification sketch (0: verify on MinHash signatures)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="samples per Pipeline.run request")
    parser.add_argument(
        "--max-edit-rate", type=float, default=MAX_EDIT_RATE, help="edits per word, upper bound"
    )
    parser.add_argument(
        "--state-dir", help="where the temporary collections live (default: the system temp dir)"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the datasketch reference run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each stage; medians are reported"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile curator's stage; top functions to stderr"
    )
    args = parser.parse_args(argv)

    cpu = min(os.sched_getaffinity(0))
    if not args.no_pin:
        os.sched_setaffinity(0, {cpu})
    records = json.loads(args.data.read_text())
    builders = {"alpaca": lambda: records, "alpaca_long": lambda: lengthen(records)}
    out = args.out.open("a") if args.out else None
    try:
        for name in args.sets.split(","):
            data = build_set(name, builders[name](), args.copies, args.seed, args.max_edit_rate)
            profile = cProfile.Profile() if args.profile else None
            line = json.dumps(measure(data, args, cpu if not args.no_pin else -1, profile))
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()
            if profile:
                buf = io.StringIO()
                pstats.Stats(profile, stream=buf).sort_stats("tottime").print_stats(30)
                buf.write("\n")
                pstats.Stats(profile, stream=buf).sort_stats("cumulative").print_stats(40)
                print(f"--- profile of curator's stage, set {name} ---\n{buf.getvalue()}", file=sys.stderr)
    finally:
        if out:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
