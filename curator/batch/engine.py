"""``curator filter --engine ray``: the local engine's decisions for files of samples, on a Ray cluster.

The job runs in four steps, each resumable from the output directory:

1. **measure** (Ray Data, an actor pool: the models load once per actor): each piece of input is
   validated, every per-sample check runs, and every indexed check's features are computed. Each
   finished piece is saved under ``_work/``; a restarted job skips it.
2. **match** (Ray tasks): hash and LSH band shuffles and a blocked vector search find every pair of
   samples that could be duplicates; the collection's own indexes give each sample's best match
   among what it kept before the job.
3. **decide** (the driver): one pass in input order (:mod:`curator.batch.resolve`), the pipeline's
   rules exactly, so that the decisions equal the local engine's sample for sample. Saved before
   anything is admitted, so a job killed while admitting resumes with the same decisions.
4. **write and admit**: decisions and the kept / dropped / review / invalid records per piece, then
   (unless ``dry_run``) the kept samples and every decision committed in chunks, one transaction each,
   provided nobody else admitted to the collection meanwhile.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from curator.batch.measure import BadRecord, MeasuredPiece, Measurer
from curator.batch.plan import DEFAULT_PIECE_RECORDS, Piece, fingerprint, plan
from curator.batch.resolve import IndexedEvidence, Measured, resolve
from curator.batch.shuffle import (
    digest_keys,
    merge_pairs,
    nearest_earlier,
    run_pairs,
    signature_band_keys,
    split,
)
from curator.checks.base import IndexedCheck, Item
from curator.checks.near_duplicate import pair_scores
from curator.dedup.minhash import lsh_params
from curator.domain.decision import Decision, Verdict
from curator.domain.policy import DedupKey
from curator.domain.reasons import ReasonCode
from curator.domain.sample import Sample
from curator.errors import FailedPrecondition
from curator.formats import decision_json
from curator.service import BatchBase, Curator
from curator.state.store import LoggedDecision

OutputFormat = Literal["jsonl", "parquet"]
ADMIT_CHUNK = 5_000  # decisions per admission transaction
NEIGHBOURS = 16  # earlier neighbours each sample keeps from the vector search
QUERY_BLOCK = 2_048  # queries per vector-search task


@dataclass(slots=True)
class BatchJob:
    """One batch job. ``ray_address`` None starts a local Ray runtime with ``num_cpus`` CPUs."""

    inputs: list[Path]
    output_dir: Path
    collection: str = "default"
    dry_run: bool = False
    score_all: bool = False
    output_format: OutputFormat = "jsonl"
    piece_records: int = DEFAULT_PIECE_RECORDS
    ray_address: str | None = None
    num_cpus: int | None = None
    actors: int | None = None  # measuring actors; default: one per CPU of the cluster
    partitions: int = 16  # reduce tasks per shuffle


@dataclass(slots=True)
class BatchSummary:
    read: int = 0
    kept: int = 0
    dropped: int = 0
    review: int = 0
    invalid: int = 0
    seconds: float = 0.0
    pieces: int = 0
    pieces_resumed: int = 0
    admitted: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    shuffle_bytes_by_node: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "samples_per_s": round(self.rate, 1)}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise FailedPrecondition(
            "--engine ray needs Ray Data: pip install 'curator[ray]' (or run `make setup`)"
        ) from None
    return ray


@contextmanager
def ray_runtime(address: str | None, num_cpus: int | None) -> Iterator[Any]:
    """Connect to ``address`` (``auto``: the cluster this machine belongs to), or start a local runtime;
    a runtime already started by the caller is used as it is and left running."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        # "local": a runtime of its own, even where another cluster runs on this machine.
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- the job


