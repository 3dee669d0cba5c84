"""What-if: the dedup stage with proposed core changes, measured against the current one in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/dedup_whatif.py [--sets alpaca,alpaca_long] [--variants ...]

Nothing here is used by the service: these are prototypes of changes to
``curator/`` (which this directory must not edit), plugged into the stage as
NearDuplicateCheck subclasses, so that their effect on speed, and that they
leave decisions unchanged, can be measured before anyone writes them for real.

Variants (cumulative, in this order):

``current``
    curator as it is.
``band_index``
    ``new_index`` returns :class:`BandIndex`: the LSH band keys of a whole
    batch are computed with one numpy expression and stored as plain ints in
    one dict per band (instead of datasketch ``MinHashLSH``: a bytes key and a
    Python set per band per sample, which costs ~20 µs per insert and makes
    every full garbage collection walk ~20 objects per kept sample);
    candidates of a whole batch are verified in one vectorised comparison.
``batch_rows``
    ``IndexedCheck.evaluate_batch`` (every indexed check, exact included)
    stacks the batch's feature columns once and hands each item a row slice,
    instead of calling ``stack([item])`` twice per item (~2.5 µs each).
``vector_batch``
    NearDuplicateCheck's ``evaluate_batch`` matches within the request in one
    vectorised pass (band keys of the request sorted per band, candidate
    pairs scored at once) followed by a plain Python loop that applies the
    policy in order, instead of a query + insert into a scratch index per item.
``fast_normalize``
    ``normalize`` folds whitespace with ``" ".join(s.split())`` instead of
    ``re.sub(r"\\s+", " ", s).strip()``: the same result (``\\s`` and
    ``str.isspace`` agree on every code point), 2× faster.
``exact_verify``
    The check also stores a bottom-k sketch of each sample's shingle hashes
    (its ``BOTTOM_K`` = 256 smallest distinct hashes plus their count, 1 KB per
    sample), and candidates are scored on those: the exact Jaccard of the hash
    sets when both have ≤ 256 shingles (nearly all samples), the bottom-k
    estimate otherwise. MinHash signatures are kept for the LSH bands only.

For each variant: samples/s of the stage, the datasketch per-shingle reference
run through the same variant (its signatures differ, its overhead is the
same), their ratio, precision/recall/F1 scored as in dedup_benchmark.py, and
how many verdicts differ from ``current``. One JSON line per (set, variant).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import curator.checks.base as base_mod  # noqa: E402
from benchmarks import dedup_benchmark as bench  # noqa: E402
from curator.checks.base import CheckContext, DedupIndex, Item, stack  # noqa: E402
from curator.checks.near_duplicate import NearDuplicateCheck  # noqa: E402
from curator.dedup.minhash import lsh_params, shingle_hashes, signatures  # noqa: E402
from curator.domain.decision import Action, CheckResult, Evidence  # noqa: E402
from curator.domain.normalize import normalize as current_normalize  # noqa: E402
from curator.domain.normalize import words  # noqa: E402
from curator.domain.policy import CheckPolicy, reasons_for  # noqa: E402

VARIANTS = ("current", "band_index", "batch_rows", "vector_batch", "fast_normalize", "exact_verify")
current_evaluate_batch = base_mod.IndexedCheck.evaluate_batch
_MIX = np.random.RandomState(12345).randint(1, 2**62, size=64, dtype=np.uint64) | np.uint64(1)


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (sample, band): a multiply-add hash of the band's ``rows`` values."""
    x = sigs[:, : bands * rows].reshape(len(sigs), bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        return (x * _MIX[:rows]).sum(axis=2, dtype=np.uint64)


def best_per_query(q: np.ndarray, r: np.ndarray, scores: np.ndarray, n: int) -> list[tuple[float, int]]:
    """Per query row 0..n-1: the best score among its (q, r) pairs, lowest r on ties; (0.0, -1) if none."""
    out = [(0.0, -1)] * n
    if len(q):
        order = np.lexsort((r, -scores, q))  # by query, best score first, then lowest row
        q, r, scores = q[order], r[order], scores[order]
        first = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        for qi, ri, s in zip(q[first].tolist(), r[first].tolist(), scores[first].tolist(), strict=True):
            out[qi] = (s, ri)
    return out


def signature_scores(
    a: Mapping[str, np.ndarray], ia: np.ndarray, b: Mapping[str, np.ndarray], ib: np.ndarray
):
    """Estimated Jaccard of pairs (a[ia[k]], b[ib[k]]): the share of equal MinHash values."""
    return (a["signature"][ia] == b["signature"][ib]).mean(axis=1)


def bottomk_scores(a: Mapping[str, np.ndarray], ia: np.ndarray, b: Mapping[str, np.ndarray], ib: np.ndarray):
    """Jaccard of pairs from bottom-k sketches: exact when both sets have ≤ k shingles.

    ``bottomk`` rows hold the k smallest distinct 32-bit shingle hashes, sorted,
    padded past ``count``. Only values ≤ the smaller of the two sketches'
    largest kept value are seen completely in both, so the estimate counts
    shared values among the distinct values up to there (all of them when
    neither set was cut: then it is the exact Jaccard of the hash sets).
    """
    k = a["bottomk"].shape[1]
    x = a["bottomk"][ia].astype(np.int64)
    y = b["bottomk"][ib].astype(np.int64)
    nx, ny = a["count"][ia], b["count"][ib]
    pad = np.int64(1 << 33)
    x[np.arange(k)[None, :] >= np.minimum(nx, k)[:, None]] = pad
    y[np.arange(k)[None, :] >= np.minimum(ny, k)[:, None]] = pad
    cut = np.minimum(np.where(nx > k, x[:, -1], pad - 1), np.where(ny > k, y[:, -1], pad - 1))
    merged = np.sort(np.concatenate([x, y], axis=1), axis=1)
    seen = merged <= cut[:, None]
    shared = ((merged[:, 1:] == merged[:, :-1]) & seen[:, 1:]).sum(axis=1)
    distinct = seen.sum(axis=1) - shared
    return np.where(distinct > 0, shared / np.maximum(distinct, 1), 1.0)


def pair_scores(a, ia, b, ib):
    if not len(ia):
        return np.empty(0)
    return bottomk_scores(a, ia, b, ib) if "bottomk" in a else signature_scores(a, ia, b, ib)


class BandIndex(DedupIndex):
    """MinHash LSH with the same bands × rows as the current index, keys as ints in one dict per band.

    Candidates are scored by :func:`pair_scores` on the stored feature columns.
    """

    def __init__(self, num_perm: int, lsh_threshold: float) -> None:
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(lsh_threshold, num_perm)
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(self.bands)]
        self._cols: dict[str, np.ndarray] = {}
        self._ids: list[str] = []

    def add(self, ids: Sequence[str], features: Mapping[str, np.ndarray]) -> None:
        start, need = len(self._ids), len(self._ids) + len(ids)
        for name, column in features.items():
            have = self._cols.get(name)
            if have is None or need > len(have):
                grown = np.empty(
                    (max(need, 2 * (0 if have is None else len(have)), 64), *column.shape[1:]),
                    dtype=column.dtype,
                )
                if have is not None:
                    grown[:start] = have[:start]
                self._cols[name] = have = grown
            have[start:need] = column
        self._ids.extend(ids)
        keys = band_keys(features["signature"], self.bands, self.rows).T.tolist()
        for table, column in zip(self._tables, keys, strict=True):
            for row, key in enumerate(column, start):
                cur = table.get(key)
                if cur is None:
                    table[key] = row
                elif type(cur) is int:
                    table[key] = [cur, row]
                else:
                    cur.append(row)

    def candidates(self, sigs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, kept row) pairs that share at least one band."""
        keys = band_keys(sigs, self.bands, self.rows).tolist()
        qs: list[int] = []
        rs: list[int] = []
        tables = self._tables
        for qi, row_keys in enumerate(keys):
            found: set[int] = set()
            for table, key in zip(tables, row_keys, strict=True):
                cur = table.get(key)
                if cur is not None:
                    if type(cur) is int:
                        found.add(cur)
                    else:
                        found.update(cur)
            qs += [qi] * len(found)
            rs += found
        return np.array(qs, dtype=np.int64), np.array(rs, dtype=np.int64)

    def best_matches(self, features: Mapping[str, np.ndarray]) -> list[tuple[float, int]]:
        q, r = self.candidates(features["signature"])
        return best_per_query(q, r, pair_scores(features, q, self._cols, r), len(features["signature"]))

    def id_of(self, row: int) -> str:
        return self._ids[row]

    def __len__(self) -> int:
        return len(self._ids)


def pairs_within(sigs: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j), i < j, of rows of ``sigs`` that share at least one band key."""
    keys = band_keys(sigs, bands, rows)
    n = len(sigs)
    found: list[np.ndarray] = []
    for b in range(bands):
        order = np.argsort(keys[:, b], kind="stable")
        k = keys[order, b]
        same = np.flatnonzero(k[1:] == k[:-1])
        if not len(same):
            continue
        # Runs of equal keys: start where the previous differs.
        starts = same[np.r_[True, same[1:] != same[:-1] + 1]]
        for s in starts.tolist():
            e = s + 1
            while e < n and k[e] == k[s]:
                e += 1
            members = np.sort(order[s:e])
            i, j = np.triu_indices(len(members), 1)
            found.append(members[i] * n + members[j])
    if not found:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    code = np.unique(np.concatenate(found))
    return code // n, code % n


