"""Bias findings in gRPC decisions, and GetBiasReport end to end (one small server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from curator.api import convert
from curator.api.server import RunningServer, start
from curator.bias.lexicon import load_lexicon
from curator.cli.audit import collection_report
from curator.errors import NotFound
from curator.settings import Settings
from curator.state.store import StatsQuery
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.api.conftest import make_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(make_settings(Path(tmp_path_factory.mktemp("bias-grpc"))))
    try:
        yield running
    finally:
        running.stop(grace=1)


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Iterator[pb_grpc.CuratorServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.CuratorServiceStub(channel)


def test_decisions_carry_findings_and_the_report_counts_them(stub: pb_grpc.CuratorServiceStub) -> None:
    stub.CreateCollection(pb.CreateCollectionRequest(name="b"))
    samples = [
        pb.Sample(id="1", text="The Sikh temple opened its kitchen to everyone on Sunday."),
        pb.Sample(id="2", text="Women are too emotional to manage money, the old advert claimed."),
        pb.Sample(id="3", text="Refugees are parasites, the flyer said."),
    ]
    decisions = stub.Filter(pb.FilterRequest(collection="b", samples=samples)).decisions
    assert [d.verdict for d in decisions] == [pb.KEEP, pb.REVIEW, pb.DROP]
    (mention,) = [a for a in decisions[0].annotations if a.kind == "identity_mention"]
    assert (mention.check, mention.subject, mention.label, mention.start, mention.end) == (
        "bias",
        "religion",
        "sikh",
        4,
        8,
    )
    attributes = dict(mention.attributes)
    assert re.fullmatch(r"[01]\.\d\d", attributes.pop("confidence"))  # the detector's to set
    assert attributes == {"axis": "religion", "group": "sikh", "term": "Sikh", "method": "lexicon"}
    assert [r.code for r in decisions[1].reasons] == ["STEREOTYPE_ASSOCIATION"]
    assert [r.code for r in decisions[2].reasons] == ["TOXIC_LANGUAGE"]

    report = stub.GetBiasReport(pb.GetBiasReportRequest(collection="b"))
    assert (report.totals.keep, report.totals.drop, report.totals.review) == (1, 1, 1)
    assert report.source == "collection b" and report.lexicon_version == load_lexicon().version
    religion = next(a for a in report.axes if a.axis == "religion")
    sikh = next(g for g in religion.groups if g.group == "sikh")
    assert (sikh.counts.keep, sikh.share, sikh.drop_rate) == (1, 1.0, 0.0)
    assert [(s.subject, s.label, s.counts.review) for s in report.stereotypes] == [
        ("gender/female", "too emotional", 1)
    ]
    assert [(t.subject, t.label, t.counts.drop) for t in report.toxic] == [
        ("dehumanising", "characteristics/immigration_status", 1)
    ]
    assert religion.HasField("drop_rate") and religion.drop_rate == 0.0
    assert religion.HasField("drop_rate_lower") and religion.drop_rate_lower == 0.0
    assert religion.label == "religion" and [(e.method, e.counts.keep) for e in religion.evidence] == [
        ("lexicon", 1)
    ]
    labels = {a.axis: a.label for a in report.axes}
    assert (labels["ability"], labels["race_ethnicity"], labels["gender_and_sex"]) == (
        "disability",
        "race / ethnicity",
        "gender",
    )
    assert (report.drop_factor, report.min_count, report.min_drops) == (1.5, 20, 5)
    nonce = next(a for a in report.axes if a.axis == "nonce")
    assert not nonce.HasField("total_variation") and not nonce.HasField("drop_rate")


def test_bias_report_of_an_unknown_collection_is_not_found(stub: pb_grpc.CuratorServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.GetBiasReport(pb.GetBiasReportRequest(collection="missing"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_curator_audit_reads_the_same_report_from_the_server(
    server: RunningServer, stub: pb_grpc.CuratorServiceStub
) -> None:
    stub.CreateCollection(pb.CreateCollectionRequest(name="r"))
    stub.Filter(pb.FilterRequest(collection="r", samples=[pb.Sample(id="1", text="Hindus and Jains met.")]))
    target = f"127.0.0.1:{server.port}"
    report = collection_report(Settings(), target, StatsQuery(collection="r"))
    assert report == convert.bias_report_in(stub.GetBiasReport(pb.GetBiasReportRequest(collection="r")))
    religion = next(a for a in report.axes if a.axis == "religion")
    assert {g.group: g.counts.keep for g in religion.groups if g.counts.total} == {"hindu": 1, "jain": 1}
    with pytest.raises(NotFound):
        collection_report(Settings(), target, StatsQuery(collection="missing"))
