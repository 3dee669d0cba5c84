"""Check a live `curator serve` the way issue 6 asks: metrics agree with GetStats, and a person can
approve a REVIEW sample from the dashboard page in a real browser.

    curator serve --port 50071 --http-port 8091 --data-dir /tmp/e2e/data &
    python benchmarks/make_near_duplicates.py --out /tmp/e2e/alpaca_dups.jsonl
    curator filter /tmp/e2e/alpaca_dups.jsonl --server 127.0.0.1:50071 -c alpaca --decisions /tmp/e2e/d.jsonl
    python scripts/dashboard_e2e_check.py --grpc 127.0.0.1:50071 --http http://127.0.0.1:8091 -c alpaca \
        --screenshot docs/dashboard-e2e.png

Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (dev extra). Prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curator.api.client import CuratorClient  # noqa: E402
from curator.state.store import StatsQuery  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def prometheus_totals(http: str, collection: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Decisions by verdict, reasons by code and reviews by action of one collection, from /metrics."""
    with urllib.request.urlopen(f"{http}/metrics", timeout=30) as response:
        text = response.read().decode()
    verdicts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    reviews: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("collection") != collection:
                continue
            if s.name == "curator_decisions_total":
                verdicts[s.labels["verdict"]] += int(s.value)
            elif s.name == "curator_decision_reasons_total":
                reasons[s.labels["reason"]] += int(s.value)
            elif s.name == "curator_reviews_total":
                reviews[s.labels["action"]] += int(s.value)
    return verdicts, reasons, reviews


def compare(client: CuratorClient, http: str, collection: str, stage: str) -> bool:
    stats = client.stats(StatsQuery(collection=collection))
    verdicts, reasons, reviews = prometheus_totals(http, collection)
    grpc_verdicts = {"keep": stats.totals.keep, "drop": stats.totals.drop, "review": stats.totals.review}
    same = (
        dict(verdicts) == {k: v for k, v in grpc_verdicts.items() if v}
        and dict(reasons) == stats.by_reason
        and reviews.get("approve", 0) == stats.reviews.approved
        and reviews.get("reject", 0) == stats.reviews.rejected
    )
    print(
        json.dumps(
            {
                "stage": stage,
                "get_stats": {**grpc_verdicts, "total": stats.totals.total, "by_reason": stats.by_reason},
                "get_stats_reviews": {
                    "pending": stats.reviews.pending,
                    "approved": stats.reviews.approved,
                    "rejected": stats.reviews.rejected,
                },
                "prometheus": {**verdicts, "total": sum(verdicts.values()), "by_reason": dict(reasons)},
                "prometheus_reviews": dict(reviews),
                "same_totals": same,
            }
        )
    )
    return same


def approve_in_browser(http: str, collection: str, screenshot: Path | None) -> str:
    """Open the dashboard, approve the newest pending REVIEW sample by clicking, return its sample id."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{http}/?collection={collection}")
        page.wait_for_selector("body[data-ready='1']")
        pending_before = int(page.get_by_test_id("kpi-review-pending").get_attribute("data-value") or "0")
        first = page.locator("#decision-list [data-testid='decision'][data-review-state='pending']").first
        first.wait_for()
        sample_id = first.get_attribute("data-sample-id") or ""
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=False)
        first.get_by_test_id("review-note").fill("checked by hand: different enough")
        first.get_by_test_id("review-approve").click()
        dialog = page.get_by_test_id("reviewer-dialog")
        if dialog.is_visible():
            page.get_by_test_id("reviewer-input").fill("e2e-reviewer")
            page.get_by_test_id("reviewer-ok").click()
        page.wait_for_selector(f"[data-testid='kpi-review-pending'][data-value='{pending_before - 1}']")
        browser.close()
    return sample_id


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--http", required=True)
    parser.add_argument("--collection", "-c", required=True)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    with CuratorClient(args.grpc, timeout=60) as client:
        before = compare(client, args.http, args.collection, "before review")
        sample_id = approve_in_browser(args.http, args.collection, args.screenshot)
        after = compare(client, args.http, args.collection, "after approving in the page")
        kept = client.get_collection(args.collection).kept_count
    print(json.dumps({"approved_from_page": sample_id, "kept_count_after": kept, "ok": before and after}))
    return 0 if before and after else 1


if __name__ == "__main__":
    raise SystemExit(main())
