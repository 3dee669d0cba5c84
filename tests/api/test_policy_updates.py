"""UpdatePolicy over gRPC: partial by default, a field mask for exact control, unknown enums refused."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.test_servicer import violations


def _semantic_threshold(collection: pb.Collection) -> float:
    return collection.policy.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold


def test_updating_one_check_leaves_the_others(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    policy.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold = 0.97
    stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=policy))
    only_heuristics = pb.Policy()
    only_heuristics.checks["heuristics"].enabled = False
    updated = stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=only_heuristics))
    assert updated.policy.checks["heuristics"].enabled is False
    assert _semantic_threshold(updated) == pytest.approx(0.97)
    assert updated.policy_version == 3


def test_a_mask_resets_what_it_names_and_leaves_the_rest(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    policy.checks["semantic"].rules["SEMANTIC_DUPLICATE"].threshold = 0.97
    policy.checks["bias"].enabled = False
    stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=policy))
    reset = stub.UpdatePolicy(
        pb.UpdatePolicyRequest(
            name="c", policy=pb.Policy(), update_mask=FieldMask(paths=["checks.semantic.rules"])
        )
    )
    assert _semantic_threshold(reset) == pytest.approx(0.95)
    assert reset.policy.checks["bias"].enabled is False


@pytest.mark.parametrize("field", ["action", "dedup_key"])
def test_unknown_enum_values_are_invalid_not_defaults(stub: pb_grpc.CuratorServiceStub, field: str) -> None:
    policy = pb.Policy()
    if field == "action":
        policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].action = 99  # type: ignore[assignment]
        where = "policy.checks[near_duplicate].rules[NEAR_DUPLICATE].action"
    else:
        policy.dedup_key = 99  # type: ignore[assignment]
        where = "policy.dedup_key"
    for call in (
        lambda: stub.CreateCollection(pb.CreateCollectionRequest(name="other", policy=policy)),
        lambda: stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=policy)),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unknown value 99" in violations(info.value)[where]


def test_a_bad_mask_path_is_invalid(stub: pb_grpc.CuratorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.UpdatePolicy(
            pb.UpdatePolicyRequest(name="c", policy=pb.Policy(), update_mask=FieldMask(paths=["checks.x.y"]))
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in violations(info.value)


def test_server_info_reports_the_limits(stub: pb_grpc.CuratorServiceStub) -> None:
    info = stub.GetServerInfo(pb.GetServerInfoRequest())
    assert info.version and info.limits.max_batch == 1000 and info.limits.max_id_chars == 256
