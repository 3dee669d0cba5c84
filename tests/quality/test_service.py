"""The quality checks through the real gRPC service, with the real embedding model and shipped models."""

from __future__ import annotations

from pathlib import Path

import grpc

from curator.api.server import start
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

KNOWLEDGE = "The Oberoi Group is a hotel company with its head office in Delhi."
QUESTION = "Where is the head office of the Oberoi Group?"


def test_reasons_and_scores_come_back_over_grpc(tmp_path: Path) -> None:
    settings = Settings.load(
        data_dir=tmp_path,
        server={"port": 0, "grace_seconds": 5},
        default_policy={"checks": {"heuristics": {}, "grounding": {}, "hallucination": {}}},  # opt-in checks
    )
    running = start(settings)
    try:
        assert running.ready.wait(120) and not running.warm_up_errors
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.CuratorServiceStub(channel)
            enabled = pb.Policy(
                checks={n: pb.CheckPolicy(enabled=True) for n in ("heuristics", "grounding", "hallucination")}
            )
            stub.CreateCollection(pb.CreateCollectionRequest(name="q", policy=enabled))
            samples = [
                pb.Sample(
                    id="refusal",
                    instruction="Predict the election.",
                    output="As an AI language model, I can't.",
                ),
                pb.Sample(id="right", instruction=QUESTION, output="Delhi", context=[KNOWLEDGE]),
                pb.Sample(
                    id="wrong",
                    instruction=QUESTION,
                    output="Mumbai, the financial capital of India.",
                    context=[KNOWLEDGE],
                ),
            ]
            response = stub.Filter(pb.FilterRequest(collection="q", samples=samples, dry_run=True))
        refusal, right, wrong = response.decisions
        assert refusal.verdict == pb.DROP
        assert [(r.code, r.check, r.message) for r in refusal.reasons] == [
            ("REFUSAL", "heuristics", 'refusal: "As an AI language model" at 0')
        ]
        assert right.verdict == pb.KEEP and right.scores["grounding"] > 0.8
        assert wrong.verdict == pb.DROP
        codes = [r.code for r in wrong.reasons]
        assert codes[:2] == ["UNSUPPORTED_CLAIM", "HALLUCINATION"]
        assert '"Mumbai"' in wrong.reasons[0].message and wrong.scores["hallucination"] >= 0.95
    finally:
        running.stop(grace=1)
