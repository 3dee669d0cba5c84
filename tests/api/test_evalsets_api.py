"""AddEvalSet, ListEvalSets, RemoveEvalSet and RescanEvalSets over gRPC, and through CuratorClient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from curator.api.client import CuratorClient
from curator.api.server import RunningServer
from curator.domain.decision import Verdict
from curator.domain.evalset import ContaminationFinding, EvalItem
from curator.domain.reasons import ReasonCode
from curator.domain.validation import SampleInput
from curator.errors import AlreadyExists, InvalidArgument, NotFound
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc

# An eval item, and a training sample that quotes it word for word inside text of its own.
QUESTION = (
    "A farmer has seventeen sheep and all but nine run away through a hole in the fence; "
    "how many sheep does the farmer have left at the end of the day?"
)
LEAK = f"Here is a puzzle for you. {QUESTION} Think step by step before answering."
UNRELATED = (
    "Rust is a systems programming language that focuses on memory safety without a garbage collector."
)


def _items(*pairs: tuple[str, str]) -> list[pb.EvalItem]:
    return [pb.EvalItem(id=i, text=t) for i, t in pairs]


def _violations(err: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


def test_add_list_remove(stub: pb_grpc.CuratorServiceStub) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    added = stub.AddEvalSet(
        pb.AddEvalSetRequest(
            name="puzzles", items=_items(("q1", QUESTION), ("q2", UNRELATED)), source="puzzles.jsonl"
        )
    )
    assert (added.name, added.items, added.source) == ("puzzles", 2, "puzzles.jsonl")
    assert before <= added.create_time.ToDatetime(UTC) <= datetime.now(UTC) + timedelta(seconds=5)
    stub.AddEvalSet(pb.AddEvalSetRequest(name="arc-easy", items=_items(("1", "Which gas do plants absorb?"))))

    listed = stub.ListEvalSets(pb.ListEvalSetsRequest()).eval_sets
    assert [(e.name, e.items, e.source) for e in listed] == [
        ("arc-easy", 1, ""),
        ("puzzles", 2, "puzzles.jsonl"),
    ]
    assert listed[1] == added

    removed = stub.RemoveEvalSet(pb.RemoveEvalSetRequest(name="puzzles"))
    assert removed == added
    assert [e.name for e in stub.ListEvalSets(pb.ListEvalSetsRequest()).eval_sets] == ["arc-easy"]
    with pytest.raises(grpc.RpcError) as missing:
        stub.RemoveEvalSet(pb.RemoveEvalSetRequest(name="puzzles"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "puzzles" in (missing.value.details() or "")


def test_a_name_in_use_is_already_exists(stub: pb_grpc.CuratorServiceStub) -> None:
    stub.AddEvalSet(pb.AddEvalSetRequest(name="gold", items=_items(("a", QUESTION))))
    with pytest.raises(grpc.RpcError) as taken:
        stub.AddEvalSet(pb.AddEvalSetRequest(name="gold", items=_items(("b", UNRELATED))))
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "remove it first" in (taken.value.details() or "")
    [kept] = stub.ListEvalSets(pb.ListEvalSetsRequest()).eval_sets
    assert kept.items == 1  # the first set is untouched


def test_bad_input_is_invalid_argument_naming_each_field(stub: pb_grpc.CuratorServiceStub) -> None:
    request = pb.AddEvalSetRequest(
        name="Not A Name", items=_items(("a", QUESTION), ("", UNRELATED), ("c", "   "), ("a", "again"))
    )
    with pytest.raises(grpc.RpcError) as bad:
        stub.AddEvalSet(request)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(_violations(bad.value)) == {"name", "items[1].id", "items[2].text", "items[3].id"}
    with pytest.raises(grpc.RpcError) as empty:
        stub.AddEvalSet(pb.AddEvalSetRequest(name="empty"))
    assert set(_violations(empty.value)) == {"items"}
    assert list(stub.ListEvalSets(pb.ListEvalSetsRequest()).eval_sets) == []


def test_rescan_reports_kept_samples_that_leak_an_item(stub: pb_grpc.CuratorServiceStub) -> None:
    samples = [pb.Sample(id="leaky", text=LEAK), pb.Sample(id="clean", text=UNRELATED)]
    decided = stub.Filter(pb.FilterRequest(collection="c", samples=samples))
    assert [d.verdict for d in decided.decisions] == [pb.KEEP, pb.KEEP]  # no eval set yet
    stub.AddEvalSet(pb.AddEvalSetRequest(name="puzzles", items=_items(("q1", QUESTION))))

    response = stub.RescanEvalSets(pb.RescanEvalSetsRequest(collection="c"))
    [finding] = response.findings
    assert (finding.collection, finding.sample_id, finding.code) == ("c", "leaky", "EVAL_CONTAMINATION")
    assert (finding.eval_set, finding.item_id) == ("puzzles", "q1")
    assert finding.score > 0 and finding.detail
    # Every collection and every set by default; a rescan changes nothing, so it repeats.
    assert stub.RescanEvalSets(pb.RescanEvalSetsRequest()).findings == response.findings
    assert stub.GetCollection(pb.GetCollectionRequest(name="c")).kept_count == 2

    with pytest.raises(grpc.RpcError) as missing:
        stub.RescanEvalSets(pb.RescanEvalSetsRequest(eval_set="missing"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_few_thousand_items_fit_one_request(stub: pb_grpc.CuratorServiceStub) -> None:
    """Larger than gRPC's default 4 MiB message limit: the server's server.max_message_mb applies."""
    items = [
        pb.EvalItem(id=f"item-{k}", text=f"question {k}: " + "lorem ipsum dolor " * 110) for k in range(3000)
    ]
    request = pb.AddEvalSetRequest(name="big", items=items)
    assert request.ByteSize() > 5 * 1024 * 1024
    assert stub.AddEvalSet(request).items == 3000


# ---------------------------------------------------------------- through CuratorClient


@pytest.fixture
def client(server: RunningServer) -> Iterator[CuratorClient]:
    with CuratorClient(f"127.0.0.1:{server.port}", timeout=60) as c:
        yield c


def test_client_speaks_domain_objects_and_errors(client: CuratorClient) -> None:
    client.create_collection("c")
    [kept] = client.filter("c", [SampleInput(id="leaky", text=LEAK)])
    assert kept.verdict is Verdict.KEEP  # no eval set yet
    info = client.add_evalset("puzzles", [EvalItem("q1", QUESTION)], source="file.jsonl")
    assert (info.name, info.items, info.source) == ("puzzles", 1, "file.jsonl")
    assert info.created_at.tzinfo is not None
    assert client.list_evalsets() == [info]

    with pytest.raises(AlreadyExists):
        client.add_evalset("puzzles", [EvalItem("q1", QUESTION)])
    with pytest.raises(InvalidArgument) as bad:
        client.add_evalset("ok-name", [EvalItem("q1", QUESTION), EvalItem("q2", "")])
    assert [v.field for v in bad.value.violations] == ["items[1].text"]

    [finding] = client.rescan_evalsets(collection="c", evalset="puzzles")
    assert isinstance(finding, ContaminationFinding)
    assert finding.code is ReasonCode.EVAL_CONTAMINATION
    assert (finding.collection, finding.sample_id, finding.eval_set, finding.item_id) == (
        "c",
        "leaky",
        "puzzles",
        "q1",
    )
    assert client.rescan_evalsets() == [finding]
    with pytest.raises(NotFound):
        client.rescan_evalsets(collection="nope")

    # From now on the same leak is caught when it is filtered.
    client.create_collection("d")
    [later] = client.filter("d", [SampleInput(id="leaky", text=LEAK)])
    assert ReasonCode.EVAL_CONTAMINATION in [r.code for r in later.reasons]

    assert client.remove_evalset("puzzles") == info
    assert client.rescan_evalsets() == []
    with pytest.raises(NotFound):
        client.remove_evalset("puzzles")
