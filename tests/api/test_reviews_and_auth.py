"""ListDecisions and ReviewDecision over gRPC, bearer-token auth, and gRPC request metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from curator.api import convert
from curator.api.server import RunningServer, start
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.test_servicer import violations
from tests.observability.test_metrics import samples
from tests.support.fake_encoder import checks_with
from tests.support.reviews import BASE, VARIANT, review_policy

TOKEN = "bob-has-a-long-enough-token"


def _start(data: Path, **overrides: Any) -> RunningServer:
    settings = Settings.load(data_dir=data, server={"port": 0, "grace_seconds": 1}, **overrides)
    running = start(settings, Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30)
    return running


def _seed(stub: pb_grpc.CuratorServiceStub, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    stub.CreateCollection(
        pb.CreateCollectionRequest(name="c", policy=convert.policy_out(review_policy())), metadata=metadata
    )
    stub.Filter(
        pb.FilterRequest(
            collection="c",
            samples=[
                pb.Sample(id="a", text=BASE),
                pb.Sample(id="b", text=VARIANT, metadata={"generator": "g"}),
            ],
        ),
        metadata=metadata,
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    server = _start(tmp_path / "data")
    yield server
    server.stop(grace=1)


@pytest.fixture
def stub(running: RunningServer) -> Iterator[pb_grpc.CuratorServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.CuratorServiceStub(channel)


def test_list_then_approve_a_review_over_grpc(stub: pb_grpc.CuratorServiceStub) -> None:
    _seed(stub)
    queue = stub.ListDecisions(
        pb.ListDecisionsRequest(collection="c", review_state=pb.REVIEW_STATE_PENDING, page_size=10)
    )
    [pending] = queue.decisions
    assert pending.decision.verdict == pb.REVIEW and pending.sample.text == VARIANT
    assert pending.sample.metadata == {"generator": "g"}
    assert [(m.collection, m.sample.id, m.sample.text) for m in queue.matched] == [("c", "a", BASE)]
    reviewed = stub.ReviewDecision(
        pb.ReviewDecisionRequest(
            decision_id=pending.decision_id, action=pb.REVIEW_ACTION_APPROVE, reviewer="dana", note="ok"
        )
    )
    assert reviewed.review_state == pb.REVIEW_STATE_APPROVED
    assert (reviewed.review.reviewer, reviewed.review.note) == ("dana", "ok")
    assert reviewed.review.review_time.seconds > 0
    stats = stub.GetStats(pb.GetStatsRequest(collection="c"))
    assert (stats.reviews.pending, stats.reviews.approved) == (0, 1)
    assert stub.GetCollection(pb.GetCollectionRequest(name="c")).kept_count == 2
    with pytest.raises(grpc.RpcError) as err:
        stub.ReviewDecision(
            pb.ReviewDecisionRequest(
                decision_id=pending.decision_id, action=pb.REVIEW_ACTION_REJECT, reviewer="e"
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_bad_review_and_list_requests_are_invalid_argument(stub: pb_grpc.CuratorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.ReviewDecision(pb.ReviewDecisionRequest(decision_id="abc"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(err.value)) == {"decision_id", "action"}
    with pytest.raises(grpc.RpcError) as err:
        stub.ListDecisions(pb.ListDecisionsRequest(page_size=5000, page_token="zzz"))
    assert set(violations(err.value)) == {"page_size", "page_token"}


def test_grpc_calls_are_counted_by_method_and_code(stub: pb_grpc.CuratorServiceStub) -> None:
    method = "/curator.v1.CuratorService/GetCollection"
    key_ok = (("code", "OK"), ("method", method))
    key_missing = (("code", "NOT_FOUND"), ("method", method))
    before = samples("curator_grpc_requests_total")
    stub.CreateCollection(pb.CreateCollectionRequest(name="m"))
    stub.GetCollection(pb.GetCollectionRequest(name="m"))
    with pytest.raises(grpc.RpcError):
        stub.GetCollection(pb.GetCollectionRequest(name="missing"))
    after = samples("curator_grpc_requests_total")
    assert after[key_ok] - before.get(key_ok, 0) == 1
    assert after[key_missing] - before.get(key_missing, 0) == 1


def test_tokens_guard_every_method_but_health_and_name_the_reviewer(tmp_path: Path) -> None:
    running = _start(tmp_path / "data", auth={"tokens": {"bob": TOKEN}})
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.CuratorServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                stub.ListCollections(pb.ListCollectionsRequest())
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as err:
                stub.ListCollections(
                    pb.ListCollectionsRequest(), metadata=(("authorization", "Bearer wrong"),)
                )
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            auth = (("authorization", f"Bearer {TOKEN}"),)
            _seed(stub, auth)
            [pending] = stub.ListDecisions(
                pb.ListDecisionsRequest(review_state=pb.REVIEW_STATE_PENDING), metadata=auth
            ).decisions
            reviewed = stub.ReviewDecision(
                pb.ReviewDecisionRequest(
                    decision_id=pending.decision_id, action=pb.REVIEW_ACTION_REJECT, reviewer="someone-else"
                ),
                metadata=auth,
            )
            assert reviewed.review.reviewer == "bob"
    finally:
        running.stop(grace=1)


def test_the_dashboard_port_serves_metrics(running: RunningServer) -> None:
    import urllib.request

    assert running.http_port
    with urllib.request.urlopen(f"http://127.0.0.1:{running.http_port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert b"# TYPE curator_decisions_total counter" in response.read()
