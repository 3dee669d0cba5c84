"""The dashboard driven in headless Chromium against a real server with seeded decisions.

What the page shows is compared with what the JSON API (and gRPC GetStats) says, so these tests
check the wiring end to end: charts drawn from the right fields, drill-down rows with their
matched samples, and review actions that change the counts.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest

from curator.domain.decision import Action
from curator.domain.policy import CheckPolicy, Policy, RulePolicy
from curator.domain.review import ReviewAction
from curator.domain.validation import SampleInput
from curator.v1 import curator_service_pb2 as pb
from curator.v1 import curator_service_pb2_grpc as pb_grpc
from tests.web.conftest import COPIES, ORIGINALS, TOKEN, Page, Seeded, start_server

DROPS_AND_REVIEWS = ["d-empty", *[cid for cid, *_ in reversed(COPIES)]]  # newest first


def get_json(seeded: Seeded, path: str, token: str | None = None) -> Any:
    request = urllib.request.Request(seeded.base_url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def open_dashboard(p: Page, url: str) -> None:
    p.page.goto(url)
    p.page.wait_for_selector("body[data-ready='1']")


def chart(p: Page, canvas_id: str) -> dict[str, Any] | None:
    """The chart drawn on a canvas: its labels and each dataset's label and data."""
    return p.page.evaluate(
        """id => {
            const c = Chart.getChart(document.getElementById(id));
            return c ? {labels: c.data.labels, type: c.config.type,
                        datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))} : null;
        }""",
        canvas_id,
    )


def dataset(drawn: dict[str, Any], label: str) -> list[Any]:
    (found,) = [d["data"] for d in drawn["datasets"] if d["label"] == label]
    return found


def kpi(p: Page, name: str) -> str:
    return p.page.get_by_test_id(f"kpi-{name}").get_attribute("data-value") or ""


def wait_kpi(p: Page, name: str, value: int) -> None:
    p.page.wait_for_selector(f"[data-testid='kpi-{name}'][data-value='{value}']")


def rows(p: Page) -> list[str]:
    return p.page.eval_on_selector_all(
        "#decision-list [data-testid='decision']", "nodes => nodes.map(n => n.dataset.sampleId)"
    )


def row(p: Page, sample_id: str) -> Any:
    return p.page.locator(f"#decision-list [data-testid='decision'][data-sample-id='{sample_id}']")


def wait_rows(p: Page, expected: list[str]) -> None:
    p.page.wait_for_function(
        """expected => {
            const ids = [...document.querySelectorAll("#decision-list [data-testid='decision']")]
                .map(n => n.dataset.sampleId);
            return JSON.stringify(ids) === JSON.stringify(expected);
        }""",
        arg=expected,
    )


# ---------------------------------------------------------------- loading and charts


