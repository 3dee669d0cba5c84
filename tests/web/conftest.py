"""Fixtures for the dashboard's browser tests: Debian's Chromium driven by Playwright, and a real server.

The server is the one ``curator serve`` runs (gRPC plus the dashboard over HTTP, both on free ports),
started in-process with the FakeEncoder standing in for the embedding model. Its decisions are
seeded through :meth:`Curator.filter` with a policy whose verdicts are exact functions of the texts:
copies with one word changed are near-duplicates (dropped), copies with three words changed fall in
the near-duplicate review band, and an exact copy is an exact duplicate.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from curator.api.server import RunningServer, start
from curator.domain.decision import Verdict
from curator.domain.policy import CheckPolicy, Policy, RulePolicy
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.fake_encoder import FakeEncoder, checks_with

TOKEN = "alice-token-0123456789"  # auth.tokens needs 16+ characters

# Near-duplicates only by Jaccard on word 3-grams: drop at >= 0.8, review in [0.5, 0.8). The
# semantic check (on the FakeEncoder's bag of words) only drops copies whose words are all the same.
POLICY = Policy(
    checks={
        "near_duplicate": CheckPolicy(
            rules={"NEAR_DUPLICATE": RulePolicy(threshold=0.8, review_threshold=0.5)},
            params={"lsh_threshold": 0.5},
        ),
        "semantic": CheckPolicy(rules={"SEMANTIC_DUPLICATE": RulePolicy(threshold=0.99)}),
    }
)

ORIGINALS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "k-volcano",
        {
            "instruction": "Explain how volcanoes form and why some of them erupt explosively.",
            "input": "",
            "output": "Volcanoes form where magma rises through cracks in the crust of the earth. "
            "Magma rich in silica is thick and traps gas, so pressure builds until the rock gives way "
            "and the eruption throws ash and pumice high into the sky above the mountain.",
        },
        {"generator": "gen-a", "template": "qa"},
    ),
    (
        "k-jazz",
        {
            "instruction": "Write a short history of jazz for a museum placard.",
            "input": "",
            "output": "Jazz grew out of blues and ragtime in New Orleans early last century, where "
            "brass bands, church music and dance halls met. Musicians improvised over shared chord "
            "changes, and records soon carried the sound to Chicago, New York and far beyond.",
        },
        {"generator": "gen-a", "template": "qa"},
    ),
    (
        "k-interest",
        {
            "messages": [
                ("user", "Why do people say compound interest is powerful for retirement savings?"),
                (
                    "assistant",
                    "Because interest is paid on earlier interest as well as on the deposit, savings "
                    "grow faster every year they are left alone. Old people who started saving young "
                    "often hold far more than those who saved larger amounts late in their careers.",
                ),
            ]
        },
        {"generator": "gen-b", "template": "chat"},
    ),
    (
        "k-penguin",
        {
            "text": "Penguins cannot fly, but they swim fast using their stiff flipper-like wings. Emperor "
            "penguins dive deeper than five hundred metres to hunt fish and squid, and they hold their "
            "breath for over twenty minutes before returning to the surface of the icy ocean."
        },
        {"generator": "gen-b", "template": "doc"},
    ),
    (
        "k-bread",
        {
            "instruction": "Describe how a Buddhist monastery might celebrate the new year.",
            "input": "Keep it to a few sentences.",
            "output": "Buddhist monks clean the monastery from floor to roof, light rows of candles and "
            "chant through the night. Families from the village bring rice, fruit and flowers, and at "
            "dawn everyone shares a simple meal while the great bell is rung many times.",
        },
        {"generator": "gen-c", "template": "qa"},
    ),
    (
        "k-garden",
        {
            "messages": [
                ("user", "Give me tips for a vegetable garden on a small city balcony."),
                (
                    "assistant",
                    "Pick compact varieties such as cherry tomatoes, chard and bush beans, and grow "
                    "them in deep pots with drainage holes. Water early in the morning, feed every two "
                    "weeks, and turn the pots so every side of each plant receives enough sunlight.",
                ),
            ]
        },
        {"generator": "gen-c", "template": "chat"},
    ),
    (
        "k-bridge",
        {
            "text": "Suspension bridges hang their deck from cables draped over tall towers and anchored "
            "in the ground at both ends. Engineers test scale models in wind tunnels, since a gusty wind "
            "can make a long and light deck twist and sway until the whole structure fails."
        },
        {"generator": "gen-a", "template": "doc"},
    ),
    (
        "k-sleep",
        {
            "instruction": "Summarise what research says about teenagers and sleep.",
            "input": "",
            "output": "Teenagers need around nine hours of sleep, yet their body clocks shift later in "
            "puberty, so early school start times leave many of them tired. Studies link more sleep to "
            "better grades, steadier moods and fewer accidents on the road when they drive.",
        },
        {"generator": "gen-b", "template": "qa"},
    ),
]

# (id, original, word positions to replace in the longest field, metadata, expected verdict, reason)
COPIES: list[tuple[str, str, tuple[int, ...], dict[str, str], Verdict, str]] = [
    (
        "d-exact-volcano",
        "k-volcano",
        (),
        {"generator": "gen-b", "template": "qa"},
        Verdict.DROP,
        "EXACT_DUPLICATE",
    ),
    (
        "d-near-jazz",
        "k-jazz",
        (20,),
        {"generator": "gen-b", "template": "qa"},
        Verdict.DROP,
        "NEAR_DUPLICATE",
    ),
    (
        "d-near-garden",
        "k-garden",
        (20,),
        {"generator": "gen-b", "template": "chat"},
        Verdict.DROP,
        "NEAR_DUPLICATE",
    ),
    (
        "r-penguin",
        "k-penguin",
        (8, 22, 36),
        {"generator": "gen-c", "template": "doc"},
        Verdict.REVIEW,
        "NEAR_DUPLICATE",
    ),
    (
        "r-sleep",
        "k-sleep",
        (8, 22, 36),
        {"generator": "gen-c", "template": "qa"},
        Verdict.REVIEW,
        "NEAR_DUPLICATE",
    ),
]
REPLACEMENTS = ["zeppelin", "quartz", "marmalade", "obsidian", "tangerine"]


def _perturb(fields: dict[str, Any], positions: tuple[int, ...]) -> dict[str, Any]:
    """A copy with the words at ``positions`` of its longest text field replaced."""
    out = dict(fields)
    if "messages" in out:
        role, content = out["messages"][-1]
        out["messages"] = [*out["messages"][:-1], (role, _replace(content, positions))]
    else:
        key = "output" if "output" in out else "text"
        out[key] = _replace(out[key], positions)
    return out


def _replace(text: str, positions: tuple[int, ...]) -> str:
    words = text.split(" ")
    for k, at in enumerate(positions):
        words[at] = REPLACEMENTS[k % len(REPLACEMENTS)]
    return " ".join(words)


@dataclass
class Seeded:
    running: RunningServer
    collection: str
    base_url: str
    decisions: dict[str, Any] = field(default_factory=dict)  # sample id -> Decision

    @property
    def curator(self) -> Curator:
        return self.running.curator

    def decision_id(self, sample_id: str) -> int:
        from curator.state.store import DecisionQuery

        (record,) = self.curator.store.list_decisions(
            DecisionQuery(collection=self.collection, sample_id=sample_id, limit=1)
        )
        return record.id


def web_settings(data_dir: Path, tokens: dict[str, str] | None = None) -> Settings:
    return Settings.load(
        data_dir=data_dir,
        server={"port": 0, "grace_seconds": 1},
        http={"port": 0},
        embeddings={"preload": False},
        monitor={"clusters": 2},
        bias={"min_count": 2},
        auth={"tokens": tokens or {}},
    )


def start_server(data_dir: Path, tokens: dict[str, str] | None = None) -> RunningServer:
    settings = web_settings(data_dir, tokens)
    running = start(settings, Curator(settings, checks=checks_with(FakeEncoder(), settings)))
    assert running.ready.wait(10) and not running.warm_up_errors
    assert running.http_port
    _wait_listening(running.http_port)
    return running


def _wait_listening(port: int) -> None:
    """start() returns once the dashboard's socket is bound; uvicorn listens on it a moment later."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def sample(sample_id: str, fields: dict[str, Any], metadata: dict[str, str]) -> SampleInput:
    return SampleInput(id=sample_id, metadata=metadata, **fields)


