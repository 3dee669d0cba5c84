"""A missing model is a precondition the operator fixes: FAILED_PRECONDITION naming the fix, not INTERNAL."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from curator.api.server import start
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings


def _call_filter(tmp_path: Path, policy: pb.Policy, **settings: object) -> grpc.RpcError:
    running = start(make_settings(tmp_path / "data", **settings))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.CuratorServiceStub(channel)
            stub.CreateCollection(pb.CreateCollectionRequest(name="c", policy=policy))
            with pytest.raises(grpc.RpcError) as info:
                stub.Filter(
                    pb.FilterRequest(collection="c", samples=[pb.Sample(id="a", text="some words here")])
                )
            return info.value
    finally:
        running.stop(grace=1)


def test_a_missing_embedding_model_is_failed_precondition(tmp_path: Path) -> None:
    err = _call_filter(
        tmp_path, pb.Policy(), embeddings={"model_path": tmp_path / "no-model", "preload": False}
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "CURATOR_EMBEDDINGS__MODEL_PATH" in (err.details() or "") or "no-model" in (err.details() or "")


def test_a_missing_quality_model_is_failed_precondition_naming_the_command(tmp_path: Path) -> None:
    policy = pb.Policy()
    policy.checks["hallucination"].enabled = True
    policy.checks["semantic"].enabled = False
    err = _call_filter(
        tmp_path, policy, quality={"model_dir": tmp_path / "no-models"}, embeddings={"preload": False}
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "curator train quality" in (err.details() or "")
