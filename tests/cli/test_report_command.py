"""``curator reference add`` and ``curator report``, in-process (FakeEncoder) and against a server (the real
model, so the data stay few).

Word soups of three topics with disjoint vocabularies: the reference holds cooking and astronomy, the
collection keeps cooking and finance, so astronomy is real data the synthetic set misses.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import Result

from curator.api.server import RunningServer
from curator.cli import backend
from curator.cli.main import clip, print_coverage
from curator.formats import coverage_report_json
from curator.monitor.coverage import CoverageReport, ReferenceWindow
from curator.service import Curator
from curator.settings import Settings
from tests.cli.helpers import write_jsonl
from tests.support.fake_encoder import checks_with

Cli = Callable[..., Result]

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


def _in_process(settings: Settings) -> Curator:
    return Curator(settings, checks=checks_with(settings=settings))


@pytest.fixture(params=["in-process", "server"])
def where(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    if request.param == "in-process":
        monkeypatch.setattr(backend, "Curator", _in_process)  # the commands' Curator, on the FakeEncoder
        return ("--data-dir", str(tmp_path / "data"))
    server: RunningServer = request.getfixturevalue("server")
    return ("--server", f"127.0.0.1:{server.port}")


@contextmanager
def _curator(where: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[Curator]:
    """The Curator the commands ran on, to look inside."""
    if where[0] == "--server":
        yield request.getfixturevalue("server").curator
        return
    curator = _in_process(Settings.load(data_dir=Path(where[1])))
    try:
        yield curator
    finally:
        curator.close()


def _seed(cli: Cli, tmp_path: Path, where: tuple[str, str]) -> None:
    """Collection c keeps 10 cooking (5 gen-a, 5 gen-b) and 10 finance (gen-b) samples; its reference
    holds 10 cooking and 10 astronomy items, the astronomy ones long enough to be clipped."""
    samples: list[dict[str, Any]] = [
        {"id": f"cook-{i}", "text": text("cooking", i), "metadata": {"source": "gen-a" if i % 2 else "gen-b"}}
        for i in range(10)
    ]
    samples += [
        {"id": f"fin-{i}", "text": text("finance", i), "metadata": {"source": "gen-b"}} for i in range(10)
    ]
    source = write_jsonl(tmp_path / "synthetic.jsonl", samples)
    filtered = cli("filter", source, "--decisions", tmp_path / "decisions.jsonl", "-c", "c", *where)
    assert filtered.exit_code == 0, filtered.output
    real = [{"id": f"cook-{i}", "text": text("cooking", 100 + i)} for i in range(10)]
    real += [{"id": f"astro-{i}", "text": text("astronomy", i, n=40)} for i in range(10)]
    added = cli("reference", "add", "c", write_jsonl(tmp_path / "real.jsonl", real), *where)
    assert added.exit_code == 0, added.output


def test_reference_add_reports_and_skips_bad_lines(
    cli: Cli, tmp_path: Path, where: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    assert cli("collections", "create", "c", *where).exit_code == 0
    real = write_jsonl(
        tmp_path / "real.jsonl",
        [
            {
                "id": "r1",
                "instruction": "Which planets have rings?",
                "input": "",
                "output": "All four giants.",
            },
            "{not json",
            {"text": "Saturn's rings are mostly water ice, with some rock and dust mixed in."},
            {"id": 4, "messages": [{"role": "user", "content": "Is Pluto a planet?"}]},
            {"id": "empty", "source": "forum"},
            {"id": "r1", "text": "A second record under an id already used."},
        ],
    )
    added = cli("reference", "add", "c", real, *where)
    assert added.exit_code == 0, added.output
    assert added.stdout == "added 3 items to the reference of collection c (3 in all; 3 bad lines skipped)\n"
    assert "line 2: not valid JSON" in added.stderr
    assert "line 5: content: no content" in added.stderr
    assert "line 6: duplicate id 'r1' (first seen on line 1): ids must be unique" in added.stderr

    more = cli("reference", "add", "c", "-", *where, input=json.dumps({"text": "Mars has two moons."}) + "\n")
    assert more.exit_code == 0, more.output
    assert more.stdout == "added 1 item to the reference of collection c (4 in all)\n"
    with _curator(where, request) as curator:
        assert [(i, t) for i, t, _ in curator.store.reference("c")] == [
            ("r1", "Which planets have rings?\nAll four giants."),
            ("3", "Saturn's rings are mostly water ice, with some rock and dust mixed in."),
            ("4", "Is Pluto a planet?"),
            ("1", "Mars has two moons."),
        ]

    missing = cli("reference", "add", "nope", real, *where)
    assert missing.exit_code == 1 and "nope" in missing.stderr
    only_bad = cli("reference", "add", "c", write_jsonl(tmp_path / "bad.jsonl", ["{not json"]), *where)
    assert only_bad.exit_code == 1
    assert "error: no valid record in" in only_bad.stderr and "nothing was added" in only_bad.stderr


def test_report_as_text_and_json(
    cli: Cli, tmp_path: Path, where: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    _seed(cli, tmp_path, where)
    with _curator(where, request) as curator:
        expected = curator.report("c", clusters=3)

    as_json = cli("report", "c", "--clusters", "3", "--json", *where)
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)  # one JSON object, nothing else on stdout
    assert body == json.loads(json.dumps(coverage_report_json(expected)))
    assert (body["reference_items"], body["synthetic_kept"], body["k"], body["mix_key"]) == (
        20,
        20,
        5,
        "source",
    )
    assert body["precision"] is not None and body["recall"] is not None
    assert [(m["value"], m["kept"]) for m in body["mix"]] == [("gen-b", 15), ("gen-a", 5)]
    assert (
        set(body["reference_metrics"]) == set(body["synthetic_metrics"]) == {"mean_nn_distance", "distinct_3"}
    )
    [window] = body["windows"]  # everything was admitted within one (UTC) day
    [want] = expected.windows
    assert window == {
        "start": want.start.astimezone(UTC).isoformat(),
        "kept": 20,
        "window": want.window,
        "reference": want.reference,
        "below": list(want.below),
    }
    assert set(window["window"]) == {"cluster_entropy", "distinct_3"}

    shown = cli("report", "c", "--clusters", "3", *where)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "Coverage of collection c" in out
    assert "20 reference items (real), 20 kept synthetic samples" in out
    assert f"precision  {expected.precision:.1%}" in out and "look like real data" in out
    assert f"recall     {expected.recall:.1%}" in out and "real items the kept samples cover" in out
    assert "kept samples by source" in out
    assert any(line.split("│")[1:4] == [" gen-b  ", "   15 ", " 75.0% "] for line in out.splitlines())
    real, synthetic = expected.reference_metrics["distinct_3"], expected.synthetic_metrics["distinct_3"]
    assert any(
        "distinct word 3-grams" in line and f"{real:.3f}" in line and f"{synthetic / real:.2f}" in line
        for line in out.splitlines()
    )
    assert "windows against the reference (window / reference;" in out
    assert out.index("diversity (ratio") < out.index("windows against the reference") < out.index("Missed")
    row = next(line for line in out.splitlines() if want.start.strftime("%Y-%m-%d") in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == [
        want.start.strftime("%Y-%m-%d"),
        "20",
        *(
            f"{want.window[m] + 0.0:.3f} / {want.reference[m] + 0.0:.3f}" + (" ▼" if m in want.below else "")
            for m in ("cluster_entropy", "distinct_3")
        ),
    ]

    missed = [g for g in expected.regions if g.status == "missed"]
    over = [g for g in expected.regions if g.status == "over-filled"]
    assert f"Missed regions: {len(missed)} (real data the kept samples lack: generate more of this)" in out
    assert f"Over-filled regions: {len(over)}" in out
    assert out.index("Missed regions") < out.index("Over-filled regions")
    assert missed, "the astronomy items are real data nothing kept covers"
    for example in missed[0].examples:
        assert f"    - {clip(example)}" in out
        assert len(example) > 160 and example not in out  # clipped to one line
    for g in over:
        assert all(f"    - {clip(e)}" in out for e in g.examples)

    if where[0] == "--data-dir":  # the FakeEncoder's bags of words cluster exactly by topic
        assert [g.status for g in expected.regions] == ["missed", "over-filled", "balanced"]
        assert all(e.split()[0] in TOPICS["astronomy"] for e in missed[0].examples)
        region = f"region {missed[0].cluster}: 50.0% of real items, 0.0% of kept samples; real examples:"
        assert region in out
        assert "1 balanced region of 3." in out

    by_template = cli(
        "report", "c", "--group-by", "template", "--k", "3", "--clusters", "3", "--json", *where
    )
    assert by_template.exit_code == 0, by_template.output
    assert json.loads(by_template.stdout)["mix"] == [{"value": "", "kept": 20, "share": 1.0}]
    assert json.loads(by_template.stdout)["k"] == 3


def test_report_without_a_reference_and_errors(cli: Cli, where: tuple[str, str]) -> None:
    assert cli("collections", "create", "c", *where).exit_code == 0
    empty = cli("report", "c", *where)
    assert empty.exit_code == 0, empty.output
    assert "0 reference items (real), 0 kept synthetic samples" in empty.stdout
    assert (
        "No reference yet: add real, human-written samples with `curator reference add c FILE`."
        in empty.stdout
    )
    assert "precision  –" in empty.stdout and "need more than k = 5 items on both sides" in empty.stdout
    assert "regions: none" in empty.stdout
    assert "windows against the reference" not in empty.stdout  # no table without windows
    as_json = json.loads(cli("report", "c", "--json", *where).stdout)
    assert (as_json["precision"], as_json["recall"], as_json["regions"]) == (None, None, [])
    assert as_json["windows"] == []

    missing = cli("report", "nope", *where)
    assert missing.exit_code == 1 and "nope" in missing.stderr
    out_of_range = cli("report", "c", "--k", "51", *where)
    assert out_of_range.exit_code == 1
    assert (
        "error: invalid argument" in out_of_range.stderr
        and "  k: k must be in [1, 50]" in out_of_range.stderr
    )
    assert cli("report", "c", "--clusters", "0", *where).exit_code == 2  # a usage error, before any call


def test_windows_table_marks_the_metrics_below_the_reference() -> None:
    report = CoverageReport(
        collection="c",
        reference_items=300,
        synthetic_kept=60,
        windows=[
            ReferenceWindow(
                datetime(2026, 3, 1, tzinfo=UTC),
                40,
                {"cluster_entropy": 0.25, "distinct_3": 0.5},
                {"cluster_entropy": 0.875, "distinct_3": 0.625},
                ("cluster_entropy",),
            ),
            ReferenceWindow(
                datetime(2026, 3, 2, tzinfo=UTC), 1_200, {"distinct_3": 0.9}, {"distinct_3": 0.8}
            ),
        ],
    )
    buffer = io.StringIO()
    print_coverage(report, Console(file=buffer, width=120, highlight=False, markup=False))
    rows = {
        cells[0]: cells[1:]
        for line in buffer.getvalue().splitlines()
        if line[:1] in "│┃" and (cells := [c.strip() for c in re.split("[│┃]", line)[1:-1]])
    }
    assert rows["start (UTC)"] == ["kept", "cluster entropy", "distinct word 3-grams"]
    assert rows["2026-03-01"] == ["40", "0.250 / 0.875 ▼", "0.500 / 0.625"]
    assert rows["2026-03-02"] == ["1,200", "–", "0.900 / 0.800"]


def test_clip_keeps_one_line_of_at_most_160_characters() -> None:
    assert clip("short\n\n text") == "short text"
    long = "word " * 100
    assert len(clip(long)) == 160 and clip(long).endswith("…")
    assert clip("x" * 160) == "x" * 160