def seed(curator: Curator, collection: str = "web") -> dict[str, Any]:
    """Eight kept originals, three drops and two reviews (see COPIES), plus one empty sample."""
    curator.create_collection(collection, POLICY)
    by_id = {sid: (fields, meta) for sid, fields, meta in ORIGINALS}
    decisions = {}
    kept = curator.filter(collection, [sample(sid, f, m) for sid, f, m in ORIGINALS])
    decisions.update({d.sample_id: d for d in kept})
    copies = [
        sample(cid, _perturb(by_id[src][0], positions), meta) for cid, src, positions, meta, _, _ in COPIES
    ]
    copies.append(SampleInput(id="d-empty", text="   ", metadata={"generator": "gen-c", "template": "doc"}))
    for d in curator.filter(collection, copies):
        decisions[d.sample_id] = d
    # The fixtures are only useful if the policy did what the tests expect of it.
    assert all(decisions[sid].verdict is Verdict.KEEP for sid, _, _ in ORIGINALS), decisions
    for cid, src, _, _, verdict, code in COPIES:
        d = decisions[cid]
        assert d.verdict is verdict, (cid, d)
        assert d.reasons[0].code == code and d.reasons[0].matched_id == src, (cid, d)
    assert decisions["d-empty"].verdict is Verdict.DROP
    return decisions


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    running = start_server(tmp_path / "data")
    try:
        decisions = seed(running.curator)
        yield Seeded(running, "web", f"http://127.0.0.1:{running.http_port}", decisions)
    finally:
        running.stop(grace=1)


@pytest.fixture
def seeded_with_auth(tmp_path: Path) -> Iterator[Seeded]:
    running = start_server(tmp_path / "data", {"alice": TOKEN})
    try:
        decisions = seed(running.curator)
        yield Seeded(running, "web", f"http://127.0.0.1:{running.http_port}", decisions)
    finally:
        running.stop(grace=1)


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; skipped without it locally, a failure in CI (.ci/run installs it)."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} not found (Debian package chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as err:
            problem = f"the playwright package is missing ({err}); install curator[dev]"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the dashboard browser tests need Chromium in CI: {problem}; .ci/run installs it")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Page:
    """A fresh browser context's page, with what its console and network said."""

    page: Any
    console_errors: list[str]
    page_errors: list[str]
    outside_requests: list[str]


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    # Reduced motion turns the charts' animations off (the dashboard honours the preference).
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, reduced_motion="reduce")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    out = Page(pg, [], [], [])
    pg.on("console", lambda msg: out.console_errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda err: out.page_errors.append(str(err)))
    pg.on(
        "request",
        lambda req: (
            None
            if req.url.startswith(("http://127.0.0.1:", "data:"))
            else out.outside_requests.append(req.url)
        ),
    )
    try:
        yield out
    finally:
        context.close()
