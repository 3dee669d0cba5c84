"""Take docs/dashboard.png: the dashboard of a curator fed twelve simulated hours of alpaca samples.

Starts a real server in-process (gRPC and the dashboard on free ports, data in a temporary
directory), feeds it alpaca_5000 originals from four generators and three templates plus perturbed
copies, exact copies and, in the last hours, one generator collapsing into rewordings of a few
samples; reviews part of the REVIEW queue; then screenshots the page in headless Debian Chromium::

    .venv/bin/python scripts/dashboard_screenshot.py [--out docs/dashboard.png] [--fake-encoder]

Decisions are spread over the past twelve hours by moving the clock the service stamps decisions
and admissions with, so the time series has something to show. ``--fake-encoder`` replaces the
embedding model by a bag-of-words stand-in (fast, but its semantic scores mean little).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.perturb import edit_count, operators, perturb_record, perturb_text, vocabulary_from  # noqa: E402
from curator.api.server import start  # noqa: E402
from curator.domain.decision import Verdict  # noqa: E402
from curator.domain.review import ReviewAction  # noqa: E402
from curator.domain.validation import SampleInput  # noqa: E402
from curator.service import Curator  # noqa: E402
from curator.settings import Settings  # noqa: E402
from curator.state.store import DecisionQuery  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "alpaca_5000.json"
HOURS = 12
COLLECTION = "alpaca-synth"
# generator: (share of the originals, chance that a sample of it is a copy of an earlier one)
GENERATORS = {"gpt-4o-mini": (0.35, 0.08), "llama-3.1-8b": (0.3, 0.3), "mixtral-8x7b": (0.25, 0.15)}
COLLAPSING = "self-instruct-v2"  # from hour 8: rewordings of a handful of samples
TEMPLATES = ["qa-v1", "qa-v2", "cot"]


class _Clock:
    at = datetime.now(UTC)


class _Datetime(datetime):
    """``datetime`` whose ``now()`` is the simulated clock (patched into curator.service)."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return _Clock.at


@contextmanager
def simulated_clock(service: Curator, collection: str) -> Iterator[None]:
    """Decisions are logged, and samples admitted, at ``_Clock.at`` instead of the wall clock."""
    state = service._state(service._record(collection))  # the collection's admission clock
    real = state.clock
    state.clock = lambda: _Clock.at.timestamp()
    try:
        with mock.patch("curator.service.datetime", _Datetime):
            yield
    finally:
        state.clock = real


