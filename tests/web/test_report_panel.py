"""The dashboard's coverage panel: GET /api/collections/{name}/report (Starlette's test client) and the panel
in headless Chromium, fetched only when asked for.

Word soups of three topics with disjoint vocabularies (the FakeEncoder's bags of words cluster them exactly):
the reference holds cooking and astronomy, the collection keeps cooking and finance, so astronomy is a
missed region and finance an over-filled one.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.testclient import TestClient

from curator.domain.evalset import EvalItem
from curator.domain.validation import SampleInput
from curator.formats import coverage_report_json
from curator.service import Curator
from curator.settings import Settings
from curator.web.app import create_app
from tests.support.fake_encoder import checks_with
from tests.web.conftest import Page, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Route  # the browser tests' fixture reports a missing playwright

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent.parent / "curator" / "web" / "static"
TOPICS = {
    "cooking": "flour butter oven recipe garlic onion simmer skillet pepper salt dough knead bake roast "
    "broth ladle whisk sugar yeast basil tomato noodle sauce crust spoon",
    "astronomy": "planet orbit comet galaxy nebula telescope asteroid meteor crater lunar solar eclipse "
    "quasar pulsar cosmos gravity rocket satellite horizon zenith starlight supernova equinox jupiter saturn",
    "finance": "bond stock dividend ledger invoice credit debit equity broker market yield interest loan "
    "mortgage budget audit pension portfolio hedge asset tariff margin cashflow capital payroll",
}


def text(topic: str, seed: int, n: int = 20) -> str:
    rng = random.Random(f"{topic}-{seed}")
    return " ".join(rng.choice(TOPICS[topic].split()) for _ in range(n)) + "."


def seed(curator: Curator, collection: str = "c") -> None:
    curator.create_collection(collection)
    samples = [
        SampleInput(id=f"cook-{i}", text=text("cooking", i), metadata={"generator": "gen-a", "source": "s1"})
        for i in range(10)
    ]
    samples += [
        SampleInput(id=f"fin-{i}", text=text("finance", i), metadata={"generator": "gen-b", "source": "s2"})
        for i in range(10)
    ]
    curator.filter(collection, samples)
    real = [EvalItem(f"cook-{i}", text("cooking", 100 + i)) for i in range(10)]
    real += [EvalItem(f"astro-{i}", text("astronomy", i, n=40)) for i in range(10)]  # long: clipped
    assert curator.add_reference(collection, real) == 20


@pytest.fixture
def curator(tmp_path: Path) -> Iterator[Curator]:
    settings = Settings.load(data_dir=tmp_path / "data")
    c = Curator(settings, checks=checks_with(settings=settings))
    seed(c)
    yield c
    c.close()


@pytest.fixture
def client(curator: Curator) -> TestClient:
    return TestClient(create_app(curator))


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _serve(body: dict[str, Any]) -> Callable[[Route], None]:
    """A Playwright route handler answering with ``body`` as the report."""
    return lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


# ---------------------------------------------------------------- the JSON endpoint


def test_the_endpoint_returns_the_report_as_json(client: TestClient, curator: Curator) -> None:
    response = client.get("/api/collections/c/report", params={"clusters": 3})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == _json(coverage_report_json(curator.report("c", clusters=3)))
    assert (body["reference_items"], body["synthetic_kept"], body["k"], body["mix_key"]) == (
        20,
        20,
        5,
        "source",
    )
    assert [(m["value"], m["kept"], m["share"]) for m in body["mix"]] == [("s1", 10, 0.5), ("s2", 10, 0.5)]
    assert 0 < body["precision"] < 1 and 0 < body["recall"] < 1
    assert [g["status"] for g in body["regions"]] == ["missed", "over-filled", "balanced"]
    assert all(e.split()[0] in TOPICS["astronomy"] for e in body["regions"][0]["examples"])
    [window] = body["windows"]  # all 20 were admitted now: one (UTC day) window of the collapse monitor
    assert window["kept"] == 20 and window["start"].endswith("T00:00:00+00:00")
    assert set(window["window"]) == set(window["reference"]) == {"cluster_entropy", "distinct_3"}
    assert set(window["below"]) <= set(window["window"])

    by_generator = client.get(
        "/api/collections/c/report", params={"group_by": "generator", "k": 3, "clusters": 3}
    ).json()
    assert by_generator == _json(
        coverage_report_json(curator.report("c", group_by="generator", k=3, clusters=3))
    )
    assert [m["value"] for m in by_generator["mix"]] == ["gen-a", "gen-b"] and by_generator["k"] == 3
    # No parameters: the service's defaults (group by source, k 5, 12 clusters).
    assert client.get("/api/collections/c/report").json() == _json(coverage_report_json(curator.report("c")))


def test_errors_are_json_with_their_status(client: TestClient) -> None:
    missing = client.get("/api/collections/nope/report")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    for params, field in (({"k": "abc"}, "k"), ({"k": 51}, "k"), ({"clusters": 1}, "clusters")):
        bad = client.get("/api/collections/c/report", params=params)
        assert bad.status_code == 400, params
        assert [v["field"] for v in bad.json()["field_violations"]] == [field]


def test_with_tokens_the_endpoint_needs_one(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", auth={"tokens": {"alice": "s3cret-token-for-alice"}})
    curator = Curator(settings, checks=checks_with(settings=settings))
    try:
        seed(curator)
        client = TestClient(create_app(curator))
        assert client.get("/api/collections/c/report").status_code == 401
        authed = client.get(
            "/api/collections/c/report", headers={"Authorization": "Bearer s3cret-token-for-alice"}
        )
        assert authed.status_code == 200 and authed.json()["reference_items"] == 20
    finally:
        curator.close()


# ---------------------------------------------------------------- the page


def test_the_page_has_the_panel_and_its_script_fetches_the_report_only_on_demand(client: TestClient) -> None:
    page = client.get("/", params={"collection": "c"}).text
    for testid in ("coverage-panel", "coverage-run", "coverage-group", "coverage-missed", "coverage-over"):
        assert f'data-testid="{testid}"' in page
    assert "curator reference add c FILE" in page
    assert re.search(r'<option value="generator">generator</option>', page)  # http.group_keys in the mix menu

    script = (STATIC / "dashboard.js").read_text()
    assert "/api/collections/${encodeURIComponent(CONFIG.collection)}/report" in script
    refresh = script[script.index("async function refreshAll") :]
    refresh = refresh[: refresh.index("\n  }\n")]
    assert "Coverage" not in refresh and "report" not in refresh  # never part of the 15 s refresh
    assert '$("coverage-run").addEventListener("click", loadCoverage)' in script


def test_the_panel_in_a_browser(tmp_path: Path, page: Page) -> None:
    running = start_server(tmp_path / "data")
    try:
        seed(running.curator, "web")
        base = f"http://127.0.0.1:{running.http_port}"
        asked: list[str] = []
        page.page.on("request", lambda r: asked.append(r.url) if "/report" in r.url else None)
        page.page.goto(base + "/?collection=web")
        page.page.wait_for_selector("body[data-ready='1']")
        page.page.evaluate("curatorDashboard.refresh()")
        assert asked == []  # neither loading the page nor a refresh computes a report
        assert page.page.get_by_test_id("coverage-body").is_hidden()

        page.page.get_by_test_id("coverage-run").click()
        page.page.wait_for_selector("[data-testid='coverage-body']:not([hidden])")
        assert asked == [f"{base}/api/collections/web/report?group_by=source"]
        expected = _json(coverage_report_json(running.curator.report("web")))
        shown = page.page.get_by_test_id("coverage-precision")
        assert float(shown.get_attribute("data-value") or "nan") == pytest.approx(expected["precision"])
        assert shown.inner_text() == f"{expected['precision']:.1%}"
        recall = page.page.get_by_test_id("coverage-recall").get_attribute("data-value")
        assert float(recall or "nan") == pytest.approx(expected["recall"])
        assert page.page.get_by_test_id("coverage-no-reference").is_hidden()

        mix = page.page.locator("#coverage-mix tr").all_inner_texts()
        assert [row.split("\t") for row in mix] == [["s1", "10", "50.0%"], ["s2", "10", "50.0%"]]
        metrics = page.page.locator("#coverage-metrics tr").all_inner_texts()
        assert [row.split("\t")[0] for row in metrics] == [
            "mean NN distance (1 - cosine)",
            "distinct word 3-grams",
        ]

        assert page.page.get_by_test_id("coverage-windows-block").is_visible()
        head = page.page.locator("#coverage-windows-head th").all_inner_texts()
        assert head == ["start (UTC)", "kept", "cluster entropy", "distinct word 3-grams"]
        [window] = expected["windows"]
        [row] = page.page.locator("#coverage-windows tr").all_inner_texts()
        assert row.split("\t") == [
            window["start"][:10],
            "20",
            *(
                f"{window['window'][m] + 0.0:.3f} / {window['reference'][m] + 0.0:.3f}"
                + (" ▼" if m in window["below"] else "")
                for m in ("cluster_entropy", "distinct_3")
            ),
        ]

        missed = [g for g in expected["regions"] if g["status"] == "missed"]
        over = [g for g in expected["regions"] if g["status"] == "over-filled"]
        shown_missed = page.page.locator("#coverage-missed [data-testid='coverage-region']")
        assert shown_missed.count() == len(missed) >= 1
        examples = shown_missed.first.locator("li").all_inner_texts()
        assert len(examples) == len(missed[0]["examples"]) == 3
        for shown_text, full in zip(examples, missed[0]["examples"], strict=True):
            assert len(full) > 160 and len(shown_text) == 160 and shown_text.endswith("…")
            assert full.startswith(shown_text[:-1])
        assert page.page.locator("#coverage-over [data-testid='coverage-region']").count() == len(over)

        # Another mix key asks again, for that key.
        page.page.get_by_test_id("coverage-group").select_option("generator")
        page.page.wait_for_function(
            "() => document.querySelector('#coverage-mix tr td').textContent === 'gen-a'"
        )
        assert asked[-1] == f"{base}/api/collections/web/report?group_by=generator"

        # A metric below the reference is marked; a report without windows hides the table.
        marked = {
            **expected,
            "windows": [
                {
                    "start": "2026-03-01T00:00:00+00:00",
                    "kept": 1200,
                    "window": {"cluster_entropy": 0.25, "distinct_3": 0.5},
                    "reference": {"cluster_entropy": 0.875, "distinct_3": 0.625},
                    "below": ["cluster_entropy"],
                },
                {
                    "start": "2026-03-02T00:00:00+00:00",
                    "kept": 7,
                    "window": {"distinct_3": 0.9},
                    "reference": {"distinct_3": 0.8},
                    "below": [],
                },
            ],
        }
        for body in (marked, {**expected, "windows": []}):
            page.page.unroute("**/report*")
            page.page.route("**/report*", _serve(body))
            page.page.get_by_test_id("coverage-run").click()
            page.page.wait_for_function("() => !document.getElementById('coverage-run').disabled")
            if body["windows"]:
                rows = page.page.locator("#coverage-windows tr").all_inner_texts()
                assert [r.split("\t") for r in rows] == [
                    ["2026-03-01", "1,200", "0.250 / 0.875 ▼", "0.500 / 0.625"],
                    ["2026-03-02", "7", "–", "0.900 / 0.800"],
                ]
                below = page.page.locator("#coverage-windows td.below")
                assert below.count() == 1 and below.get_attribute("data-metric") == "cluster_entropy"
            else:
                assert page.page.get_by_test_id("coverage-windows-block").is_hidden()
        assert page.console_errors == [] and page.page_errors == []
    finally:
        running.stop(grace=1)
