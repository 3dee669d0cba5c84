"""Check-and-admit is atomic per collection: racing near-identical samples → exactly one kept."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc

from curator.api.server import start
from curator.domain.decision import Verdict
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings

BASE = (
    "A binary search tree keeps its keys in sorted order so that lookup, insertion and deletion "
    "can each skip about half of the remaining tree, which gives logarithmic time on balanced trees."
)
RUNS = 100


def test_two_racing_rpcs_keep_exactly_one_in_100_of_100_runs(tmp_path: Path) -> None:
    running = start(make_settings(tmp_path, server={"port": 0, "max_workers": 8}))
    outcomes = []
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            stub = pb_grpc.CuratorServiceStub(ch)
            for run in range(RUNS):
                name = f"race-{run}"
                stub.CreateCollection(pb.CreateCollectionRequest(name=name))
                texts = {"left": BASE, "right": BASE.replace("sorted order", "sorted  Order") + " Indeed."}
                barrier = threading.Barrier(2)
                results: dict[str, pb.Decision] = {}

                def send(
                    sample_id: str,
                    text: str,
                    name: str = name,
                    barrier: threading.Barrier = barrier,
                    results: dict[str, pb.Decision] = results,
                ) -> None:
                    barrier.wait()
                    resp = stub.Filter(
                        pb.FilterRequest(collection=name, samples=[pb.Sample(id=sample_id, text=text)])
                    )
                    results[sample_id] = resp.decisions[0]

                threads = [threading.Thread(target=send, args=item) for item in texts.items()]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                kept = [k for k, d in results.items() if d.verdict == pb.KEEP]
                dropped = [d for d in results.values() if d.verdict == pb.DROP]
                ok = len(kept) == 1 and len(dropped) == 1 and dropped[0].reasons[0].matched_id == kept[0]
                outcomes.append(ok)
                assert stub.GetCollection(pb.GetCollectionRequest(name=name)).kept_count == 1
    finally:
        running.stop(grace=1)
    assert sum(outcomes) == RUNS


def test_many_threads_same_sample_one_kept(tmp_path: Path) -> None:
    curator = Curator(make_settings(tmp_path))
    curator.create_collection("many")
    barrier = threading.Barrier(8)
    verdicts: list[Verdict] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        barrier.wait()
        (d,) = curator.filter("many", [SampleInput(id=f"s{i}", text=BASE)])
        with lock:
            verdicts.append(d.verdict)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(verdicts).count(Verdict.KEEP) == 1
    assert curator.get_collection("many").kept_count == 1
    curator.close()