def mention_rich(records: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    """The records shuffled, every third one among those naming a group of people (so that the bias
    report has something to show: few alpaca samples mention one)."""
    from curator.bias.detect import analyse
    from curator.bias.lexicon import load_lexicon

    lexicon = load_lexicon(None)
    rng.shuffle(records)
    naming: list[dict[str, str]] = []
    others: list[dict[str, str]] = []
    for r in records:
        (naming if analyse(" ".join(r.values()), lexicon).mentions else others).append(r)
    out: list[dict[str, str]] = []
    while naming or others:
        source = naming if naming and (len(out) % 3 == 0 or not others) else others
        out.append(source.pop())
    return out


def hourly_batches(
    records: list[dict[str, str]], per_hour: int, rng: random.Random
) -> list[list[SampleInput]]:
    ops = operators(vocabulary_from(r["output"] for r in records))
    pool = iter(records)
    seen: list[tuple[dict[str, str], dict[str, str]]] = []  # (record, metadata) of earlier samples
    sources: list[dict[str, str]] = []
    batches = []
    n = 0
    for hour in range(HOURS):
        batch = []
        collapsing = hour >= HOURS - 4
        for _ in range(per_hour + (hour * 2)):
            n += 1
            if collapsing and rng.random() < 0.3 + 0.12 * (hour - (HOURS - 4)):
                if len(sources) < 8:
                    sources.append(next(pool))
                src = rng.choice(sources)
                text, _ = perturb_text(src["output"], rng, max(3, len(src["output"].split()) // 4), ops)
                rec = {**src, "output": text}
                meta = {"generator": COLLAPSING, "template": "cot"}
            else:
                names = list(GENERATORS)
                generator = rng.choices(names, weights=[GENERATORS[g][0] for g in names])[0]
                meta = {"generator": generator, "template": rng.choice(TEMPLATES)}
                if seen and rng.random() < GENERATORS[generator][1]:
                    src, _ = rng.choice(seen)
                    if rng.random() < 0.2:
                        rec = dict(src)  # an exact copy
                    else:
                        n_words = len(" ".join(src.values()).split())
                        rec, _ = perturb_record(src, rng, edit_count(n_words, rng, 0.12), ops)
                else:
                    rec = next(pool)
            seen.append((rec, meta))
            batch.append(
                SampleInput(
                    id=f"s{n:04d}",
                    instruction=rec["instruction"],
                    input=rec.get("input", ""),
                    output=rec["output"],
                    metadata=meta,
                )
            )
        batches.append(batch)
    return batches


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--per-hour", type=int, default=36, help="samples in the first hour (later: more)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fake-encoder", action="store_true", help="bag-of-words stand-in for the model")
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    records = mention_rich(json.loads(args.data.read_text()), rng)
    work = Path(tempfile.mkdtemp(prefix="curator-screenshot-"))
    settings = Settings.load(data_dir=work / "data", server={"port": 0, "grace_seconds": 1}, http={"port": 0})
    checks = None
    if args.fake_encoder:
        from tests.support.fake_encoder import FakeEncoder, checks_with

        checks = checks_with(FakeEncoder(), settings)
    running = start(settings, Curator(settings, checks=checks))
    try:
        if not running.ready.wait(600) or running.warm_up_errors:
            raise SystemExit(f"could not start: {running.warm_up_errors}")
        cur = running.curator
        cur.create_collection(COLLECTION)
        now = datetime.now(UTC)
        start_at = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
        counts = {str(v): 0 for v in Verdict}
        with simulated_clock(cur, COLLECTION):
            for hour, batch in enumerate(hourly_batches(records, args.per_hour, rng)):
                # a few requests an hour, each at its own minute
                for k in range(0, len(batch), 12):
                    _Clock.at = start_at + timedelta(hours=hour, minutes=min(59, 3 + k))
                    for d in cur.filter(COLLECTION, batch[k : k + 12]):
                        counts[str(d.verdict)] += 1
                print(f"hour {hour + 1}/{HOURS}: {sum(counts.values())} decisions {counts}", flush=True)
            # a reviewer works through the older part of the queue
            _Clock.at = now - timedelta(minutes=5)
            pending = cur.store.list_decisions(
                DecisionQuery(collection=COLLECTION, verdict=Verdict.REVIEW, limit=1000)
            )
            for i, rec in enumerate(sorted(pending, key=lambda r: r.id)[: int(len(pending) * 0.6)]):
                action = ReviewAction.REJECT if i % 3 == 0 else ReviewAction.APPROVE
                cur.review_decision(rec.id, action, "dana", "" if i % 4 else "checked against the source")
        print(f"{sum(counts.values())} decisions: {counts}; {len(pending)} sent to review, 60% reviewed")
        screenshot(f"http://127.0.0.1:{running.http_port}/", args.out, args.width)
        print(f"wrote {args.out}")
    finally:
        running.stop(grace=1)
    return 0


def screenshot(url: str, out: Path, width: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": 900}, reduced_motion="reduce")
        context.add_init_script("localStorage.setItem('curator.dashboard.bucket', '3600')")
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        decisions = page.locator("#decision-list [data-testid='decision']")
        # down to the end of the second row of the drill-down
        last = decisions.nth(min(1, decisions.count() - 1)).bounding_box() if decisions.count() else None
        height = int(last["y"] + last["height"] + 4) if last else None
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(out),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": height} if height else None,
        )
        browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
