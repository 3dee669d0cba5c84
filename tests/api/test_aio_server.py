"""The asyncio server's interceptors on streams, and shutdown with a stream left open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from curator.api.server import RunningServer, start
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.test_servicer import TEXT, alpaca
from tests.observability.test_metrics import samples
from tests.support.fake_encoder import checks_with

TOKEN = "carol-has-a-long-enough-token"
STREAM = "/curator.v1.CuratorService/FilterStream"


def _start(data: Path, **overrides: Any) -> RunningServer:
    settings = Settings.load(data_dir=data, server={"port": 0, "grace_seconds": 1}, **overrides)
    running = start(settings, Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30) and not running.warm_up_errors
    return running


@pytest.fixture
def authed(tmp_path: Path) -> Iterator[RunningServer]:
    running = _start(tmp_path / "data", auth={"tokens": {"carol": TOKEN}})
    yield running
    running.stop(grace=1)


def test_filter_stream_needs_a_token_and_is_counted(authed: RunningServer) -> None:
    auth = (("authorization", f"Bearer {TOKEN}"),)
    with grpc.insecure_channel(f"127.0.0.1:{authed.port}") as channel:
        stub = pb_grpc.CuratorServiceStub(channel)
        stub.CreateCollection(pb.CreateCollectionRequest(name="c"), metadata=auth, timeout=30)
        request = pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)])
        with pytest.raises(grpc.RpcError) as err:
            list(stub.FilterStream(iter([request]), timeout=30))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        before = samples("curator_grpc_requests_total")
        [response] = stub.FilterStream(iter([request]), metadata=auth, timeout=30)
        assert response.decisions[0].verdict == pb.KEEP
        after = samples("curator_grpc_requests_total")
    key = (("code", "OK"), ("method", STREAM))
    assert after[key] - before.get(key, 0) == 1
    assert after[(("code", "UNAUTHENTICATED"), ("method", STREAM))] >= 1


def test_health_watch_streams_through_the_interceptors(authed: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{authed.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=30
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()


def test_stop_ends_an_idle_open_stream_and_flushes(tmp_path: Path) -> None:
    running = _start(tmp_path / "data")
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = pb_grpc.CuratorServiceStub(channel)
        stub.CreateCollection(pb.CreateCollectionRequest(name="c"), timeout=30)
        sent: list[pb.FilterRequest] = [pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)])]
        done_sending = threading.Event()

        def requests() -> Iterator[pb.FilterRequest]:
            yield from sent
            done_sending.wait(60)  # the client keeps the stream open, idle

        call = stub.FilterStream(requests(), timeout=60)
        assert next(call).decisions[0].verdict == pb.KEEP
        running.stop(grace=0.5)  # returns although the stream never ended on its own
        with pytest.raises(grpc.RpcError):
            next(call)
        done_sending.set()
    assert (tmp_path / "data" / "collections" / "c" / "CURRENT").read_text().strip() == "1"
    running.stop()  # a second stop is harmless
