"""Health, reflection, graceful shutdown and restart of the real server."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from curator.api.server import RunningServer, start
from curator.service import Curator
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings
from tests.support.fake_encoder import FakeEncoder, checks_with


def test_health_not_serving_until_model_loaded_then_serving_then_not_on_shutdown(tmp_path: Path) -> None:
    gate = threading.Event()
    settings = make_settings(tmp_path)
    running = start(settings, Curator(settings, checks=checks_with(FakeEncoder(gate), settings)))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for service in ("", "curator.v1.CuratorService"):
            resp = health.Check(health_pb2.HealthCheckRequest(service=service))
            assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
        gate.set()  # the "model" finishes loading
        assert running.ready.wait(10) and not running.warm_up_errors
        for service in ("", "curator.v1.CuratorService"):
            resp = health.Check(health_pb2.HealthCheckRequest(service=service))
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        running.health.enter_graceful_shutdown()
        resp = health.Check(health_pb2.HealthCheckRequest(service=""))
        assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
    running.stop(grace=1)


def test_reflection_lists_and_describes_services(server: RunningServer, channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="curator.v1.CuratorService"),
    ]
    listed, described = list(stub.ServerReflectionInfo(iter(requests)))
    names = {s.name for s in listed.list_services_response.service}
    assert {"curator.v1.CuratorService", "grpc.health.v1.Health"} <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_restart_keeps_collections_indexes_and_decisions(tmp_path: Path) -> None:
    text = (
        "The mitochondria is the powerhouse of the cell, producing most of its chemical energy as ATP "
        "through cellular respiration, a process that breaks down glucose using oxygen in many steps."
    )
    data = tmp_path / "data"
    first = start(make_settings(data))
    with grpc.insecure_channel(f"127.0.0.1:{first.port}") as ch:
        stub = pb_grpc.CuratorServiceStub(ch)
        stub.CreateCollection(pb.CreateCollectionRequest(name="r"))
        kept = stub.Filter(pb.FilterRequest(collection="r", samples=[pb.Sample(id="orig", text=text)]))
        assert kept.decisions[0].verdict == pb.KEEP
    first.stop(grace=1)

    second = start(make_settings(data))
    with grpc.insecure_channel(f"127.0.0.1:{second.port}") as ch:
        stub = pb_grpc.CuratorServiceStub(ch)
        assert stub.GetCollection(pb.GetCollectionRequest(name="r")).kept_count == 1
        resp = stub.Filter(
            pb.FilterRequest(
                collection="r",
                samples=[
                    pb.Sample(id="exact", text=text),
                    pb.Sample(id="near", text=text + " Cells have many."),
                ],
            )
        )
        assert [(d.verdict, d.reasons[0].code, d.reasons[0].matched_id) for d in resp.decisions] == [
            (pb.DROP, "EXACT_DUPLICATE", "orig"),
            (pb.DROP, "NEAR_DUPLICATE", "orig"),
        ]
        assert stub.GetStats(pb.GetStatsRequest(collection="r")).totals.total == 3
    second.stop(grace=1)
