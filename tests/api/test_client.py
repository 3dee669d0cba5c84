"""CuratorClient against a real in-process server: domain objects out, domain errors back."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from curator.api.client import CuratorClient
from curator.api.server import RunningServer, start
from curator.domain.decision import Action, Decision, Reason, Verdict
from curator.domain.policy import CheckPolicy, DedupKey, Policy, RulePolicy
from curator.domain.reasons import ReasonCode
from curator.domain.validation import SampleInput
from curator.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from curator.settings import Settings
from curator.state.store import StatsQuery

TEXT = "the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat by the door"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start(Settings.load(data_dir=tmp_path / "data", server={"port": 0}))
    try:
        yield running
    finally:
        running.stop(grace=0)


@pytest.fixture
def client(server: RunningServer) -> Iterator[CuratorClient]:
    with CuratorClient(f"127.0.0.1:{server.port}", timeout=60) as c:
        yield c


def _text(sample_id: str, text: str = TEXT, **metadata: str) -> SampleInput:
    return SampleInput(id=sample_id, text=text, metadata=metadata)


def test_collections_round_trip(client: CuratorClient, server: RunningServer) -> None:
    policy = Policy(
        dedup_key=DedupKey.PROMPT,
        checks={
            "near_duplicate": CheckPolicy(
                rules={"NEAR_DUPLICATE": RulePolicy(threshold=0.9, review_threshold=0.7)}
            )
        },
    )
    created = client.create_collection("tuned", policy)
    local = server.curator.get_collection("tuned")
    assert created == local
    assert created.policy.dedup_key is DedupKey.PROMPT
    assert created.created_at.tzinfo is not None
    assert client.get_collection("tuned") == local
    client.create_collection("plain")
    assert [c.name for c in client.list_collections()] == ["plain", "tuned"]
    assert client.get_collection("plain").policy == server.curator.default_policy


def test_errors_map_to_domain_errors(client: CuratorClient) -> None:
    client.create_collection("c")
    with pytest.raises(AlreadyExists, match="c"):
        client.create_collection("c")
    with pytest.raises(NotFound, match="'nope' does not exist"):
        client.get_collection("nope")
    with pytest.raises(FailedPrecondition, match="dedup_key is fixed"):
        client.update_policy("c", Policy(dedup_key=DedupKey.RESPONSE))
    with pytest.raises(InvalidArgument) as err:
        client.create_collection("Not A Name")
    assert [v.field for v in err.value.violations] == ["name"]


def test_update_policy_bumps_the_version(client: CuratorClient) -> None:
    client.create_collection("c")
    updated = client.update_policy(
        "c",
        Policy(
            checks={
                "exact_duplicate": CheckPolicy(
                    rules={"EXACT_DUPLICATE": RulePolicy(threshold=1.0, action=Action.REVIEW)}
                )
            }
        ),
    )
    assert updated.policy_version == 2
    assert updated.policy.check("exact_duplicate").rules["EXACT_DUPLICATE"].action is Action.REVIEW


def test_filter_returns_domain_decisions(client: CuratorClient) -> None:
    client.create_collection("c")
    decisions = client.filter("c", [_text("a"), _text("b", TEXT.upper())])
    dedup = ("empty", "exact_duplicate", "near_duplicate", "semantic_similarity", "diversity")
    for d in decisions:  # compare the dedup scores; other checks add scores of their own
        d.scores = {k: v for k, v in d.scores.items() if k in dedup}
        d.annotations = []
    assert decisions == [
        Decision(
            "a",
            Verdict.KEEP,
            [],
            {
                "empty": 0.0,
                "exact_duplicate": 0.0,
                "near_duplicate": 0.0,
                "semantic_similarity": 0.0,
                "diversity": 1.0,
            },
            1,
        ),
        Decision(
            "b",
            Verdict.DROP,
            [
                Reason(
                    ReasonCode.EXACT_DUPLICATE,
                    "exact_duplicate",
                    "exact duplicate of kept sample a after normalisation",
                    1.0,
                    1.0,
                    Action.DROP,
                    "a",
                )
            ],
            {"empty": 0.0, "exact_duplicate": 1.0},
            1,
        ),
    ]
    assert isinstance(decisions[1].reasons[0].code, ReasonCode)


def test_all_shapes_and_fields_reach_the_server(client: CuratorClient, server: RunningServer) -> None:
    client.create_collection("c")
    samples = [
        SampleInput(id="t", text="a text", context=["ctx one", "ctx two"], metadata={"generator": "g"}),
        SampleInput(id="p", instruction="do it", input="", output="done"),
        SampleInput(id="m", messages=[("user", "hi"), ("assistant", "hello there")]),
    ]
    assert [d.verdict for d in client.filter("c", samples)] == [Verdict.KEEP] * 3
    # Same samples again in-process: all exact duplicates, so the server saw the same content.
    again = [
        SampleInput(
            id=f"{s.id}2",
            text=s.text,
            instruction=s.instruction,
            input=s.input,
            output=s.output,
            messages=s.messages,
        )
        for s in samples
    ]
    assert [r.matched_id for d in server.curator.filter("c", again) for r in d.reasons] == ["t", "p", "m"]
    stats = client.stats(StatsQuery(collection="c", group_by="generator"))
    assert stats.by_group["g"].keep == 1


def test_invalid_argument_carries_field_violations(client: CuratorClient) -> None:
    client.create_collection("c")
    bad = [SampleInput(id="x", text="t", output="o"), SampleInput(id="", text="t")]
    with pytest.raises(InvalidArgument) as err:
        client.filter("c", bad)
    assert err.value.violations == [
        FieldViolation("samples[0].content", "two content shapes (text and alpaca): set exactly one"),
        FieldViolation("samples[1].id", "id is required: give every sample a non-empty id"),
    ]
    with pytest.raises(NotFound, match="collection 'missing' does not exist"):
        client.filter("missing", [_text("a")])


def test_filter_stream_answers_each_batch_in_order_and_survives_a_bad_one(client: CuratorClient) -> None:
    client.create_collection("c")
    batches: list[Sequence[SampleInput]] = [
        [_text("a"), _text("b", "another text entirely different words here")],
        [SampleInput(id="bad")],
        [_text("a2"), _text("c", "something else")],
    ]
    results = list(client.filter_stream("c", batches))
    assert len(results) == 3
    first, second, third = results
    assert isinstance(first, list) and [d.verdict for d in first] == [Verdict.KEEP, Verdict.KEEP]
    assert isinstance(second, InvalidArgument)
    assert [v.field for v in second.violations] == ["samples[0].content"]
    assert isinstance(third, list)
    assert [(d.sample_id, d.verdict) for d in third] == [("a2", Verdict.DROP), ("c", Verdict.KEEP)]
    assert third[0].reasons[0].matched_id == "a"


def test_filter_stream_dry_run_and_score_all(client: CuratorClient) -> None:
    client.create_collection("c")
    [[kept, dup]] = list(client.filter_stream("c", [[_text("a"), _text("b")]], dry_run=True, score_all=True))
    assert kept.verdict is Verdict.KEEP
    assert [r.code for r in dup.reasons] == [
        ReasonCode.EXACT_DUPLICATE,
        ReasonCode.NEAR_DUPLICATE,
        ReasonCode.SEMANTIC_DUPLICATE,
    ]
    assert client.get_collection("c").kept_count == 0


def test_filter_stream_reads_batches_lazily(client: CuratorClient) -> None:
    """A long input is never read far ahead of the responses (the window bounds it)."""
    client.create_collection("c")
    produced = 0

    def batches() -> Iterator[list[SampleInput]]:
        nonlocal produced
        for i in range(100):
            produced += 1
            yield [_text(f"s{i}", f"text number {i}")]

    stream = client.filter_stream("c", batches())
    next(stream)
    assert produced <= 10
    stream.close()
    # The abandoned stream leaves the client and server usable.
    assert client.filter("c", [_text("after")])[0].verdict is Verdict.KEEP


def test_an_error_in_the_batches_reaches_the_caller(client: CuratorClient) -> None:
    client.create_collection("c")

    def batches() -> Iterator[list[SampleInput]]:
        yield [_text("a")]
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        list(client.filter_stream("c", batches()))


def test_stats_round_trip(client: CuratorClient, server: RunningServer) -> None:
    client.create_collection("c")
    client.filter("c", [_text("a", generator="g1"), _text("b", generator="g2"), _text("c", TEXT + "!")])
    query = StatsQuery(
        collection="c",
        start=datetime.now(UTC) - timedelta(hours=1),
        end=datetime.now(UTC) + timedelta(hours=1),
        bucket_seconds=60,
        group_by="generator",
    )
    remote = client.stats(query)
    assert remote == server.curator.stats(query)
    assert (remote.totals.keep, remote.totals.drop) == (1, 2)
    assert remote.by_reason == {"EXACT_DUPLICATE": 1, "NEAR_DUPLICATE": 1}
    assert remote.bucket_seconds == 60
    assert sum(c.total for _, c in remote.series) == 3
    assert all(start.tzinfo is not None for start, _ in remote.series)


TOPICS = [
    "Volcanoes form where magma rises through cracks in the crust of the earth.",
    "A balanced diet includes vegetables, whole grains and enough protein.",
    "The French Revolution began in 1789 and ended the absolute monarchy.",
    "Binary search halves the search interval at every step of the loop.",
    "Jazz grew out of blues and ragtime in New Orleans early last century.",
    "Compound interest makes savings grow faster the longer they are left alone.",
    "Penguins cannot fly, but they swim fast using their flipper-like wings.",
    "To change a flat tyre, loosen the nuts before you jack up the car.",
]


def test_concurrent_calls_share_one_client(client: CuratorClient) -> None:
    client.create_collection("c")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            client.filter("c", [_text(f"t{n}", TOPICS[n])])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client.get_collection("c").kept_count == 8


def test_an_unreachable_server_is_unavailable() -> None:
    with (
        CuratorClient("127.0.0.1:1", timeout=5) as client,
        pytest.raises(Unavailable, match=r"127\.0\.0\.1:1"),
    ):
        client.list_collections()
