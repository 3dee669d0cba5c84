"""Streams cost a coroutine, not a worker thread: many streams and health stay live (defect 13).

Deadlines here are liveness bounds (a starved call never answers), not timing assertions.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from curator.api.server import RunningServer, start
from curator.domain.decision import Decision
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings
from tests.support.fake_encoder import checks_with

WORKERS = 4
STREAMS = 40  # ten times the worker threads
LIVENESS_S = 60.0  # a starved stream or probe never answers; a live one answers well within this


def cheap_policy() -> pb.Policy:
    """Every check but the semantic one: no model work, so the test stays about scheduling."""
    policy = pb.Policy()
    policy.checks["semantic"].enabled = False
    return policy


def _start(settings: Settings, curator: Curator | None = None) -> RunningServer:
    running = start(settings, curator or Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30) and not running.warm_up_errors
    return running


@pytest.fixture
def small_pool(tmp_path: Path) -> Iterator[RunningServer]:
    running = _start(make_settings(tmp_path / "data", server={"max_workers": WORKERS}))
    yield running
    running.stop(grace=1)


def _request(stream: int, message: int) -> pb.FilterRequest:
    return pb.FilterRequest(
        collection="c",
        samples=[
            pb.Sample(
                id=f"s{stream}-m{message}-{i}",
                text=f"Stream {stream} message {message} sample {i}: a sentence about topic "
                f"{stream * 97 + message * 13 + i} that stays distinct from the others.",
            )
            for i in range(3)
        ],
    )


def test_more_streams_than_workers_all_open_at_once_and_health_answers(small_pool: RunningServer) -> None:
    """Every stream gets its first answer while all are open; then health answers SERVING."""

    async def scenario() -> tuple[list[list[pb.FilterResponse]], int]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{small_pool.port}") as channel:
            stub = pb_grpc.CuratorServiceStub(channel)
            await stub.CreateCollection(
                pb.CreateCollectionRequest(name="c", policy=cheap_policy()), timeout=LIVENESS_S
            )
            first_answered = 0
            all_open = asyncio.Event()

            async def one(stream: int) -> list[pb.FilterResponse]:
                nonlocal first_answered
                call = stub.FilterStream()
                responses = []
                await call.write(_request(stream, 0))
                responses.append(await call.read())
                first_answered += 1
                if first_answered == STREAMS:
                    all_open.set()
                await all_open.wait()  # no stream ends before every stream has been answered once
                for message in (1, 2):
                    await call.write(_request(stream, message))
                    responses.append(await call.read())
                await call.done_writing()
                assert await call.read() == grpc.aio.EOF
                assert await call.code() == grpc.StatusCode.OK
                return responses

            tasks = [asyncio.create_task(one(s)) for s in range(STREAMS)]
            await asyncio.wait_for(all_open.wait(), LIVENESS_S)
            health = health_pb2_grpc.HealthStub(channel)
            status = (await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)).status
            return await asyncio.wait_for(asyncio.gather(*tasks), LIVENESS_S), status

    responses, health_status = asyncio.run(scenario())
    assert health_status == health_pb2.HealthCheckResponse.SERVING
    assert len(responses) == STREAMS
    for stream, answers in enumerate(responses):
        assert len(answers) == 3, stream
        for message, answer in enumerate(answers):
            assert not answer.HasField("error"), (stream, message, answer.error)
            assert [d.sample_id for d in answer.decisions] == [
                s.id for s in _request(stream, message).samples
            ]


class BlockingCurator(Curator):
    """Filter on collection "blocked" holds its worker thread until released (counting entries)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, checks=checks_with(settings=settings))
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def filter(
        self,
        collection: str,
        samples: Sequence[SampleInput],
        *,
        dry_run: bool = False,
        score_all: bool = False,
    ) -> list[Decision]:
        if collection == "blocked":
            self.entered.release()
            self.release.wait(LIVENESS_S)
        return super().filter(collection, samples, dry_run=dry_run, score_all=score_all)


def test_health_and_reflection_answer_while_every_worker_is_busy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", server={"max_workers": 2})
    curator = BlockingCurator(settings)
    running = _start(settings, curator)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.CuratorServiceStub(channel)
            stub.CreateCollection(pb.CreateCollectionRequest(name="blocked", policy=cheap_policy()))
            busy = [
                stub.Filter.future(
                    pb.FilterRequest(collection="blocked", samples=[pb.Sample(id=str(i), text=f"text {i}")]),
                    timeout=LIVENESS_S,
                )
                for i in range(2)
            ]
            for _ in busy:  # both worker threads are now inside Curator.filter
                assert curator.entered.acquire(timeout=LIVENESS_S)
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="curator.v1.CuratorService"), timeout=10
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            [listed] = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
            )
            assert "curator.v1.CuratorService" in {s.name for s in listed.list_services_response.service}
            curator.release.set()
            assert [len(f.result().decisions) for f in busy] == [1, 1]
    finally:
        curator.release.set()
        running.stop(grace=1)
