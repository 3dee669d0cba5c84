"""The dashboard's JSON API, /metrics and token auth, through Starlette's test client (no browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from curator.service import Curator
from curator.settings import Settings
from curator.state.store import StatsQuery
from curator.web.app import create_app
from tests.support.fake_encoder import checks_with
from tests.support.reviews import BASE, OTHER, VARIANT, review_policy, sample

TOKEN = "s3cret-token-for-alice"


def _curator(data: Path, **overrides: Any) -> Curator:
    settings = Settings.load(data_dir=data, **overrides)
    curator = Curator(settings, checks=checks_with(settings=settings))
    curator.create_collection("c", review_policy())
    curator.filter(
        "c",
        [
            sample("a", BASE, generator="g1", template="t1"),
            sample("b", VARIANT, generator="g2", template="t1"),
            sample("c", BASE, generator="g1"),
            sample("d", OTHER, generator="g2", template="t2"),
        ],
    )
    return curator


@pytest.fixture
def curator(tmp_path: Path) -> Iterator[Curator]:
    c = _curator(tmp_path / "data")
    yield c
    c.close()


@pytest.fixture
def client(curator: Curator) -> TestClient:
    return TestClient(create_app(curator))


def test_stats_carry_totals_rates_breakdowns_and_reviews(client: TestClient) -> None:
    body = client.get("/api/stats", params={"collection": "c", "bucket_seconds": 60}).json()
    assert body["totals"] == {
        "keep": 2,
        "drop": 1,
        "review": 1,
        "total": 4,
        "drop_rate": 0.25,
        "review_rate": 0.25,
    }
    assert body["reviews"] == {"pending": 1, "approved": 0, "rejected": 0}
    assert body["by_reason"] == {"EXACT_DUPLICATE": 1, "NEAR_DUPLICATE": 1}
    assert {k: v["total"] for k, v in body["by_group"]["generator"].items()} == {"g1": 2, "g2": 2}
    assert {k: v["total"] for k, v in body["by_group"]["template"].items()} == {"": 1, "t1": 2, "t2": 1}
    assert body["bucket_seconds"] == 60 and sum(b["total"] for b in body["series"]) == 4
    assert [w["kept"] for w in body["diversity"]] == [2]
    assert client.get("/api/collections").json()["collections"][0]["kept_count"] == 2


def test_decisions_show_the_matched_sample_and_a_review_changes_the_counts(
    client: TestClient, curator: Curator
) -> None:
    body = client.get("/api/decisions", params={"collection": "c", "review_state": "pending"}).json()
    [review] = body["decisions"]
    assert review["verdict"] == "review" and review["sample"]["text"] == VARIANT
    assert review["reasons"][0]["code"] == "NEAR_DUPLICATE"
    matched = {"id": "a", "shape": "text", "text": BASE, "metadata": {"generator": "g1", "template": "t1"}}
    assert review["matched"] == {"a": matched}  # the kept sample as it was logged, metadata included
    assert body["next_page_token"] == ""
    done = client.post(
        f"/api/decisions/{review['decision_id']}/review", json={"action": "approve", "reviewer": "carol"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["decision"]["review"]["reviewer"] == "carol"
    assert done.json()["decision"]["matched"]["a"]["text"] == BASE
    stats = client.get("/api/stats", params={"collection": "c"}).json()
    assert stats["reviews"] == {"pending": 0, "approved": 1, "rejected": 0}
    assert curator.stats(StatsQuery(collection="c")).reviews.approved == 1
    again = client.post(
        f"/api/decisions/{review['decision_id']}/review", json={"action": "reject", "reviewer": "d"}
    )
    assert again.status_code == 409 and "already reviewed by carol" in again.json()["error"]


def test_filters_and_paging(client: TestClient) -> None:
    drops = client.get("/api/decisions", params={"collection": "c", "verdict": "drop"}).json()["decisions"]
    assert [(d["sample_id"], d["matched"]["a"]["text"]) for d in drops] == [("c", BASE)]
    g2 = client.get("/api/decisions", params={"metadata_key": "generator", "metadata_value": "g2"}).json()
    assert [d["sample_id"] for d in g2["decisions"]] == ["d", "b"]
    first = client.get("/api/decisions", params={"collection": "c", "page_size": 3}).json()
    rest = client.get(
        "/api/decisions", params={"collection": "c", "page_size": 3, "page_token": first["next_page_token"]}
    ).json()
    assert [d["sample_id"] for d in first["decisions"] + rest["decisions"]] == ["d", "c", "b", "a"]


def test_bad_input_is_a_400_naming_the_field(client: TestClient) -> None:
    bad = client.get("/api/decisions", params={"verdict": "maybe", "page_size": "lots"})
    assert bad.status_code == 400
    assert [v["field"] for v in bad.json()["field_violations"]] == ["verdict"]
    bad = client.get("/api/stats", params={"start": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["field_violations"][0]["description"]
    bad = client.post("/api/decisions/1/review", json={"action": "maybe"})
    assert bad.status_code == 400 and bad.json()["field_violations"][0]["field"] == "action"
    assert (
        client.post("/api/decisions/999/review", json={"action": "approve", "reviewer": "x"}).status_code
        == 404
    )
    assert client.get("/api/decisions", params={"collection": "nope"}).status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/stats", {"bucket_seconds": str(2**63 - 1)}),
        ("/api/stats", {"collection": "c", "bucket_seconds": "0"}),
        ("/api/decisions", {"page_token": "ZDE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}),
    ],
)
def test_out_of_range_numbers_are_a_400_not_a_500(client: TestClient, path: str, params: dict) -> None:
    assert client.get(path, params=params).status_code == 400


def test_a_decision_id_that_only_looks_like_a_number_is_a_400(client: TestClient) -> None:
    for raw in ("²", "9" * 30):
        response = client.post(f"/api/decisions/{raw}/review", json={"action": "approve", "reviewer": "x"})
        assert response.status_code == 400, raw


def test_metrics_health_and_security_headers(client: TestClient) -> None:
    response = client.get("/metrics")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    text = response.text
    assert 'curator_decisions_total{collection="c",generator="g1",verdict="keep"}' in text
    assert client.get("/healthz").json() == {"status": "ok"}


def test_with_tokens_everything_but_health_needs_one_and_reviews_are_logged_under_its_name(
    tmp_path: Path,
) -> None:
    curator = _curator(tmp_path / "data", auth={"tokens": {"alice": TOKEN}})
    try:
        client = TestClient(create_app(curator))
        assert client.get("/api/stats").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/healthz").status_code == 200
        page = client.get("/?collection=c", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/%3Fcollection%3Dc"
        assert 'name="next" value="/?collection=c"' in client.get(page.headers["location"]).text
        wrong = client.post("/login", data={"token": "nope"}, follow_redirects=False)
        assert wrong.headers["location"].startswith("/login?error=")
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        signed_in = client.post(
            "/login", data={"token": TOKEN, "next": "/?collection=c"}, follow_redirects=False
        )
        assert signed_in.status_code == 303 and "httponly" in signed_in.headers["set-cookie"].lower()
        assert signed_in.headers["location"] == "/?collection=c"
        evil = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
        assert evil.headers["location"] == "/"
        assert client.get("/api/me").json()["user"] == "alice"
        [pending] = client.get("/api/decisions", params={"review_state": "pending"}).json()["decisions"]
        done = client.post(
            f"/api/decisions/{pending['decision_id']}/review",
            json={"action": "reject", "reviewer": "mallory"},
        )
        assert done.json()["decision"]["review"]["reviewer"] == "alice"
    finally:
        curator.close()