def run_batch(
    job: BatchJob,
    curator: Curator,
    report: Callable[[str], None] = print,
    progress: Callable[[str], None] = lambda stage: None,
) -> BatchSummary:
    """Run ``job`` against ``curator``'s collection; bad records are reported as ``FILE line N: ...``."""
    started = time.perf_counter()
    base = curator.batch_base(job.collection)
    pieces = plan(job.inputs, job.piece_records)
    work = job.output_dir / "_work"
    work.mkdir(parents=True, exist_ok=True)
    key = fingerprint(
        pieces,
        json.dumps(
            [
                base.name,
                base.policy.model_dump(mode="json"),
                base.policy_version,
                job.score_all,
                job.dry_run,
                [(i.name, i.created_at.isoformat()) for i in curator.list_evalsets()],
            ],
            sort_keys=True,
        ),
    )
    manifest = _Manifest.load(work / "job.json", key, base)
    summary = BatchSummary(pieces=len(pieces))
    clock = _Stages(summary, progress)
    with ray_runtime(job.ray_address, job.num_cpus) as ray:
        if manifest.decided_seq is None:
            with clock("measure"):
                summary.pieces_resumed = _measure(ray, job, curator, base, pieces, work)
            with clock("match and decide"):
                decided = _decide(ray, job, curator, base, _gather(pieces, work), summary)
                # Only what the pieces cannot give again: the decisions (a restart re-gathers the rest).
                _save(work / "decided.pkl", (decided.decisions, decided.known))
            manifest.decided_seq = base.seq
            manifest.save()
        else:
            summary.pieces_resumed = len(pieces)
            gathered = _gather(pieces, work)
            decisions, known = _load(work / "decided.pkl")
            decided = _Decided(
                gathered.where,
                [m.sample for m in gathered.measured],
                decisions,
                known,
                gathered.bad,
                gathered.columns(),
            )
    with clock("write"):
        _write_outputs(job, pieces, decided, report, summary)
    if not job.dry_run:
        with clock("admit"):
            summary.admitted = _admit(curator, base, decided, manifest)
    summary.seconds = time.perf_counter() - started
    (job.output_dir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return summary


class _Stages:
    """Announces each step and times it into ``summary.stage_seconds``."""

    def __init__(self, summary: BatchSummary, progress: Callable[[str], None]) -> None:
        self.summary, self.progress = summary, progress

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.progress(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.summary.stage_seconds[name] = round(time.perf_counter() - started, 3)


@dataclass(slots=True)
class _Decided:
    """The job's result before anything is admitted, per position (input order).

    Flat lists and the feature columns, not one object per kept sample: it is saved before admission
    starts, and pickling half a million small arrays took longer than deciding them."""

    where: list[tuple[int, int, bytes]]  # (piece, line, raw)
    samples: list[Sample]
    decisions: list[Decision]
    known: list[bool]  # answered by the collection itself (already kept or decided): not admitted again
    bad: dict[int, list[BadRecord]]
    columns: dict[str, dict[str, np.ndarray]]  # indexed check -> feature -> column

    def kept(self) -> list[int]:
        """Positions to admit, in order."""
        return [
            k
            for k, (d, known) in enumerate(zip(self.decisions, self.known, strict=True))
            if not known and d.verdict is Verdict.KEEP
        ]

    def logged(self) -> list[int]:
        """Positions whose decision goes into the log (the log holds the collection's answers already)."""
        already = (ReasonCode.ALREADY_KEPT, ReasonCode.ALREADY_DECIDED)
        return [k for k, d in enumerate(self.decisions) if not any(r.code in already for r in d.reasons)]

    def item(self, k: int, dedup_key: DedupKey) -> Item:
        """The kept sample at position ``k`` as the collection admits it: features and scores."""
        item = Item.build(self.samples[k], k, dedup_key)
        item.scores = dict(self.decisions[k].scores)
        for check_name, cols in self.columns.items():
            item.features[check_name] = {f: col[k] for f, col in cols.items()}
        return item


class _Manifest:
    """``_work/job.json``: which job this directory belongs to, and how far admission got."""

    def __init__(self, path: Path, key: str, data: dict[str, Any]) -> None:
        self.path, self.key = path, key
        self.decided_seq: int | None = data.get("decided_seq")
        self.committed: int = data.get("committed_chunks", 0)

    @classmethod
    def load(cls, path: Path, key: str, base: BatchBase) -> _Manifest:
        if not path.exists():
            manifest = cls(path, key, {})
            manifest.save()
            return manifest
        data = json.loads(path.read_text())
        if data.get("fingerprint") != key:
            raise FailedPrecondition(
                f"{path.parent.parent} holds the results of another job (other input, collection or "
                "policy): use a new --output-dir, or delete this one to start over"
            )
        return cls(path, key, data)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        data = {"fingerprint": self.key, "decided_seq": self.decided_seq, "committed_chunks": self.committed}
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)


def _save(path: Path, obj: object) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        pickle.dump(obj, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _load(path: Path) -> Any:
    with path.open("rb") as f:
        return pickle.load(f)


# ---------------------------------------------------------------- 1. measure


class _MeasureActor:
    """A Ray Data actor: builds the checks (and loads their models) once, then measures pieces."""

    def __init__(self, curator_settings: Any, policy: Any, evalsets: Any) -> None:
        self.measurer = Measurer(curator_settings, policy, evalsets=evalsets)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        payloads = []
        for spec in batch["piece"]:
            piece = Piece(**json.loads(spec))
            payloads.append(pickle.dumps(self.measurer.measure(piece), protocol=pickle.HIGHEST_PROTOCOL))
        return {"index": np.asarray(batch["index"]), "payload": np.array(payloads, dtype=object)}


def _piece_path(work: Path, piece: Piece) -> Path:
    return work / f"{piece.name}.measured.pkl"


def _measure(
    ray: Any, job: BatchJob, curator: Curator, base: BatchBase, pieces: list[Piece], work: Path
) -> int:
    """Measure the pieces not measured yet; returns how many were found done."""
    todo = [p for p in pieces if not _piece_path(work, p).exists()]
    if not todo:
        return len(pieces)
    actors = job.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # One block per piece, made on the driver: a repartition task would wait forever for a CPU that the
    # fixed actor pool holds.
    rows = [{"index": p.index, "piece": json.dumps(asdict(p))} for p in todo]
    ds = ray.data.from_items(rows, override_num_blocks=len(todo)).map_batches(
        _MeasureActor,
        batch_size=1,
        # A fixed pool: an autoscaling one starts with one actor and adds the rest only later.
        compute=ray.data.ActorPoolStrategy(size=min(actors, len(todo))),
        fn_constructor_kwargs={
            "curator_settings": curator.settings,
            "policy": base.policy,
            "evalsets": curator.evalsets_snapshot(),
        },
        num_cpus=1,  # Ray Data restarts a lost actor and retries its piece (max_restarts=-1 by default)
    )
    for row in ds.iter_rows():
        piece = pieces[int(row["index"])]
        path = _piece_path(work, piece)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(row["payload"])
        os.replace(tmp, path)
    return len(pieces) - len(todo)


# ---------------------------------------------------------------- 2 and 3. match and decide


@dataclass(slots=True)
class _Gathered:
    """The measured pieces joined in input order: what deciding needs, and what a restart rebuilds."""

    measured: list[Measured]
    where: list[tuple[int, int, bytes]]  # (piece, line, raw) per position
    features: dict[str, dict[str, list[np.ndarray]]]
    bad: dict[int, list[BadRecord]]

    def columns(self) -> dict[str, dict[str, np.ndarray]]:
        return {
            name: {f: np.concatenate(parts) for f, parts in cols.items()}
            for name, cols in self.features.items()
        }


def _gather(pieces: list[Piece], work: Path) -> _Gathered:
    """Every measured piece, in order; a repeated id is a bad record at its second occurrence."""
    out = _Gathered([], [], {}, {})
    first_seen: dict[str, tuple[str, int]] = {}
    for piece in pieces:
        mp: MeasuredPiece = _load(_piece_path(work, piece))
        bad = out.bad[piece.index] = list(mp.bad)
        keep = []
        for k, (line, raw, m) in enumerate(zip(mp.lines, mp.raws, mp.measured, strict=True)):
            seen = first_seen.setdefault(m.sample.id, (piece.path, line))
            if seen != (piece.path, line):
                first = f"first seen in {seen[0]} line {seen[1]}"
                problem = f"duplicate id {m.sample.id!r} ({first}): ids must be unique"
                bad.append(BadRecord(line, raw, [problem]))
                continue
            keep.append(k)
            out.measured.append(m)
            out.where.append((piece.index, line, raw))
        for check_name, piece_columns in mp.features.items():
            for name, column in piece_columns.items():
                out.features.setdefault(check_name, {}).setdefault(name, []).append(column[keep])
        bad.sort(key=lambda b: b.line)
    return out


def _decide(
    ray: Any,
    job: BatchJob,
    curator: Curator,
    base: BatchBase,
    gathered: _Gathered,
    summary: BatchSummary,
) -> _Decided:
    measured, where, bad = gathered.measured, gathered.where, gathered.bad
    started = time.perf_counter()
    columns = gathered.columns()
    policy = base.policy
    known = curator.batch_identity(base, [m.sample for m in measured], job.dry_run)
    checks = [c for c in curator.checks if policy.check(c.name).enabled]
    evidence: dict[str, IndexedEvidence] = {}
    for check in checks:
        if isinstance(check, IndexedCheck):
            found: dict[str, np.ndarray] = columns.get(check.name, {})
            evidence[check.name] = _match(ray, job, check, base, found, len(measured), summary)
    matched = time.perf_counter()
    summary.stage_seconds["match"] = round(matched - started, 3)
    skip = frozenset(known)
    resolved = resolve(
        measured, checks, policy, base.policy_version, evidence, skip=skip, score_all=job.score_all
    )
    summary.stage_seconds["decide"] = round(time.perf_counter() - matched, 3)
    decisions = [known.get(k) or resolved.decisions[k] for k in range(len(measured))]
    assert all(d is not None for d in decisions)
    return _Decided(
        where,
        [m.sample for m in measured],
        decisions,  # type: ignore[arg-type]
        [k in known for k in range(len(measured))],
        bad,
        columns,
    )


def _match(
    ray: Any,
    job: BatchJob,
    check: IndexedCheck,
    base: BatchBase,
    columns: dict[str, np.ndarray],
    n: int,
    summary: BatchSummary,
) -> IndexedEvidence:
    """One indexed check's evidence: best seed match per sample, and candidate pairs within the job."""
    index = base.state.index(check.name)
    seed: list[tuple[float, str]] = [(0.0, "")] * n
    if len(index) and n:
        step = 4_096
        for a in range(0, n, step):
            part = {k: v[a : a + step] for k, v in columns.items()}
            for k, (score, row) in enumerate(index.best_matches(part)):
                seed[a + k] = (score, index.id_of(row)) if row >= 0 else (0.0, "")
    if n < 2:
        return IndexedEvidence(seed, {})
    params = base.policy.check(check.name).params
    if "digest" in columns:  # exact duplicates: a hash shuffle, then the whole digests compared
        digests = columns["digest"]
        ii, jj = _shuffle(ray, job, digest_keys(digests)[:, None], summary)
        same = np.all(digests[ii] == digests[jj], axis=1)
        return IndexedEvidence(seed, _candidates(ii[same], jj[same], np.ones(int(same.sum()))))
    if "signature" in columns:  # near duplicates: an LSH band shuffle, then verification
        bands, rows = lsh_params(float(params["lsh_threshold"]), int(params["num_perm"]))
        keys = signature_band_keys(columns["signature"], bands, rows)
        ii, jj = _shuffle(ray, job, keys, summary)
        return IndexedEvidence(seed, _candidates(ii, jj, _verify(ray, columns, ii, jj)))
    if "embedding" in columns:  # semantic duplicates: a blocked exact search, sharded by query block
        vectors = np.ascontiguousarray(columns["embedding"], dtype=np.float32)
        ref = ray.put(vectors)
        tasks = [
            _nearest.remote(ref, a, min(a + QUERY_BLOCK, n), NEIGHBOURS) for a in range(0, n, QUERY_BLOCK)
        ]
        found = ray.get(tasks)
        candidates = _candidates(*(np.concatenate([f[x] for f in found]) for x in range(3)))
        truncated = frozenset(j for j, c in candidates.items() if len(c) >= NEIGHBOURS)

        def fallback(j: int, kept: Sequence[int]) -> tuple[int, float]:
            """The best kept earlier sample by exhaustive search (all k neighbours were dropped)."""
            earlier = [i for i in kept if i < j]
            if not earlier:
                return -1, 0.0
            sims = vectors[earlier] @ vectors[j]
            best = int(np.argmax(sims))
            return earlier[best], max(0.0, float(sims[best]))

        return IndexedEvidence(seed, candidates, truncated, fallback)
    raise FailedPrecondition(f"indexed check {check.name!r} has no batch matcher: run it with --engine local")


def _candidates(ii: np.ndarray, jj: np.ndarray, scores: np.ndarray) -> dict[int, list[tuple[int, float]]]:
    """Pairs (i, j, score) as ``j -> [(i, score), ...]``, each list in the order given."""
    candidates: dict[int, list[tuple[int, float]]] = {}
    for i, j, s in zip(ii.tolist(), jj.tolist(), scores.tolist(), strict=True):
        candidates.setdefault(j, []).append((i, s))
    return candidates


def _shuffle(
    ray: Any, job: BatchJob, keys: np.ndarray, summary: BatchSummary
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j), i < j, of positions that share a key (a row of ``keys`` per position, one
    shuffle for all its columns): map tasks split rows by key into partitions, and one reduce task per
    partition pairs up the positions of equal keys; the driver only merges the partitions' pairs."""
    n = len(keys)
    partitions = max(1, job.partitions)
    step = max(1, -(-n // max(1, job.partitions)))
    refs = ray.put(keys)
    maps = [
        _split.options(num_returns=partitions + 1).remote(refs, a, min(a + step, n), partitions)
        for a in range(0, n, step)
    ]
    for m in maps:  # the last return of each map task: (node, bytes sent)
        node, sent = ray.get(m[-1])
        summary.shuffle_bytes_by_node[node] = summary.shuffle_bytes_by_node.get(node, 0) + sent
    reduces = [_reduce.remote(*[m[p] for m in maps]) for p in range(partitions)]
    return merge_pairs(ray.get(reduces))


def _verify(ray: Any, columns: dict[str, np.ndarray], ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    if not len(ii):
        return np.empty(0)
    ref = ray.put(columns)
    tasks = 4 * max(1, int(ray.cluster_resources().get("CPU", 1)))
    step = max(20_000, -(-len(ii) // tasks))
    return np.concatenate(
        ray.get([_score.remote(ref, ii[a : a + step], jj[a : a + step]) for a in range(0, len(ii), step)])
    )


def _remote(fn: Callable[..., Any]) -> Any:
    """Ray remote functions, declared lazily so that importing this module needs no Ray."""

    class Lazy:
        _impl: Any = None

        def __getattr__(self, name: str) -> Any:
            if Lazy._impl is None:
                Lazy._impl = _ray().remote(max_retries=-1)(fn)
            return getattr(Lazy._impl, name)

    return Lazy()


def _split_impl(keys: np.ndarray, start: int, stop: int, partitions: int) -> tuple[Any, ...]:
    import ray

    rows = keys[start:stop]
    positions = np.repeat(np.arange(start, stop, dtype=np.int64), rows.shape[1])
    flat = rows.ravel()
    nonzero = flat != 0
    parts = split(flat[nonzero], positions[nonzero], partitions)
    sent = sum(k.nbytes + p.nbytes for k, p in parts)
    return (*parts, (ray.get_runtime_context().get_node_id(), sent))


def _reduce_impl(*parts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """A partition's pairs, as codes (one int64 each: cheaper to ship than two arrays)."""
    keys = np.concatenate([k for k, _ in parts]) if parts else np.empty(0, dtype=np.uint64)
    positions = np.concatenate([p for _, p in parts]) if parts else np.empty(0, dtype=np.int64)
    return run_pairs(keys, positions)


def _score_impl(columns: dict[str, np.ndarray], ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    return pair_scores(columns, ii, columns, jj)


def _nearest_impl(vectors: np.ndarray, start: int, stop: int, k: int) -> tuple[np.ndarray, ...]:
    return nearest_earlier(vectors, start, stop, k)


_split = _remote(_split_impl)
_reduce = _remote(_reduce_impl)
_score = _remote(_score_impl)
_nearest = _remote(_nearest_impl)


# ---------------------------------------------------------------- 4. write and admit


def _write_outputs(
    job: BatchJob,
    pieces: Sequence[Piece],
    decided: _Decided,
    report: Callable[[str], None],
    summary: BatchSummary,
) -> None:
    reasons: Counter[str] = Counter()
    by_piece: dict[int, list[tuple[int, bytes, Decision]]] = {p.index: [] for p in pieces}
    for (piece_index, line, raw), decision in zip(decided.where, decided.decisions, strict=True):
        by_piece[piece_index].append((line, raw, decision))
    for piece in pieces:
        rows = by_piece.get(piece.index, [])
        bad = decided.bad.get(piece.index, [])
        for b in bad:
            report(f"{piece.path} line {b.line}: {'; '.join(b.problems)}")
        summary.read += len(rows) + len(bad)
        summary.invalid += len(bad)
        split_raw: dict[str, list[bytes]] = {"kept": [], "dropped": [], "review": []}
        for _, raw, d in rows:
            name = {Verdict.KEEP: "kept", Verdict.DROP: "dropped", Verdict.REVIEW: "review"}[d.verdict]
            split_raw[name].append(raw)
            setattr(summary, name, getattr(summary, name) + 1)
            reasons.update(str(r.code) for r in d.reasons)
        _write_part(job, "decisions", piece, [decision_json(d) for _, _, d in rows])
        for name, raws in split_raw.items():
            _write_raw(job, name, piece, raws)
        _write_raw(job, "invalid", piece, [b.raw for b in bad])
    summary.by_reason = dict(sorted(reasons.items()))


def _write_part(job: BatchJob, kind: str, piece: Piece, lines: list[dict[str, Any]]) -> None:
    folder = job.output_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    if job.output_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / f"{piece.name}.parquet"
        tmp = path.with_suffix(".tmp")
        rows = [{**d, "reasons": json.dumps(d["reasons"]), "scores": json.dumps(d["scores"])} for d in lines]
        for row in rows:
            if "annotations" in row:
                row["annotations"] = json.dumps(row["annotations"])
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        path = folder / f"{piece.name}.jsonl"
        tmp = path.with_suffix(".tmp")
        import orjson

        tmp.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in lines))
    os.replace(tmp, path)


def _write_raw(job: BatchJob, kind: str, piece: Piece, raws: list[bytes]) -> None:
    """Input records verbatim, as the local engine's --kept/--dropped/--review/--invalid files hold them."""
    folder = job.output_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{piece.name}.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"".join(r.rstrip(b"\r\n") + b"\n" for r in raws))
    os.replace(tmp, path)


def _admit(curator: Curator, base: BatchBase, decided: _Decided, manifest: _Manifest) -> int:
    """Commit the job in chunks of ADMIT_CHUNK decisions, each with the kept samples among them.

    The manifest counts committed chunks. A chunk committed just before a crash (the manifest not yet
    updated) is recognised by the collection's admission number having moved by exactly its samples
    while the log holds its decisions."""
    logged = decided.logged()
    if not logged:
        return 0
    kept = decided.kept()
    # For each logged decision, how many kept samples precede it (inclusive): chunk bounds in ``kept``.
    kept_before = np.searchsorted(np.asarray(kept, dtype=np.int64), np.asarray(logged), side="right").tolist()
    bounds = [*range(0, len(logged), ADMIT_CHUNK), len(logged)]
    chunks = list(itertools.pairwise(bounds))
    assert manifest.decided_seq is not None
    done_kept = kept_before[bounds[manifest.committed] - 1] if manifest.committed else 0
    base.state.catch_up()
    base.seq = manifest.decided_seq + done_kept
    admitted = 0
    dedup_key = base.policy.dedup_key
    for c in range(manifest.committed, len(chunks)):
        a, b = chunks[c]
        k0 = kept_before[a - 1] if a else 0
        k1 = kept_before[b - 1]
        rows = [
            LoggedDecision(decided.decisions[k], decided.samples[k].metadata, decided.samples[k])
            for k in logged[a:b]
        ]
        if base.state.seq == base.seq + (k1 - k0) and _logged_already(curator, base, rows):
            base.seq = base.state.seq  # committed before the crash
        else:
            curator.batch_commit(base, [decided.item(k, dedup_key) for k in kept[k0:k1]], rows)
            admitted += k1 - k0
        manifest.committed = c + 1
        manifest.save()
    return admitted


def _logged_already(curator: Curator, base: BatchBase, chunk: Sequence[LoggedDecision]) -> bool:
    ids = [chunk[0].decision.sample_id, chunk[-1].decision.sample_id]
    found = {r.decision.sample_id for r in curator.store.decisions_for(base.name, ids)}
    return set(ids) <= found


def filter_files(
    inputs: Sequence[Path | str],
    output_dir: Path | str,
    *,
    settings: Any = None,
    collection: str = "default",
    create: bool = True,
    report: Callable[[str], None] = print,
    **options: Any,
) -> BatchSummary:
    """The Python API of ``curator filter --engine ray``: open the collection's store from ``settings``
    (a :class:`curator.settings.Settings`; default: the environment and ``./curator-data``), create the
    collection if asked, run the job, close. ``options`` are :class:`BatchJob` fields (``dry_run``,
    ``ray_address``, ``num_cpus``, ``output_format``, ``piece_records``, ...)."""
    from curator.errors import NotFound
    from curator.settings import Settings

    curator = Curator(settings if settings is not None else Settings.load())
    try:
        try:
            curator.get_collection(collection)
        except NotFound:
            if not create:
                raise
            curator.create_collection(collection)
        job = BatchJob(
            inputs=[Path(p) for p in inputs], output_dir=Path(output_dir), collection=collection, **options
        )
        return run_batch(job, curator, report)
    finally:
        curator.close()