class BandIndexCheck(NearDuplicateCheck):
    def new_index(self, params: Mapping[str, float]) -> DedupIndex:
        return BandIndex(int(params["num_perm"]), float(params["lsh_threshold"]))


class VectorBatchCheck(BandIndexCheck):
    """Same decisions as IndexedCheck.evaluate_batch, with the within-request matching vectorised."""

    def evaluate_batch(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
        self.prepare(items, ctx.policy)
        index = ctx.state.index(self.name)
        columns = stack(items, self.name)
        kept = index.best_matches(columns) if len(index) else [(0.0, -1)] * len(items)
        earlier: list[Item] = list(ctx.pending)
        p = len(earlier)
        if p:
            before = stack(earlier, self.name)
            columns = {k: np.concatenate([before[k], v]) for k, v in columns.items()}
        bands, rows = lsh_params(
            float(ctx.policy.params["lsh_threshold"]), int(ctx.policy.params["num_perm"])
        )
        ii, jj = pairs_within(columns["signature"], bands, rows)
        scores = pair_scores(columns, ii, columns, jj)
        by_j: dict[int, list[tuple[int, float]]] = {}
        for i, j, s in zip(ii.tolist(), jj.tolist(), scores.tolist(), strict=True):
            by_j.setdefault(j, []).append((i, s))
        alive = [True] * p + [False] * len(items)
        rows_items = earlier + list(items)
        results = []
        for k, (item, (score, row)) in enumerate(zip(items, kept, strict=True)):
            matched = index.id_of(row) if row >= 0 else ""
            best_i, best_s = -1, -1.0
            for i, s in by_j.get(p + k, ()):
                if alive[i] and (s > best_s or (s == best_s and i < best_i)):
                    best_i, best_s = i, s
            if best_i >= 0 and best_s > score:
                score, other = best_s, rows_items[best_i]
                matched = other.sample.id
                item.batch_matches.add(other.position)
            result = CheckResult(
                scores={self.score_name: score},
                evidence={self.score_name: Evidence(matched, self.describe(score))} if matched else {},
            )
            results.append(result)
            if not any(
                r.action is Action.DROP for r in reasons_for(self.name, self.rules, ctx.policy, result)
            ):
                alive[p + k] = True
        return results


def evaluate_batch_rows(self, items: Sequence[Item], ctx: CheckContext) -> list[CheckResult]:
    """IndexedCheck.evaluate_batch with one ``stack`` per call and row slices per item (else unchanged)."""
    self.prepare(items, ctx.policy)
    index = ctx.state.index(self.name)
    columns = stack(items, self.name)
    kept = index.best_matches(columns) if len(index) else [(0.0, -1)] * len(items)
    scratch = self.new_index(ctx.policy.params)
    earlier: list[Item] = []
    if ctx.pending:
        scratch.add([str(it.position) for it in ctx.pending], stack(ctx.pending, self.name))
        earlier.extend(ctx.pending)
    results = []
    for k, (item, (score, row)) in enumerate(zip(items, kept, strict=True)):
        matched = index.id_of(row) if row >= 0 else ""
        own = {name: v[k : k + 1] for name, v in columns.items()}
        if len(scratch):
            ((s_score, s_row),) = scratch.best_matches(own)
            if s_row >= 0 and s_score > score:
                score, other = s_score, earlier[s_row]
                matched = other.sample.id
                item.batch_matches.add(other.position)
        results.append(
            CheckResult(
                scores={self.score_name: score},
                evidence={self.score_name: Evidence(matched, self.describe(score))} if matched else {},
            )
        )
        result = results[-1]
        if not any(r.action is Action.DROP for r in reasons_for(self.name, self.rules, ctx.policy, result)):
            scratch.add([str(item.position)], own)
            earlier.append(item)
    return results


def fast_normalize(text: str) -> str:
    """Same result as curator.domain.normalize.normalize, with whitespace folded by str.split."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


BOTTOM_K = 256


def bottomk_columns(shingles: Sequence[np.ndarray], k: int = BOTTOM_K) -> dict[str, np.ndarray]:
    """Per sample: its k smallest distinct shingle hashes (sorted, padded) and how many distinct it has."""
    bk = np.full((len(shingles), k), np.iinfo(np.uint32).max, dtype=np.uint32)
    count = np.zeros(len(shingles), dtype=np.int32)
    for i, h in enumerate(shingles):
        if not len(h):
            continue
        u = np.sort(h)
        first = np.empty(len(u), dtype=bool)
        first[0] = True
        np.not_equal(u[1:], u[:-1], out=first[1:])
        u = u[first]  # np.unique, without its 3 µs of overhead
        count[i] = len(u)
        bk[i, : min(k, len(u))] = u[:k]
    return {"bottomk": bk, "count": count}


def shingle_arrays(items: Sequence[Item], policy: CheckPolicy) -> list[np.ndarray]:
    size = int(policy.params["shingle_size"])
    return [shingle_hashes(words(it.normalized_key), size) for it in items]


class ExactVerifyCheck(VectorBatchCheck):
    """Candidates verified on bottom-k sketches of the shingle hashes: exact Jaccard for ≤ k shingles."""

    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        sh = shingle_arrays(items, policy)
        return {"signature": signatures(sh, int(policy.params["num_perm"])), **bottomk_columns(sh)}


class ReferenceExactVerifyCheck(bench.DatasketchReferenceCheck, ExactVerifyCheck):
    def features(self, items: Sequence[Item], policy: CheckPolicy) -> dict[str, np.ndarray]:
        cols = bench.DatasketchReferenceCheck.features(self, items, policy)
        return {**cols, **bottomk_columns(shingle_arrays(items, policy))}


def reference_of(cls: type[NearDuplicateCheck]) -> type[NearDuplicateCheck]:
    """The variant with signatures from datasketch MinHash.update per shingle."""
    if issubclass(cls, ExactVerifyCheck):
        return ReferenceExactVerifyCheck
    return type(f"Reference{cls.__name__}", (bench.DatasketchReferenceCheck, cls), {})


CLASSES: dict[str, type[NearDuplicateCheck]] = {
    "current": bench.TimedNearDuplicateCheck,
    "band_index": type("TimedBandIndexCheck", (bench.TimedNearDuplicateCheck, BandIndexCheck), {}),
    "batch_rows": type("TimedBandIndexCheck", (bench.TimedNearDuplicateCheck, BandIndexCheck), {}),
    "vector_batch": type("TimedVectorBatchCheck", (bench.TimedNearDuplicateCheck, VectorBatchCheck), {}),
    "fast_normalize": type("TimedVectorBatchCheck", (bench.TimedNearDuplicateCheck, VectorBatchCheck), {}),
    "exact_verify": type("TimedExactVerifyCheck", (bench.TimedNearDuplicateCheck, ExactVerifyCheck), {}),
}


def run_variant(variant: str, data: bench.DataSet, args: argparse.Namespace) -> dict[str, object]:
    """Run one variant (and its reference) over a data set; decisions are returned under "_decisions"."""
    policy_args = (args.threshold, args.num_perm, args.shingle_size)
    at = VARIANTS.index(variant)
    base_mod.normalize = fast_normalize if at >= VARIANTS.index("fast_normalize") else current_normalize
    base_mod.IndexedCheck.evaluate_batch = (
        evaluate_batch_rows if at >= VARIANTS.index("batch_rows") else current_evaluate_batch
    )
    try:
        check = CLASSES[variant]()
        decisions, elapsed = bench.run_stage(
            data.samples, check, policy_args, args.batch_size, args.state_dir
        )
        n = len(data.samples)
        line: dict[str, object] = {
            "benchmark": "dedup_whatif",
            "set": data.name,
            "variant": variant,
            "samples_per_s": round(n / elapsed, 1),
            "stage_us_per_sample": round(elapsed * 1e6 / n, 1),
            "signatures_us_per_sample": round(check.features_s * 1e6 / n, 1),
            "_decisions": decisions,
        }
        if not args.no_reference:
            ref = reference_of(CLASSES[variant])()
            _, ref_elapsed = bench.run_stage(data.samples, ref, policy_args, args.batch_size, args.state_dir)
            line |= {
                "reference_samples_per_s": round(n / ref_elapsed, 1),
                "reference_signatures_us_per_sample": round(ref.features_s * 1e6 / n, 1),
                "speedup": round(ref_elapsed / elapsed, 2),
            }
        return line
    finally:
        base_mod.normalize = current_normalize
        base_mod.IndexedCheck.evaluate_batch = current_evaluate_batch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="alpaca,alpaca_long")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--copies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--shingle-size", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--state-dir")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    records = json.loads(bench.DATA.read_text())
    builders = {"alpaca": lambda: records, "alpaca_long": lambda: bench.lengthen(records)}
    out = args.out.open("a") if args.out else None
    try:
        for name in args.sets.split(","):
            data = bench.build_set(name, builders[name](), args.copies, args.seed, bench.MAX_EDIT_RATE)
            lines = [run_variant(v, data, args) for v in args.variants.split(",")]
            # Ground truth only after the timed runs (see dedup_benchmark.measure).
            sets = {s.id: bench.shingles(s.full_text, args.shingle_size) for s in data.samples}
            pairs = bench.similar_pairs([sets[s.id] for s in data.samples], args.threshold)
            baseline = next((ln["_decisions"] for ln in lines if ln["variant"] == "current"), None)
            for line in lines:
                decisions = line.pop("_decisions")
                result = bench.score(data, decisions, sets, pairs, args.threshold)
                fields = result.fields("", args.threshold)
                line |= {k: fields[k] for k in ("precision", "recall", "f1", "fp", "fn")}
                if baseline is not None:
                    line["verdicts_differing_from_current"] = sum(
                        a.verdict != b.verdict for a, b in zip(decisions, baseline, strict=True)
                    )
                line |= {"cpu": cpu, "num_perm": args.num_perm, "bottom_k": BOTTOM_K}
                text = json.dumps(line)
                print(text, flush=True)
                if out:
                    out.write(text + "\n")
    finally:
        if out:
            out.close()
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    print(f"done in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    sys.exit(rc)