def test_page_loads_without_errors_and_every_chart_matches_the_api(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    assert page.console_errors == [] and page.page_errors == []
    assert page.outside_requests == []  # Chart.js is served by curator, nothing comes from a CDN
    assert page.page.title() == "curator · web"

    bucket = page.page.evaluate("curatorDashboard.state.bucketSeconds")
    stats = get_json(seeded, f"/api/stats?collection=web&bucket_seconds={bucket}")
    assert stats["totals"] == {**stats["totals"], "keep": 8, "drop": 4, "review": 2, "total": 14}
    assert (kpi(page, "total"), kpi(page, "keep"), kpi(page, "drop")) == ("14", "8", "4")
    assert (kpi(page, "review-pending"), kpi(page, "review-approved"), kpi(page, "review-rejected")) == (
        "2",
        "0",
        "0",
    )
    assert float(kpi(page, "drop-rate")) == pytest.approx(4 / 14)
    assert page.page.get_by_test_id("kpi-drop-rate").inner_text() == "28.6%"

    rejection = chart(page, "chart-rejection")
    assert rejection is not None and len(rejection["datasets"][0]["data"]) > 0
    assert dataset(rejection, "drop rate") == pytest.approx([s["drop_rate"] for s in stats["series"]])
    assert dataset(rejection, "review rate") == pytest.approx([s["review_rate"] for s in stats["series"]])
    for label, verdict in (("kept", "keep"), ("dropped", "drop"), ("review", "review")):
        assert dataset(rejection, label) == [s[verdict] for s in stats["series"]]
    assert sum(dataset(rejection, "dropped")) == 4

    reasons = chart(page, "chart-reasons")
    assert reasons is not None
    assert reasons["labels"] == list(stats["by_reason"])
    assert reasons["datasets"][0]["data"] == list(stats["by_reason"].values())
    assert dict(zip(reasons["labels"], reasons["datasets"][0]["data"], strict=True)) == {
        "NEAR_DUPLICATE": 4,
        "EXACT_DUPLICATE": 1,
        "EMPTY": 1,
    }

    for key in ("generator", "template"):
        drawn = chart(page, f"chart-group-{key}")
        assert drawn is not None and len(drawn["datasets"][0]["data"]) > 0
        groups = stats["by_group"][key]
        values = sorted(groups, key=lambda v: (-groups[v]["total"], v))
        assert [label.split(" · ")[0] for label in drawn["labels"]] == values
        for label, verdict in (("kept", "keep"), ("dropped", "drop"), ("review", "review")):
            assert dataset(drawn, label) == [groups[v][verdict] for v in values]
    generator = chart(page, "chart-group-generator")
    assert generator is not None
    # gen-b: 3 kept originals and 3 dropped copies -> "gen-b · 50% drop"
    assert "gen-b · 50% drop" in generator["labels"]

    diversity = chart(page, "chart-diversity")
    windows = stats["diversity"]
    assert diversity is not None and windows and sum(w["kept"] for w in windows) == 8
    for metric, label in (
        ("mean_nn_distance", "mean NN distance"),
        ("cluster_entropy", "cluster entropy"),
        ("distinct_3", "distinct 3-grams"),
    ):
        assert dataset(diversity, label) == pytest.approx([w[metric] for w in windows])
    assert dataset(diversity, "kept samples") == [w["kept"] for w in windows]

    bias = get_json(seeded, "/api/bias?collection=web")
    axes = sorted((a for a in bias["axes"] if a["counts"]["total"]), key=lambda a: -a["counts"]["total"])
    assert {a["axis"] for a in axes} >= {"age", "religion"}  # teenagers, old people, Buddhist
    drawn_bias = chart(page, "chart-bias")
    assert drawn_bias is not None
    assert drawn_bias["datasets"][0]["data"] == pytest.approx([a["drop_rate"] for a in axes])
    assert [label.split(" (")[0] for label in drawn_bias["labels"]] == [a["label"] for a in axes]
    options = page.page.locator("[data-testid='bias-axis'] option")
    assert options.all_inner_texts() == [a["label"] for a in axes]  # display names; values stay keys
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [
        a["axis"] for a in axes
    ]
    share = chart(page, "chart-bias-share")
    assert share is not None and len(share["datasets"][0]["data"]) > 0
    selected = page.page.get_by_test_id("bias-axis").input_value()
    (axis,) = [a for a in axes if a["axis"] == selected]
    assert sum(share["datasets"][0]["data"]) == pytest.approx(1.0)  # shares of the axis's kept mentions
    assert len(share["datasets"][0]["data"]) == len([g for g in axis["groups"] if g["counts"]["total"]])
    evidence = page.page.get_by_test_id("bias-evidence").inner_text()
    assert axis["evidence"] and evidence.startswith(f"{axis['label']}, mentions found by: ")
    for method, c in axis["evidence"].items():
        assert f"{method} {c['keep']:,} kept of {c['total']:,}" in evidence
    flags = page.page.locator("[data-testid='bias-flag-list'] li")
    assert flags.count() == len(bias["flags"])
    assert flags.all_inner_texts() == bias["flags"]


def test_bucket_selector_redraws_the_rejection_chart_per_bucket(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    for seconds in ("60", "3600", "86400"):
        page.page.get_by_test_id("bucket-select").select_option(seconds)
        page.page.wait_for_function(
            "s => curatorDashboard.state.stats.bucket_seconds === s", arg=int(seconds)
        )
        stats = get_json(seeded, f"/api/stats?collection=web&bucket_seconds={seconds}")
        drawn = chart(page, "chart-rejection")
        assert drawn is not None
        assert sum(dataset(drawn, "kept")) == 8 and sum(dataset(drawn, "review")) == 2
        assert len(drawn["labels"]) == len(stats["series"])
    # the choice is remembered
    page.page.reload()
    page.page.wait_for_selector("body[data-ready='1']")
    assert page.page.get_by_test_id("bucket-select").input_value() == "86400"


# ---------------------------------------------------------------- drill-down


def test_drilldown_lists_drops_and_reviews_with_the_matched_sample_side_by_side(
    seeded: Seeded, page: Page
) -> None:
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, DROPS_AND_REVIEWS)  # both verdicts, merged newest first

    near = row(page, "d-near-jazz")
    reason = near.get_by_test_id("reason")
    assert reason.get_attribute("data-code") == "NEAR_DUPLICATE"
    assert reason.get_attribute("data-matched-id") == "k-jazz"
    cells = reason.locator("td").all_inner_texts()
    score = seeded.decisions["d-near-jazz"].reasons[0].score
    assert cells[:4] == ["NEAR_DUPLICATE", "near_duplicate", f"{score:.3f}", "0.800"]
    assert "k-jazz" in cells[5]
    # the dropped sample and the kept one it matched, side by side, the changed word marked on each
    samples = near.get_by_test_id("sample")
    assert samples.count() == 2
    assert samples.nth(0).get_attribute("data-sample-id") == "d-near-jazz"
    matched = near.get_by_test_id("matched").get_by_test_id("sample")
    assert matched.get_attribute("data-sample-id") == "k-jazz"
    assert "Jazz grew out of blues and ragtime" in matched.inner_text()
    box_sample, box_matched = samples.nth(0).bounding_box(), matched.bounding_box()
    assert box_sample and box_matched and box_matched["x"] > box_sample["x"] + box_sample["width"] - 1
    assert abs(box_matched["y"] - box_sample["y"]) < 2
    assert samples.nth(0).locator("mark").all_inner_texts() == ["zeppelin"]
    jazz_output = next(f for sid, f, _ in ORIGINALS if sid == "k-jazz")["output"]
    assert matched.locator("mark").all_inner_texts() == [jazz_output.split(" ")[20]]

    # shapes: alpaca fields, chat roles, plain text
    assert row(page, "d-exact-volcano").get_by_test_id("matched").locator(
        ".field-name"
    ).all_text_contents() == [
        "instruction",
        "output",
    ]
    assert row(page, "d-exact-volcano").locator("mark").count() == 0  # an exact copy: nothing differs
    assert row(page, "d-near-garden").locator(".sample").first.locator(".role").all_text_contents() == [
        "user",
        "assistant",
    ]
    assert row(page, "r-penguin").locator(".sample").first.get_attribute("data-shape") == "text"
    empty = row(page, "d-empty")
    assert empty.get_by_test_id("matched").count() == 0 and empty.get_by_test_id("reason").count() == 1
    # pending reviews have their buttons; drops have none
    assert row(page, "r-sleep").get_by_test_id("review-approve").is_visible()
    assert row(page, "d-near-jazz").get_by_test_id("review-approve").count() == 0


def test_drilldown_filters_by_verdict_generator_reason_and_queue(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, DROPS_AND_REVIEWS)
    ui = page.page

    ui.get_by_test_id("filter-verdict").select_option("review")
    wait_rows(page, ["r-sleep", "r-penguin"])
    ui.get_by_test_id("filter-verdict").select_option("drop")
    wait_rows(page, ["d-empty", "d-near-garden", "d-near-jazz", "d-exact-volcano"])

    ui.get_by_test_id("filter-verdict").select_option("not_kept")
    ui.get_by_test_id("filter-meta").select_option(json.dumps(["generator", "gen-c"], separators=(",", ":")))
    wait_rows(page, ["d-empty", "r-sleep", "r-penguin"])
    ui.get_by_test_id("filter-meta").select_option("")
    ui.get_by_test_id("filter-reason").select_option("EXACT_DUPLICATE")
    wait_rows(page, ["d-exact-volcano"])
    ui.get_by_test_id("filter-reset").click()
    wait_rows(page, DROPS_AND_REVIEWS)

    ui.get_by_test_id("filter-queue").click()
    wait_rows(page, ["r-sleep", "r-penguin"])
    assert ui.get_by_test_id("filter-review").input_value() == "pending"

    # clicking a bar of the reasons chart lists the decisions raising that reason
    ui.get_by_test_id("filter-reset").click()
    wait_rows(page, DROPS_AND_REVIEWS)
    click_bar(page, "chart-reasons", "EMPTY")
    wait_rows(page, ["d-empty"])
    assert ui.get_by_test_id("filter-reason").input_value() == "EMPTY"
    # ... and a bar of a breakdown lists that generator's drops and reviews
    click_bar(page, "chart-group-generator", "gen-a")
    wait_rows(page, [])
    assert ui.get_by_test_id("decisions-empty").is_visible()  # gen-a's samples were all kept
    click_bar(page, "chart-group-generator", "gen-b")
    wait_rows(page, ["d-near-garden", "d-near-jazz", "d-exact-volcano"])


def click_bar(p: Page, canvas_id: str, label_prefix: str) -> None:
    """Click the middle of the first bar whose label starts with ``label_prefix``."""
    where = p.page.evaluate(
        """([id, prefix]) => {
            const c = Chart.getChart(document.getElementById(id));
            const i = c.data.labels.findIndex(l => l.startsWith(prefix));
            for (const meta of c.getSortedVisibleDatasetMetas()) {
                const bar = meta.data[i];
                if (bar && Math.abs(bar.x - bar.base) > 2) return {x: (bar.x + bar.base) / 2, y: bar.y};
            }
            return null;
        }""",
        [canvas_id, label_prefix],
    )
    assert where is not None, f"no bar {label_prefix!r} on {canvas_id}"
    canvas = p.page.locator(f"#{canvas_id}")
    canvas.scroll_into_view_if_needed()
    canvas.click(position={"x": where["x"], "y": where["y"]})


def test_load_more_pages_through_drops_and_reviews_newest_first(tmp_path: Path, page: Page) -> None:
    running = start_server(tmp_path / "data")
    try:
        curator = running.curator
        # exact copies go to review, empty samples are dropped: 45 decisions of both verdicts, interleaved
        policy = Policy(
            checks={
                "exact_duplicate": CheckPolicy(
                    rules={"EXACT_DUPLICATE": RulePolicy(threshold=1.0, action=Action.REVIEW)}
                ),
                "near_duplicate": CheckPolicy(enabled=False),
                "semantic": CheckPolicy(enabled=False),
            }
        )
        curator.create_collection("many", policy)
        text = "A kept sample that every copy repeats, word for word, so that it is an exact duplicate."
        curator.filter("many", [SampleInput(id="original", text=text)])
        batch = [
            SampleInput(id=f"s{i:02d}", text=text if i % 3 else "  ", metadata={"generator": "g"})
            for i in range(45)
        ]
        curator.filter("many", batch)
        open_dashboard(page, f"http://127.0.0.1:{running.http_port}/?collection=many")
        newest_first = [f"s{i:02d}" for i in reversed(range(45))]
        wait_rows(page, newest_first[:20])
        page.page.get_by_test_id("decisions-more").click()
        wait_rows(page, newest_first[:40])
        page.page.get_by_test_id("decisions-more").click()
        wait_rows(page, newest_first)
        assert page.page.get_by_test_id("decisions-more").is_hidden()
        verdicts = page.page.eval_on_selector_all(
            "#decision-list [data-testid='decision']", "nodes => nodes.map(n => n.dataset.verdict)"
        )
        assert verdicts == ["review" if int(s[1:]) % 3 else "drop" for s in newest_first]
        assert page.console_errors == []
    finally:
        running.stop(grace=1)


# ---------------------------------------------------------------- reviews


def grpc_reviews(seeded: Seeded) -> tuple[int, int, int]:
    with grpc.insecure_channel(f"127.0.0.1:{seeded.running.port}") as channel:
        stats = pb_grpc.CuratorServiceStub(channel).GetStats(pb.GetStatsRequest(collection="web"))
    return stats.reviews.pending, stats.reviews.approved, stats.reviews.rejected


def test_approve_and_reject_change_the_counts_and_get_stats_agrees(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, DROPS_AND_REVIEWS)
    ui = page.page
    assert ui.get_by_test_id("reviewer-name").is_hidden()

    row(page, "r-penguin").get_by_test_id("review-note").fill("same facts, reworded")
    row(page, "r-penguin").get_by_test_id("review-approve").click()
    # without tokens the page asks once who is reviewing
    dialog = ui.get_by_test_id("reviewer-dialog")
    dialog.wait_for(state="visible")
    ui.get_by_test_id("reviewer-input").fill("bob")
    ui.get_by_test_id("reviewer-ok").click()
    wait_kpi(page, "review-approved", 1)
    assert (kpi(page, "review-pending"), kpi(page, "review-rejected")) == ("1", "0")
    assert grpc_reviews(seeded) == (1, 1, 0)
    done = row(page, "r-penguin").get_by_test_id("review-done")
    text = done.text_content() or ""
    assert "approved by bob" in text and "same facts, reworded" in text
    assert row(page, "r-penguin").get_attribute("data-review-state") == "approved"
    assert ui.get_by_test_id("reviewer-name").inner_text() == "bob"
    record = seeded.curator.get_decision(seeded.decision_id("r-penguin"))
    assert record.review is not None and (record.review.reviewer, record.review.note) == (
        "bob",
        "same facts, reworded",
    )
    # approving admitted the sample: kept counts grow by one
    assert seeded.curator.get_collection("web").kept_count == 9

    row(page, "r-sleep").get_by_test_id("review-reject").click()  # the name is remembered: no dialog
    wait_kpi(page, "review-rejected", 1)
    assert dialog.is_hidden()
    assert (kpi(page, "review-pending"), kpi(page, "review-approved")) == ("0", "1")
    assert grpc_reviews(seeded) == (0, 1, 1)
    assert seeded.curator.get_collection("web").kept_count == 9
    assert ui.get_by_test_id("open-queue").is_hidden()  # nothing left to review
    assert page.console_errors == [] and page.page_errors == []


def test_api_errors_are_shown_with_their_field_violations(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, DROPS_AND_REVIEWS)
    page.page.evaluate("localStorage.setItem('curator.dashboard.reviewer', 'bob')")

    # someone else reviews r-penguin after the page loaded: the page's reject is refused
    seeded.curator.review_decision(seeded.decision_id("r-penguin"), ReviewAction.APPROVE, "carol")
    row(page, "r-penguin").get_by_test_id("review-reject").click()
    error = page.page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert "already reviewed" in error.inner_text()
    assert row(page, "r-penguin").get_by_test_id("review-reject").is_enabled()  # can be tried again

    # a note over the limit: the server names the field
    page.page.locator("#error-close").click()
    note = row(page, "r-sleep").get_by_test_id("review-note")
    note.evaluate("input => { input.value = 'x'.repeat(2001); }")  # past the input's maxlength
    row(page, "r-sleep").get_by_test_id("review-approve").click()
    error.wait_for(state="visible")
    assert "note must be at most 2000 characters" in error.locator("#error-fields").inner_text()
    assert kpi(page, "review-pending") == "2"  # the page's counts are from before carol's review
    assert page.page_errors == []


def test_with_tokens_the_page_needs_sign_in_and_reviews_are_logged_under_the_token_name(
    seeded_with_auth: Seeded, page: Page
) -> None:
    seeded = seeded_with_auth
    ui = page.page
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(seeded, "/api/stats?collection=web")
    assert refused.value.code == 401
    assert get_json(seeded, "/api/me", token=TOKEN)["user"] == "alice"

    ui.goto(seeded.base_url + "/")
    assert ui.url == seeded.base_url + "/login?next=/"
    ui.get_by_test_id("login-token").fill("not-a-token-of-ours")
    ui.get_by_test_id("login-submit").click()
    ui.get_by_test_id("login-error").wait_for()
    assert "unknown token" in ui.get_by_test_id("login-error").inner_text()
    ui.get_by_test_id("login-token").fill(TOKEN)
    ui.get_by_test_id("login-submit").click()
    ui.wait_for_selector("body[data-ready='1']")
    assert ui.url == seeded.base_url + "/"
    assert ui.get_by_test_id("user").inner_text() == "alice"
    assert ui.get_by_test_id("sign-out").is_visible()
    assert kpi(page, "total") == "14"
    wait_rows(page, DROPS_AND_REVIEWS)

    row(page, "r-sleep").get_by_test_id("review-approve").click()  # no name asked: the token says who
    wait_kpi(page, "review-approved", 1)
    assert ui.get_by_test_id("reviewer-dialog").is_hidden()
    assert "approved by alice" in (row(page, "r-sleep").get_by_test_id("review-done").text_content() or "")
    record = seeded.curator.get_decision(seeded.decision_id("r-sleep"))
    assert record.review is not None and record.review.reviewer == "alice"
    assert page.page_errors == []

    ui.get_by_test_id("sign-out").click()
    ui.wait_for_url(seeded.base_url + "/login")
    ui.goto(seeded.base_url + "/?collection=web")
    assert ui.url == seeded.base_url + "/login?next=/%3Fcollection%3Dweb"


# ---------------------------------------------------------------- refresh, collections, empty states


def test_refresh_updates_counts_and_offers_new_decisions(seeded: Seeded, page: Page) -> None:
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, DROPS_AND_REVIEWS)
    volcano = next(f for sid, f, _ in ORIGINALS if sid == "k-volcano")
    seeded.curator.filter("web", [SampleInput(id="d-late", metadata={"generator": "gen-a"}, **volcano)])
    page.page.evaluate("curatorDashboard.refresh()")  # what the 15-second timer calls
    wait_kpi(page, "total", 15)
    assert kpi(page, "drop") == "5"
    new = page.page.get_by_test_id("new-decisions")
    new.wait_for(state="visible")
    assert rows(page) == DROPS_AND_REVIEWS  # the list is not pushed around under the reader
    new.click()
    wait_rows(page, ["d-late", *DROPS_AND_REVIEWS])


