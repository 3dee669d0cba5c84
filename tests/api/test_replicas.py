"""Several `curator serve` replicas on one PostgreSQL: one collection, one memory, no lost acknowledgement.

Real processes on loopback and a real PostgreSQL cluster started by the test; each replica has its own data
directory (its local image of the indexes). Loops are bounded; nothing asserts a duration.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from curator.state.admission_log import decode_frame
from curator.state.sql import SqlStore
from curator.state.store import DecisionQuery
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.cli.helpers import words
from tests.support.postgres import PostgresServer, start_or_skip

GROUPS = 24  # duplicate groups; every group must end with exactly one kept sample
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "alpaca_sample.jsonl"


@dataclass
class Replica:
    proc: subprocess.Popen[str]
    port: int
    log: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _start(url: str, data_dir: Path, preload: bool) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CURATOR_STORE__URL": url,
        "CURATOR_EMBEDDINGS__PRELOAD": "true" if preload else "false",
        "CURATOR_SERVER__STORE_CHECK_SECONDS": "0.5",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "curator.cli.main",
            "serve",
            "--port",
            "0",
            "--no-http",
            "--data-dir",
            str(data_dir),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _ready(proc: subprocess.Popen[str], timeout: float = 180) -> Replica:
    assert proc.stderr is not None
    lines: list[str] = []
    port = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"curator serving on [^:]+:(\d+)", line)
        port = int(found.group(1)) if found else port
        if port is not None and any("curator ready" in x for x in lines):  # logged in either order
            break
    assert port is not None and any("curator ready" in x for x in lines), "".join(lines)
    replica = Replica(proc, port, lines)
    threading.Thread(target=_drain, args=(replica,), daemon=True).start()  # never block on a full pipe
    return replica


def _drain(replica: Replica) -> None:
    assert replica.proc.stderr is not None
    for line in replica.proc.stderr:
        replica.log.append(line)


def _replicas(url: str, base: Path, n: int, preload: bool = False) -> list[Replica]:
    """``n`` replicas started at the same moment (on an empty database, they race to create the schema)."""
    procs = [_start(url, base / f"replica-{i}", preload) for i in range(n)]
    return [_ready(p) for p in procs]


def _stop(replicas: list[Replica]) -> None:
    for r in replicas:
        if r.proc.poll() is None:
            r.proc.send_signal(signal.SIGTERM)
    for r in replicas:
        try:
            r.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            r.proc.kill()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_or_skip()
    try:
        yield server
    finally:
        server.stop()


def _groups(semantic: bool) -> list[list[str]]:
    """Duplicate groups: an original text, an exact copy (other case and spacing), near copies. For the
    semantic index the originals are real, different Alpaca records (cosine <= 0.44 between them, >= 0.93
    to their own copies); random words from one small vocabulary would all look alike to it."""
    originals = _alpaca()[:GROUPS] if semantic else [words(1000 + g, 60) for g in range(GROUPS)]
    out = []
    for text in originals:
        tokens = text.split()
        near = [" ".join(tokens[:k] + tokens[k + 1 :]) for k in (5, 15, len(tokens) - 5)]
        out.append([text, "  " + text.upper(), *near])
    return out


def _alpaca() -> list[str]:
    texts = []
    for line in EXAMPLES.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the example file's malformed line
        if re.fullmatch(r"a\d+", record.get("id", "")):
            text = "\n".join(record[k] for k in ("instruction", "input", "output") if record[k]).strip()
            if len(text.split()) >= 25:
                texts.append(text)
    return texts


def _stub(replica: Replica) -> pb_grpc.CuratorServiceStub:
    return pb_grpc.CuratorServiceStub(grpc.insecure_channel(replica.target))


def _send_all(
    stub: pb_grpc.CuratorServiceStub, collection: str, samples: list[pb.Sample], batch: int = 4
) -> list[pb.Decision]:
    """Send in batches; an UNAVAILABLE batch is retried (bounded) as a client would."""
    decisions: list[pb.Decision] = []
    for start in range(0, len(samples), batch):
        request = pb.FilterRequest(collection=collection, samples=samples[start : start + batch])
        for attempt in range(60):
            try:
                decisions += stub.Filter(request, timeout=60).decisions
                break
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE or attempt == 59:
                    raise
                time.sleep(0.5)
    return decisions


@pytest.mark.parametrize("duplicates", ["exact and near", "semantic"])
def test_replicas_keep_exactly_one_of_each_duplicate_group(
    postgres: PostgresServer, tmp_path: Path, duplicates: str
) -> None:
    url = postgres.create_database(f"replicas_{duplicates.replace(' ', '_')}")
    semantic = duplicates == "semantic"
    replicas = _replicas(
        url, tmp_path, 3, preload=semantic
    )  # all three come up on the empty database at once
    try:
        policy = pb.Policy()
        if semantic:  # only the embedding index can see that copies are copies
            policy.checks["exact_duplicate"].enabled = False
            policy.checks["near_duplicate"].enabled = False
            policy.checks["heuristics"].enabled = False
            policy.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold = 0.9
        else:
            policy.checks["semantic"].enabled = False
        _stub(replicas[0]).CreateCollection(pb.CreateCollectionRequest(name="c", policy=policy))
        groups = _groups(semantic)
        results: list[list[pb.Decision]] = [[] for _ in replicas]

        start = threading.Barrier(len(replicas))

        def client(k: int) -> None:
            # Round by round, every client sends its own member of the same group through its own replica
            # at the same moment: a race the store's conditional commit has to settle. Then the rest of
            # its copies, shuffled, so that later duplicates meet what other replicas kept.
            stub = _stub(replicas[k])
            for g, members in enumerate(groups):
                start.wait(timeout=60)
                results[k] += _send_all(
                    stub, "c", [pb.Sample(id=f"k{k}-g{g}-race", text=members[k % len(members)])]
                )
            rng = random.Random(k)
            rest = [
                pb.Sample(id=f"k{k}-g{g}-m{m}", text=text)
                for g, members in enumerate(groups)
                for m, text in enumerate(members)
                if (m + k) % 2 == 0 or m == 0
            ]
            rng.shuffle(rest)
            results[k] += _send_all(stub, "c", rest)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(len(replicas))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        kept_groups = [d.sample_id.split("-")[1] for r in results for d in r if d.verdict == pb.KEEP]
        if semantic:
            assert any(x.reasons and x.reasons[0].code == "SEMANTIC_DUPLICATE" for r in results for x in r)
        assert sorted(kept_groups) == sorted(f"g{g}" for g in range(GROUPS))  # one each, no more
        store = SqlStore(url)
        try:
            frames = [decode_frame(f) for _, f in store.admissions_since("c", 0)]
            admitted = [i for b in frames for i in b.ids]
            logged_keeps = {
                r.decision.sample_id
                for r in store.list_decisions(DecisionQuery(collection="c", limit=10_000))
                if r.decision.verdict.value == "keep"
            }
            assert sorted(admitted) == sorted(logged_keeps) and len(admitted) == GROUPS
            assert store.admitted_seq("c") == GROUPS
        finally:
            store.close()
        # Every replica answers from the whole collection: its copies are duplicates of what others kept.
        for r in replicas:
            [again] = _send_all(_stub(r), "c", [pb.Sample(id=f"late-{r.port}", text=groups[0][1])])
            # (the group's kept member may be a near copy, so a copy of the original is exact or near)
            expected = {"SEMANTIC_DUPLICATE"} if semantic else {"EXACT_DUPLICATE", "NEAR_DUPLICATE"}
            assert again.verdict == pb.DROP and again.reasons[0].code in expected
            stats = _stub(r).GetStats(pb.GetStatsRequest(collection="c"))
            assert stats.totals.keep == GROUPS
    finally:
        _stop(replicas)


def test_a_policy_change_on_one_replica_applies_on_the_others(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("replicas_policy")
    replicas = _replicas(url, tmp_path, 2)
    try:
        a, b = _stub(replicas[0]), _stub(replicas[1])
        policy = pb.Policy()
        policy.checks["semantic"].enabled = False
        a.CreateCollection(pb.CreateCollectionRequest(name="p", policy=policy))
        text = words(7, 60)
        assert (
            b.Filter(pb.FilterRequest(collection="p", samples=[pb.Sample(id="x", text=text)]))
            .decisions[0]
            .verdict
            == pb.KEEP
        )
        change = pb.Policy()
        change.checks["exact_duplicate"].rules["EXACT_DUPLICATE"].action = pb.ACTION_REVIEW
        change.checks["near_duplicate"].rules["NEAR_DUPLICATE"].action = pb.ACTION_REVIEW
        a.UpdatePolicy(pb.UpdatePolicyRequest(name="p", policy=change))
        [d] = b.Filter(pb.FilterRequest(collection="p", samples=[pb.Sample(id="y", text=text)])).decisions
        assert d.verdict == pb.REVIEW and d.policy_version == 2  # replica b decided under a's new policy
        assert {r.action for r in d.reasons} == {pb.ACTION_REVIEW}
    finally:
        _stop(replicas)


def _real_corpus(copies: int, seed: int) -> list[str]:
    """The example Alpaca records and ``copies`` perturbed copies of each (typos, dropped and inserted
    words, boilerplate), shuffled: real text with known near-duplicates, as the acceptance asks."""
    from benchmarks.perturb import operators, perturb_record, vocabulary_from

    records = [
        json.loads(line) for line in EXAMPLES.read_text().splitlines() if re.search(r'"id": "a\d+"', line)
    ]
    rng = random.Random(seed)
    ops = operators(vocabulary_from(r["output"] for r in records))
    texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in records]
    for r in records * copies:
        copy, _ = perturb_record(r, rng, rng.randint(1, 4), ops)
        texts.append(f"{copy['instruction']}\n{copy['input']}\n{copy['output']}")
    rng.shuffle(texts)
    return texts


def test_kill_9_loses_no_acknowledged_decision(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database("replicas_kill")
    replicas = _replicas(url, tmp_path, 2)
    try:
        policy = pb.Policy()
        policy.checks["semantic"].enabled = False
        _stub(replicas[0]).CreateCollection(pb.CreateCollectionRequest(name="k", policy=policy))
        acknowledged: list[pb.Decision] = []
        texts = _real_corpus(copies=8, seed=5)  # 396 records: Alpaca and perturbed copies
        samples = [pb.Sample(id=f"s{i}", text=t) for i, t in enumerate(texts)]
        stub = _stub(replicas[1])

        def stream() -> None:
            requests = (
                pb.FilterRequest(collection="k", samples=samples[i : i + 2])
                for i in range(0, len(samples), 2)
            )
            try:
                for response in stub.FilterStream(requests):
                    acknowledged.extend(response.decisions)
            except grpc.RpcError:
                pass  # the replica died under the stream

        thread = threading.Thread(target=stream)
        thread.start()
        for _ in range(600):  # bounded: until some decisions were acknowledged
            if len(acknowledged) >= 20:
                break
            time.sleep(0.05)
        os.kill(replicas[1].proc.pid, signal.SIGKILL)
        thread.join(timeout=60)
        assert 20 <= len(acknowledged) < len(samples)
        survivor = _stub(replicas[0])
        for d in acknowledged:  # every acknowledged decision is in the log, as it was acknowledged
            page = survivor.ListDecisions(pb.ListDecisionsRequest(collection="k", sample_id=d.sample_id))
            assert [x.decision.verdict for x in page.decisions] == [d.verdict]
        kept = [d.sample_id for d in acknowledged if d.verdict == pb.KEEP]
        resent = _send_all(survivor, "k", [s for s in samples if s.id in set(kept)])
        assert all(r.reasons[0].code == "ALREADY_KEPT" for r in resent)
    finally:
        _stop(replicas)


def _health(replica: Replica) -> int:
    with grpc.insecure_channel(replica.target) as channel:
        try:
            return (
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
            )
        except grpc.RpcError:
            return -1


def test_a_store_outage_is_unavailable_then_retries_succeed_with_no_gap(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("replicas_outage")
    replicas = _replicas(url, tmp_path, 1)
    replica = replicas[0]
    try:
        policy = pb.Policy()
        policy.checks["semantic"].enabled = False
        stub = _stub(replica)
        stub.CreateCollection(pb.CreateCollectionRequest(name="o", policy=policy))
        texts = _real_corpus(copies=2, seed=9)[:120]  # Alpaca and perturbed copies
        samples = [pb.Sample(id=f"s{i}", text=t) for i, t in enumerate(texts)]
        unavailable = 0
        sent: list[pb.Decision] = []
        for start in range(0, 120, 4):
            if start == 40:
                postgres.pause()
                for _ in range(100):  # bounded: health notices the outage
                    if _health(replica) == health_pb2.HealthCheckResponse.NOT_SERVING:
                        break
                    time.sleep(0.1)
                assert _health(replica) == health_pb2.HealthCheckResponse.NOT_SERVING
                with pytest.raises(grpc.RpcError) as info:
                    stub.Filter(
                        pb.FilterRequest(collection="o", samples=samples[start : start + 4]), timeout=30
                    )
                assert info.value.code() == grpc.StatusCode.UNAVAILABLE
                unavailable += 1
                postgres.resume()
            sent += _send_all(stub, "o", samples[start : start + 4])
        assert unavailable == 1 and len(sent) == 120
        for _ in range(100):
            if _health(replica) == health_pb2.HealthCheckResponse.SERVING:
                break
            time.sleep(0.1)
        assert _health(replica) == health_pb2.HealthCheckResponse.SERVING
        store = SqlStore(url)
        try:
            admitted = [i for _, f in store.admissions_since("o", 0) for i in decode_frame(f).ids]
            logged = store.list_decisions(DecisionQuery(collection="o", limit=1000))
            keeps = sorted(r.decision.sample_id for r in logged if r.decision.verdict.value == "keep")
            assert sorted(admitted) == keeps  # no gap either way
            assert 0 < len(keeps) < 120  # the copies were judged against what was kept before the outage
            assert sorted(r.decision.sample_id for r in logged) == sorted(s.id for s in samples)  # once each
        finally:
            store.close()
    finally:
        _stop(replicas)


def test_on_alpaca_and_perturbed_copies_no_two_kept_samples_are_duplicates(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """Real data: the example Alpaca records and perturbed copies of them (typos, dropped and inserted
    words, boilerplate), sent at once through three replicas. Near-duplicates chain, so which member of a
    chain is kept depends on arrival order; what must hold is that no two kept samples are duplicates
    (exact after normalisation, or word-3-gram Jaccard >= 0.8 by an exact all-pairs join)."""
    from benchmarks.perturb import shingles as shingle_set
    from benchmarks.perturb import similar_pairs
    from curator.domain.normalize import normalize

    texts = _real_corpus(copies=2, seed=3)
    originals = len(texts) // 3
    url = postgres.create_database("replicas_alpaca")
    replicas = _replicas(url, tmp_path, 3)
    try:
        policy = pb.Policy()
        policy.checks["semantic"].enabled = False
        policy.checks["heuristics"].enabled = False
        _stub(replicas[0]).CreateCollection(pb.CreateCollectionRequest(name="a", policy=policy))
        thirds = [list(range(k, len(texts), 3)) for k in range(3)]

        def client(k: int) -> None:
            _send_all(
                _stub(replicas[k]), "a", [pb.Sample(id=f"t{i}", text=texts[i]) for i in thirds[k]], batch=3
            )

        threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store = SqlStore(url)
        try:
            kept = [
                r.sample.full_text
                for r in store.list_decisions(DecisionQuery(collection="a", limit=1000))
                if r.decision.verdict.value == "keep" and r.sample is not None
            ]
            admitted = [i for _, f in store.admissions_since("a", 0) for i in decode_frame(f).ids]
        finally:
            store.close()
        assert len(admitted) == len(kept) >= originals // 2
        assert len({normalize(t) for t in kept}) == len(kept)  # no exact duplicates kept
        assert similar_pairs([shingle_set(t, 3) for t in kept], 0.8) == {}  # no near-duplicates kept
    finally:
        _stop(replicas)
