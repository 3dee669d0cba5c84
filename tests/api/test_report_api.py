"""AddReference and GetReport over gRPC, and through CuratorClient (the FakeEncoder stands in for the model).

The data are word soups of three topics with disjoint vocabularies: the reference holds cooking and
astronomy, the collection keeps cooking and finance, so astronomy is a missed region and finance an
over-filled one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from curator.api import convert
from curator.api.client import CuratorClient
from curator.api.server import RunningServer, start
from curator.domain.decision import Verdict
from curator.domain.evalset import EvalItem
from curator.domain.validation import SampleInput
from curator.errors import InvalidArgument, NotFound
from curator.monitor.coverage import CoverageReport, ReferenceWindow
from curator.service import Curator
from curator.settings import Settings
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.support.fake_encoder import checks_with

TOPICS = {
    "cooking": "flour butter oven recipe garlic onion simmer skillet pepper salt dough knead bake roast "
    "broth ladle whisk sugar yeast basil tomato noodle sauce crust spoon",
    "astronomy": "planet orbit comet galaxy nebula telescope asteroid meteor crater lunar solar eclipse "
    "quasar pulsar cosmos gravity rocket satellite horizon zenith starlight supernova equinox jupiter saturn",
    "finance": "bond stock dividend ledger invoice credit debit equity broker market yield interest loan "
    "mortgage budget audit pension portfolio hedge asset tariff margin cashflow capital payroll",
}


def text(topic: str, seed: int) -> str:
    """20 words of one topic, the same for the same seed."""
    rng = random.Random(f"{topic}-{seed}")
    return " ".join(rng.choice(TOPICS[topic].split()) for _ in range(20)) + "."


REFERENCE = [("cook", "cooking", 100 + i) for i in range(10)] + [("astro", "astronomy", i) for i in range(10)]


def _reference() -> list[pb.EvalItem]:
    return [pb.EvalItem(id=f"{p}-{seed}", text=text(topic, seed)) for p, topic, seed in REFERENCE]


def _samples() -> list[pb.Sample]:
    cooking = [
        pb.Sample(id=f"cook-{i}", text=text("cooking", i), metadata={"source": "gen-a" if i % 2 else "gen-b"})
        for i in range(10)
    ]
    finance = [
        pb.Sample(id=f"fin-{i}", text=text("finance", i), metadata={"source": "gen-b"}) for i in range(10)
    ]
    return cooking + finance


def _violations(err: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(err)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    settings = Settings.load(data_dir=tmp_path / "data", server={"port": 0, "grace_seconds": 1})
    running = start(settings, Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30) and not running.warm_up_errors
    yield running
    running.stop(grace=1)


@pytest.fixture
def stub(server: RunningServer) -> Iterator[pb_grpc.CuratorServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.CuratorServiceStub(channel)
        stub.CreateCollection(pb.CreateCollectionRequest(name="c"))
        yield stub


def test_add_reference_appends_and_returns_the_size(stub: pb_grpc.CuratorServiceStub) -> None:
    items = _reference()
    first = stub.AddReference(pb.AddReferenceRequest(collection="c", items=items[:5]))
    assert first.reference_items == 5
    rest = stub.AddReference(pb.AddReferenceRequest(collection="c", items=items[5:]))
    assert rest.reference_items == 20
    report = stub.GetReport(pb.GetReportRequest(collection="c"))
    assert report.reference_items == 20 and report.synthetic_kept == 0
    assert not report.HasField("precision") and not report.HasField("recall")  # nothing kept yet
    assert list(report.regions) == [] and list(report.mix) == [] and list(report.windows) == []
    assert set(report.reference_metrics) == {"mean_nn_distance", "distinct_3"}
    assert dict(report.synthetic_metrics) == {}


def test_report_fields_round_trip(stub: pb_grpc.CuratorServiceStub, server: RunningServer) -> None:
    decided = stub.Filter(pb.FilterRequest(collection="c", samples=_samples()))
    assert [d.verdict for d in decided.decisions] == [pb.KEEP] * 20
    stub.AddReference(pb.AddReferenceRequest(collection="c", items=_reference()))

    report = stub.GetReport(pb.GetReportRequest(collection="c", k=3, clusters=3))
    expected = server.curator.report("c", group_by="source", k=3, clusters=3)
    assert (report.collection, report.reference_items, report.synthetic_kept, report.k) == ("c", 20, 20, 3)
    assert report.HasField("precision") and report.precision == pytest.approx(expected.precision)
    assert report.HasField("recall") and report.recall == pytest.approx(expected.recall)
    assert 0.0 < report.recall < 1.0  # astronomy is real data nothing kept covers
    assert report.mix_key == "source"
    assert [(m.value, m.kept, m.share) for m in report.mix] == [("gen-b", 15, 0.75), ("gen-a", 5, 0.25)]
    assert dict(report.reference_metrics) == pytest.approx(expected.reference_metrics)
    assert dict(report.synthetic_metrics) == pytest.approx(expected.synthetic_metrics)
    assert not report.sampled

    assert [r.status for r in report.regions] == ["missed", "over-filled", "balanced"]
    missed, over, balanced = report.regions
    assert (missed.real_share, missed.synthetic_share) == (0.5, 0.0)
    assert len(missed.examples) == 3 and all(e.split()[0] in TOPICS["astronomy"] for e in missed.examples)
    assert (over.real_share, over.synthetic_share) == (0.0, 0.5)
    assert all(e.split()[0] in TOPICS["finance"] for e in over.examples)
    assert (balanced.real_share, balanced.synthetic_share) == (0.5, 0.5)
    assert [(r.cluster, r.status, tuple(r.examples)) for r in report.regions] == [
        (g.cluster, g.status, g.examples) for g in expected.regions
    ]

    # The collapse monitor's windows against the reference: all 20 were admitted now, so one window.
    [window] = report.windows
    [want] = expected.windows
    assert window.start_time.ToDatetime(UTC) == want.start
    assert want.start == datetime.fromtimestamp(want.start.timestamp() // 86_400 * 86_400, UTC)  # a UTC day
    assert window.kept == want.kept == 20
    assert set(window.window) == set(window.reference) == {"cluster_entropy", "distinct_3"}
    assert dict(window.window) == want.window and dict(window.reference) == want.reference
    assert tuple(window.below) == want.below

    # Zero and empty mean the defaults (k 5, 12 clusters, "source"); another key gives another mix.
    defaults = stub.GetReport(pb.GetReportRequest(collection="c"))
    assert (defaults.k, defaults.mix_key) == (5, "source")
    assert defaults.precision == pytest.approx(server.curator.report("c").precision)
    other = stub.GetReport(pb.GetReportRequest(collection="c", group_by="template", clusters=3))
    assert other.mix_key == "template"
    assert [(m.value, m.kept, m.share) for m in other.mix] == [("", 20, 1.0)]


def test_windows_survive_the_wire_with_their_below_flags() -> None:
    """Both converters, through serialised bytes: start, kept, both maps and below (here non-empty)."""
    report = CoverageReport(
        collection="c",
        reference_items=300,
        synthetic_kept=47,
        windows=[
            ReferenceWindow(
                datetime(2026, 3, 1, tzinfo=UTC),
                40,
                {"cluster_entropy": 0.25, "distinct_3": 0.5},
                {"cluster_entropy": 0.875, "distinct_3": 0.625},
                ("cluster_entropy",),
            ),
            ReferenceWindow(
                datetime(2026, 3, 2, 12, tzinfo=UTC), 7, {"distinct_3": 0.9}, {"distinct_3": 0.8}
            ),
            ReferenceWindow(datetime(2026, 3, 3, tzinfo=UTC), 5, {}, {}),  # neither side measurable
        ],
    )
    wire = pb.CoverageReport.FromString(convert.coverage_report(report).SerializeToString())
    assert [w.start_time.ToDatetime(UTC) for w in wire.windows] == [w.start for w in report.windows]
    assert list(wire.windows[0].below) == ["cluster_entropy"]
    assert convert.coverage_report_in(wire) == report
    assert convert.coverage_report_in(pb.CoverageReport(collection="c")).windows == []


def test_unknown_collection_is_not_found(stub: pb_grpc.CuratorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as add:
        stub.AddReference(pb.AddReferenceRequest(collection="nope", items=_reference()[:1]))
    assert add.value.code() == grpc.StatusCode.NOT_FOUND and "nope" in (add.value.details() or "")
    with pytest.raises(grpc.RpcError) as report:
        stub.GetReport(pb.GetReportRequest(collection="nope"))
    assert report.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_items_and_arguments_are_invalid_argument(stub: pb_grpc.CuratorServiceStub) -> None:
    items = [
        pb.EvalItem(id="a", text=text("cooking", 1)),
        pb.EvalItem(id="", text=text("cooking", 2)),
        pb.EvalItem(id="c", text="   "),
        pb.EvalItem(id="a", text=text("cooking", 3)),
    ]
    with pytest.raises(grpc.RpcError) as bad:
        stub.AddReference(pb.AddReferenceRequest(collection="c", items=items))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(_violations(bad.value)) == {"items[1].id", "items[2].text", "items[3].id"}
    with pytest.raises(grpc.RpcError) as empty:
        stub.AddReference(pb.AddReferenceRequest(collection="c"))
    assert set(_violations(empty.value)) == {"items"}
    assert stub.GetReport(pb.GetReportRequest(collection="c")).reference_items == 0  # nothing half-added

    for request, field in (
        (pb.GetReportRequest(collection="c", k=51), "k"),
        (pb.GetReportRequest(collection="c", k=-1), "k"),
        (pb.GetReportRequest(collection="c", clusters=1), "clusters"),
        (pb.GetReportRequest(collection="c", clusters=101), "clusters"),
    ):
        with pytest.raises(grpc.RpcError) as out_of_range:
            stub.GetReport(request)
        assert out_of_range.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(_violations(out_of_range.value)) == {field}


# ---------------------------------------------------------------- through CuratorClient


@pytest.fixture
def client(server: RunningServer) -> Iterator[CuratorClient]:
    with CuratorClient(f"127.0.0.1:{server.port}", timeout=60) as c:
        yield c


def test_client_speaks_domain_objects_and_errors(client: CuratorClient, server: RunningServer) -> None:
    client.create_collection("c")
    samples = [SampleInput(id=s.id, text=s.text, metadata=dict(s.metadata)) for s in _samples()]
    assert {d.verdict for d in client.filter("c", samples)} == {Verdict.KEEP}
    items = [EvalItem(i.id, i.text) for i in _reference()]
    assert client.add_reference("c", items[:12]) == 12
    assert client.add_reference("c", items[12:]) == 20

    report = client.report("c", k=3, clusters=3)
    assert isinstance(report, CoverageReport)
    assert report == server.curator.report("c", k=3, clusters=3)  # every field, None-ness included
    assert len(report.windows) == 1 and report.windows[0].kept == 20  # so windows were compared too
    empty = client.report("c", group_by="missing-key", clusters=3)
    assert empty.mix_key == "missing-key" and [(m.value, m.kept) for m in empty.mix] == [("", 20)]

    with pytest.raises(InvalidArgument) as bad:
        client.add_reference("c", [EvalItem("x", text("cooking", 1)), EvalItem("y", "")])
    assert [v.field for v in bad.value.violations] == ["items[1].text"]
    with pytest.raises(InvalidArgument) as k:
        client.report("c", k=51)
    assert [v.field for v in k.value.violations] == ["k"]
    with pytest.raises(NotFound):
        client.add_reference("nope", items[:1])
    with pytest.raises(NotFound):
        client.report("nope")