def test_collection_selector_switches_collections(seeded: Seeded, page: Page) -> None:
    seeded.curator.create_collection("another")
    texts = [
        "Tides rise and fall twice a day as the moon pulls on the oceans.",
        "A good sourdough starter needs flour, water, warmth and patience.",
        "Chess openings trade material for time, space or a safer king.",
    ]
    seeded.curator.filter("another", [SampleInput(id=f"a{i}", text=t) for i, t in enumerate(texts)])
    open_dashboard(page, seeded.base_url + "/?collection=web")
    assert kpi(page, "total") == "14"
    page.page.get_by_test_id("collection-select").select_option("another")
    page.page.wait_for_url("**/?collection=another")
    page.page.wait_for_selector("body[data-ready='1']")
    assert (kpi(page, "total"), kpi(page, "keep")) == ("3", "3")
    assert page.page.get_by_test_id("decisions-empty").is_visible()  # nothing dropped there


def test_empty_states(tmp_path: Path, page: Page) -> None:
    running = start_server(tmp_path / "data")
    try:
        base = f"http://127.0.0.1:{running.http_port}/"
        page.page.goto(base)
        assert page.page.get_by_test_id("empty-collections").is_visible()
        assert page.page.locator("canvas").count() == 0

        running.curator.create_collection("fresh")
        page.page.goto(base)
        page.page.wait_for_selector("body[data-ready='1']")
        assert page.page.get_by_test_id("empty-decisions").is_visible()
        assert page.page.get_by_test_id("decisions-empty").is_visible()
        assert kpi(page, "total") == "0"
        assert page.page.get_by_test_id("kpi-drop-rate").inner_text() == "–"
        for canvas in ("chart-rejection", "chart-reasons", "chart-diversity", "chart-bias"):
            assert chart(page, canvas) is None
            assert page.page.locator(f".placeholder[data-for='{canvas}']").is_visible()
        assert page.console_errors == [] and page.page_errors == []
    finally:
        running.stop(grace=1)


