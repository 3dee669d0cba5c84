"""End-to-end gRPC behaviour against an in-process server on port 0."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

TEXT = (
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide "
    "to make glucose and oxygen, storing energy in chemical bonds for later use by the plant."
)


def alpaca(i: str, output: str, instruction: str = "Explain photosynthesis.") -> pb.Sample:
    return pb.Sample(id=i, instruction=instruction, output=output, metadata={"generator": "g1"})


def violations(err: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


def test_filter_keeps_then_drops_duplicates_with_matched_id(stub: pb_grpc.CuratorServiceStub) -> None:
    first = stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)]))
    assert [d.verdict for d in first.decisions] == [pb.KEEP]
    again = stub.Filter(
        pb.FilterRequest(
            collection="c",
            samples=[
                alpaca("exact", TEXT.upper()),
                alpaca("near", TEXT + " It happens in the chloroplasts."),
                alpaca("new", "Rust is a systems programming language focused on safety and speed."),
            ],
        )
    )
    exact, near, new = again.decisions
    assert (exact.verdict, exact.reasons[0].code, exact.reasons[0].matched_id) == (
        pb.DROP,
        "EXACT_DUPLICATE",
        "a",
    )
    assert (near.verdict, near.reasons[0].code, near.reasons[0].matched_id) == (
        pb.DROP,
        "NEAR_DUPLICATE",
        "a",
    )
    assert near.reasons[0].check == "near_duplicate"
    assert near.reasons[0].threshold == pytest.approx(0.8)
    assert near.reasons[0].score == pytest.approx(near.scores["near_duplicate"])
    assert near.scores["near_duplicate"] >= 0.8
    assert near.reasons[0].action == pb.ACTION_DROP
    assert new.verdict == pb.KEEP and not new.reasons
    assert new.policy_version == 1


def test_within_one_request_later_samples_meet_earlier_kept_ones(stub: pb_grpc.CuratorServiceStub) -> None:
    resp = stub.Filter(
        pb.FilterRequest(collection="c", samples=[alpaca("1", TEXT), alpaca("2", TEXT + " Indeed.")])
    )
    assert [d.verdict for d in resp.decisions] == [pb.KEEP, pb.DROP]
    assert resp.decisions[1].reasons[0].matched_id == "1"


def test_dry_run_admits_nothing(stub: pb_grpc.CuratorServiceStub) -> None:
    dry = stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)], dry_run=True))
    assert dry.decisions[0].verdict == pb.KEEP
    real = stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("b", TEXT)]))
    assert real.decisions[0].verdict == pb.KEEP
    stats = stub.GetStats(pb.GetStatsRequest(collection="c"))
    assert stats.totals.total == 1


def test_score_all_scores_dropped_samples_too(stub: pb_grpc.CuratorServiceStub) -> None:
    stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)]))
    plain = stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("b", TEXT)], dry_run=True))
    assert "near_duplicate" not in plain.decisions[0].scores  # short-circuited after the exact match
    full = stub.Filter(
        pb.FilterRequest(collection="c", samples=[alpaca("b", TEXT)], dry_run=True, score_all=True)
    )
    assert full.decisions[0].scores["near_duplicate"] == pytest.approx(1.0)
    assert [r.code for r in full.decisions[0].reasons] == [
        "EXACT_DUPLICATE",
        "NEAR_DUPLICATE",
        "SEMANTIC_DUPLICATE",
    ]
    assert full.decisions[0].scores["semantic_similarity"] == pytest.approx(1.0, abs=1e-5)


def test_three_content_shapes(stub: pb_grpc.CuratorServiceStub) -> None:
    chat = pb.Sample(
        id="chat",
        messages=[
            pb.Message(role="user", content="What is 2+2?"),
            pb.Message(role="assistant", content="Four."),
        ],
    )
    resp = stub.Filter(
        pb.FilterRequest(collection="c", samples=[pb.Sample(id="t", text=TEXT), chat, alpaca("a", "x")])
    )
    assert [d.verdict for d in resp.decisions] == [pb.KEEP, pb.KEEP, pb.KEEP]


def test_empty_content_is_dropped(stub: pb_grpc.CuratorServiceStub) -> None:
    resp = stub.Filter(pb.FilterRequest(collection="c", samples=[pb.Sample(id="e", text=" \n\u200b ")]))
    assert resp.decisions[0].verdict == pb.DROP
    assert resp.decisions[0].reasons[0].code == "EMPTY"


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        (pb.Sample(text="no id"), "samples[1].id"),
        (pb.Sample(id="x"), "samples[1].content"),
        (pb.Sample(id="x", text="a", output="b"), "samples[1].content"),
        (pb.Sample(id="x", messages=[pb.Message(role="robot", content="hi")]), "samples[1].messages[0].role"),
        (pb.Sample(id="x", text="a" * 100_001), "samples[1].text"),
    ],
)
def test_bad_samples_are_invalid_argument_with_field_violations(
    stub: pb_grpc.CuratorServiceStub, sample: pb.Sample, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("ok", TEXT), sample]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(info.value)
    # Nothing of a rejected request is admitted.
    assert stub.GetCollection(pb.GetCollectionRequest(name="c")).kept_count == 0


def test_too_many_samples_and_unknown_collection(stub: pb_grpc.CuratorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.Filter(
            pb.FilterRequest(collection="c", samples=[pb.Sample(id=str(i), text="t") for i in range(1001)])
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000" in violations(info.value)["samples"]
    # AIP-193: a collection that does not exist is NOT_FOUND from every RPC that names it.
    for call in (
        lambda: stub.Filter(pb.FilterRequest(collection="nope", samples=[alpaca("a", TEXT)])),
        lambda: stub.ListDecisions(pb.ListDecisionsRequest(collection="nope")),
        lambda: stub.GetStats(pb.GetStatsRequest(collection="nope")),
        lambda: stub.GetCollection(pb.GetCollectionRequest(name="nope")),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert "collection 'nope' does not exist" in (info.value.details() or "")
        status = rpc_status.from_call(info.value)
        assert status is not None
        resource = error_details_pb2.ResourceInfo()
        assert status.details[0].Unpack(resource)
        assert (resource.resource_type, resource.resource_name) == ("curator.v1.Collection", "nope")


def test_stream_bad_message_fails_its_response_not_the_stream(stub: pb_grpc.CuratorServiceStub) -> None:
    requests = [
        pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT)]),
        pb.FilterRequest(collection="c", samples=[pb.Sample(id="bad")]),
        pb.FilterRequest(collection="c", samples=[alpaca("b", TEXT)]),
    ]
    responses = list(stub.FilterStream(iter(requests)))
    assert len(responses) == 3
    assert responses[0].decisions[0].verdict == pb.KEEP
    assert responses[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad = error_details_pb2.BadRequest()
    assert responses[1].error.details[0].Unpack(bad)
    assert bad.field_violations[0].field == "samples[0].content"
    assert responses[2].decisions[0].reasons[0].code == "EXACT_DUPLICATE"


def test_collections_create_get_list_update(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy(dedup_key=pb.DEDUP_KEY_RESPONSE)
    policy.checks["near_duplicate"].enabled = True
    policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].threshold = 0.7
    policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].action = pb.ACTION_REVIEW
    created = stub.CreateCollection(pb.CreateCollectionRequest(name="resp", policy=policy))
    assert created.policy_version == 1
    assert created.policy.dedup_key == pb.DEDUP_KEY_RESPONSE
    assert created.policy.checks["near_duplicate"].params["lsh_threshold"] == pytest.approx(0.7)
    assert created.policy.checks["exact_duplicate"].enabled  # defaults filled in
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateCollection(pb.CreateCollectionRequest(name="resp"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    names = [c.name for c in stub.ListCollections(pb.ListCollectionsRequest()).collections]
    assert sorted(names) == ["c", "resp"]

    updated_policy = pb.Policy()
    updated_policy.CopyFrom(created.policy)
    updated_policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].threshold = 0.9
    updated = stub.UpdatePolicy(pb.UpdatePolicyRequest(name="resp", policy=updated_policy))
    assert updated.policy_version == 2
    resp = stub.Filter(pb.FilterRequest(collection="resp", samples=[alpaca("a", TEXT)]))
    assert resp.decisions[0].policy_version == 2

    with pytest.raises(grpc.RpcError) as info:
        stub.GetCollection(pb.GetCollectionRequest(name="missing"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_policy_errors_name_the_field(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    policy.checks["near_duplicate"].enabled = True
    policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].threshold = 1.5
    policy.checks["bogus"].enabled = True
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateCollection(pb.CreateCollectionRequest(name="p", policy=policy))
    found = violations(info.value)
    assert (
        found["policy.checks[near_duplicate].rules[NEAR_DUPLICATE].threshold"]
        == "threshold must be in [0.0, 1.0]"
    )
    assert "unknown check" in found["policy.checks[bogus]"]


def test_review_action_and_band(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    rule = policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"]
    policy.checks["near_duplicate"].enabled = True
    policy.checks["exact_duplicate"].enabled = True
    policy.checks["empty"].enabled = True
    policy.checks["semantic"].enabled = False  # the paraphrase would be a semantic duplicate too
    rule.threshold = 0.95
    rule.action = pb.ACTION_DROP
    rule.review_threshold = 0.5
    stub.CreateCollection(pb.CreateCollectionRequest(name="band", policy=policy))
    stub.Filter(pb.FilterRequest(collection="band", samples=[alpaca("a", TEXT)]))
    resp = stub.Filter(
        pb.FilterRequest(collection="band", samples=[alpaca("b", TEXT + " It happens in chloroplasts.")])
    )
    d = resp.decisions[0]
    assert 0.5 <= d.scores["near_duplicate"] < 0.95
    assert d.verdict == pb.REVIEW
    assert (d.reasons[0].action, d.reasons[0].threshold, d.reasons[0].matched_id) == (
        pb.ACTION_REVIEW,
        0.5,
        "a",
    )


def test_stats_by_verdict_reason_check_group_and_series(stub: pb_grpc.CuratorServiceStub) -> None:
    stub.Filter(pb.FilterRequest(collection="c", samples=[alpaca("a", TEXT), alpaca("b", TEXT)]))
    stub.Filter(
        pb.FilterRequest(collection="c", samples=[pb.Sample(id="e", text=" ", metadata={"generator": "g2"})])
    )
    stats = stub.GetStats(pb.GetStatsRequest(collection="c", group_by="generator", bucket_seconds=60))
    assert (stats.totals.keep, stats.totals.drop, stats.totals.review, stats.totals.total) == (1, 2, 0, 3)
    assert dict(stats.by_reason) == {"EXACT_DUPLICATE": 1, "EMPTY": 1}
    assert dict(stats.by_check) == {"exact_duplicate": 1, "empty": 1}
    groups = {g.key: (g.counts.keep, g.counts.drop) for g in stats.by_group}
    assert groups == {"g1": (1, 1), "g2": (0, 1)}
    assert sum(b.counts.total for b in stats.series) == 3
    assert stats.bucket_seconds == 60
    everything = stub.GetStats(pb.GetStatsRequest())
    assert everything.totals.total == 3


def test_check_named_without_enabled_stays_enabled(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].threshold = 0.9
    created = stub.CreateCollection(pb.CreateCollectionRequest(name="implicit", policy=policy))
    assert created.policy.checks["near_duplicate"].enabled
    policy.checks["exact_duplicate"].enabled = False
    updated = stub.UpdatePolicy(pb.UpdatePolicyRequest(name="implicit", policy=policy))
    assert not updated.policy.checks["exact_duplicate"].enabled


def test_update_of_threshold_alone_keeps_index_params(stub: pb_grpc.CuratorServiceStub) -> None:
    policy = pb.Policy()
    policy.checks["near_duplicate"].rules["NEAR_DUPLICATE"].threshold = 0.6
    updated = stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=policy))
    near = updated.policy.checks["near_duplicate"]
    assert near.rules["NEAR_DUPLICATE"].threshold == pytest.approx(0.6)
    assert near.params["lsh_threshold"] == pytest.approx(0.8)  # fixed at creation
    policy.checks["near_duplicate"].params["num_perm"] = 64
    with pytest.raises(grpc.RpcError) as info:
        stub.UpdatePolicy(pb.UpdatePolicyRequest(name="c", policy=policy))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "create a new collection" in (info.value.details() or "")
