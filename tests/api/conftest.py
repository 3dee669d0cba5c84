"""An in-process curator server on a free port, with a stub to call it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from curator.api.server import RunningServer, start
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc


def make_settings(data_dir: Path, server: dict[str, object] | None = None, **overrides: object) -> Settings:
    return Settings.load(
        data_dir=data_dir, server={"port": 0, "grace_seconds": 5, **(server or {})}, **overrides
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start(make_settings(tmp_path / "data"))
    yield running
    running.stop(grace=1)


@pytest.fixture
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture
def stub(channel: grpc.Channel) -> pb_grpc.CuratorServiceStub:
    stub = pb_grpc.CuratorServiceStub(channel)
    stub.CreateCollection(pb.CreateCollectionRequest(name="c"))
    return stub
