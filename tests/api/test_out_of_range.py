"""Numbers out of range are INVALID_ARGUMENT naming the field, never INTERNAL (fault-trial leftovers)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.test_servicer import violations

_TOKEN_30_NINES = base64.urlsafe_b64encode(b"d1:" + b"9" * 30).decode()

CASES: list[tuple[str, Callable[[pb_grpc.CuratorServiceStub], object], str]] = [
    (
        "bucket",
        lambda s: s.GetStats(pb.GetStatsRequest(collection="c", bucket_seconds=2**63 - 1)),
        "bucket_seconds",
    ),
    (
        "nanos",
        lambda s: s.GetStats(pb.GetStatsRequest(start_time=Timestamp(seconds=1, nanos=-1))),
        "start_time",
    ),
    (
        "seconds",
        lambda s: s.ListDecisions(pb.ListDecisionsRequest(end_time=Timestamp(seconds=2**62))),
        "end_time",
    ),
    (
        "bias-window",
        lambda s: s.GetBiasReport(pb.GetBiasReportRequest(start_time=Timestamp(nanos=-1))),
        "start_time",
    ),
    (
        "page-token",
        lambda s: s.ListDecisions(pb.ListDecisionsRequest(page_token=_TOKEN_30_NINES)),
        "page_token",
    ),
    (
        "superscript-id",
        lambda s: s.ReviewDecision(
            pb.ReviewDecisionRequest(decision_id="²", action=pb.REVIEW_ACTION_APPROVE, reviewer="x")
        ),
        "decision_id",
    ),
]


@pytest.mark.parametrize(("name", "call", "field"), CASES, ids=[c[0] for c in CASES])
def test_out_of_range_is_invalid_argument(
    stub: pb_grpc.CuratorServiceStub,
    name: str,
    call: Callable[[pb_grpc.CuratorServiceStub], object],
    field: str,
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(stub)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert field in violations(info.value)