def test_sample_text_and_metadata_are_shown_as_text_never_as_html(seeded: Seeded, page: Page) -> None:
    hostile = '<img src=/x onerror="window.__pwned = 1"><script>window.__pwned = 2</script> <b>bold</b>'
    jazz = next(f for sid, f, _ in ORIGINALS if sid == "k-jazz")
    seeded.curator.filter(
        "web",
        [
            SampleInput(id="<i>id</i>", text="   ", metadata={"generator": "<b>gen</b>", "template": "qa"}),
            SampleInput(
                id="x-copy", metadata={"generator": hostile}, **{**jazz, "output": jazz["output"] + hostile}
            ),
        ],
    )
    open_dashboard(page, seeded.base_url + "/")
    wait_rows(page, ["x-copy", "<i>id</i>", *DROPS_AND_REVIEWS])
    assert page.page.evaluate("window.__pwned") is None
    assert (
        page.page.locator(
            "#decision-list img, #decision-list script, #decision-list b:text-is('bold')"
        ).count()
        == 0
    )
    assert row(page, "<i>id</i>").get_by_test_id("decision-sample-id").inner_text() == "<i>id</i>"
    assert hostile in row(page, "x-copy").get_by_test_id("sample").first.inner_text()
    assert "<b>gen</b>" in row(page, "<i>id</i>").locator(".chips").inner_text()
    generator = chart(page, "chart-group-generator")
    assert generator is not None and any(label.startswith("<b>gen</b>") for label in generator["labels"])
    assert page.page_errors == [] and page.console_errors == []
