"""Bytes that are not a valid message: INVALID_ARGUMENT, one quiet log line, a stream goes on (defect 14)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

from curator.api.server import RunningServer, start
from curator.api.servicer import ThrottledWarning
from curator.service import Curator
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings
from tests.api.test_servicer import TEXT, alpaca, violations
from tests.support.fake_encoder import checks_with

# Field 2 (samples) claims 16 bytes but 2 follow: a truncated frame no parser accepts.
MALFORMED = b"\x12\x10ab"
FILTER = "/curator.v1.CuratorService/Filter"
FILTER_STREAM = "/curator.v1.CuratorService/FilterStream"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """The conftest server on the fake encoder: these tests are about frames, not embeddings."""
    settings = make_settings(tmp_path / "data")
    running = start(settings, Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30)
    yield running
    running.stop(grace=1)


def test_malformed_frame_on_unary_filter_is_invalid_argument_logged_once_without_traceback(
    channel: grpc.Channel, stub: pb_grpc.CuratorServiceStub, caplog: pytest.LogCaptureFixture
) -> None:
    raw = channel.unary_unary(
        FILTER, request_serializer=None, response_deserializer=pb.FilterResponse.FromString
    )
    with caplog.at_level(logging.WARNING), pytest.raises(grpc.RpcError) as err:
        raw(MALFORMED, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid curator.v1.FilterRequest message" in violations(err.value)[""]
    warned = [r for r in caplog.records if "curator.v1.FilterRequest" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert all(r.exc_info is None and r.levelno < logging.ERROR for r in caplog.records)
    # A good request on the same channel is untouched.
    good = stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)]), timeout=30)
    assert good.decisions[0].verdict == pb.KEEP


def test_malformed_frame_mid_stream_fails_its_own_response_and_the_stream_goes_on(
    channel: grpc.Channel, stub: pb_grpc.CuratorServiceStub
) -> None:
    raw = channel.stream_stream(
        FILTER_STREAM, request_serializer=None, response_deserializer=pb.FilterResponse.FromString
    )
    frames = [
        pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)]).SerializeToString(),
        MALFORMED,
        pb.FilterRequest(collection="c", samples=[alpaca("b", TEXT)]).SerializeToString(),
    ]
    responses = list(raw(iter(frames), timeout=30))
    assert len(responses) == 3
    assert responses[0].decisions[0].verdict == pb.KEEP
    assert not responses[1].decisions
    assert responses[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad = error_details_pb2.BadRequest()
    assert responses[1].error.details[0].Unpack(bad)
    [violation] = bad.field_violations
    assert violation.field == "" and "not a valid curator.v1.FilterRequest message" in violation.description
    assert [(d.sample_id, d.reasons[0].code) for d in responses[2].decisions] == [("b", "EXACT_DUPLICATE")]


def test_malformed_frames_on_other_methods_are_invalid_argument_too(channel: grpc.Channel) -> None:
    raw = channel.unary_unary(
        "/curator.v1.CuratorService/GetCollection",
        request_serializer=None,
        response_deserializer=pb.Collection.FromString,
    )
    with pytest.raises(grpc.RpcError) as err:
        raw(MALFORMED, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid curator.v1.GetCollectionRequest message" in violations(err.value)[""]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttled_warning_logs_at_most_once_per_interval_and_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    warn = ThrottledWarning(logging.getLogger("tests.throttle"), interval_s=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tests.throttle"):
        for i in range(1000):  # a flood within one interval
            warn("bad frame %d", i)
            clock.now += 0.001
        clock.now += 10.0
        warn("bad frame %d", 1000)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0] == "bad frame 0"
    assert messages[1].startswith("bad frame 1000") and "999 more like it" in messages[1]
    assert all(r.exc_info is None for r in caplog.records)
