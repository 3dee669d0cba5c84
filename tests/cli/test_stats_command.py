"""``curator stats``: the numbers equal what was filtered, as JSON and as tables, in-process and remote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import Result

from curator.api.server import RunningServer
from tests.cli.helpers import alpaca, summary, words, write_jsonl

Cli = Callable[..., Result]


def _filter(cli: Cli, tmp_path: Path, *where: Any) -> dict[str, str]:
    """Filter 6 records into "main": 3 kept, 2 exact and 1 near duplicate dropped, over two generators."""
    records = [
        alpaca("a", 1, generator="g1"),
        alpaca("b", 2, generator="g1"),
        alpaca("c", 3, generator="g2"),
        alpaca("a2", 1, generator="g2"),
        alpaca("b2", 2),
        {**alpaca("c2", 3, generator="g2"), "output": "Sure! Here is " + words(3)},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    result = cli("filter", src, "-c", "main", "--decisions", tmp_path / "d.jsonl", *where)
    assert result.exit_code == 0, result.output
    return summary(result.stderr)


def _stats_json(cli: Cli, *args: Any) -> dict[str, Any]:
    result = cli("stats", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = orjson.loads(result.stdout)
    return data


@pytest.mark.parametrize("mode", ["in-process", "server"])
def test_json_numbers_equal_what_was_filtered(
    cli: Cli, tmp_path: Path, server: RunningServer, mode: str
) -> None:
    where = (
        ("--data-dir", tmp_path / "data")
        if mode == "in-process"
        else ("--server", f"127.0.0.1:{server.port}")
    )
    counts = _filter(cli, tmp_path, *where)
    assert (counts["kept"], counts["dropped"]) == ("3", "3")
    stats = _stats_json(cli, "-c", "main", "--group-by", "generator", "--bucket", "15m", *where)
    assert stats["totals"] == {"keep": 3, "drop": 3, "review": 0, "total": 6}
    assert stats["by_reason"] == {"EXACT_DUPLICATE": 2, "NEAR_DUPLICATE": 1}
    assert stats["by_check"] == {"exact_duplicate": 2, "near_duplicate": 1}
    assert stats["by_group"] == {
        "": {"keep": 0, "drop": 1, "review": 0, "total": 1},
        "g1": {"keep": 2, "drop": 0, "review": 0, "total": 2},
        "g2": {"keep": 1, "drop": 2, "review": 0, "total": 3},
    }
    assert stats["bucket_seconds"] == 900
    assert sum(b["total"] for b in stats["series"]) == 6
    assert sum(b["drop"] for b in stats["series"]) == 3
    assert all(b["start"].endswith("+00:00") for b in stats["series"])


def test_all_collections_by_default_and_one_on_request(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _filter(cli, tmp_path, "--data-dir", data)
    other = write_jsonl(tmp_path / "other.jsonl", [alpaca("x", 50)])
    assert (
        cli("filter", other, "-c", "other", "--decisions", tmp_path / "o.jsonl", "--data-dir", data).exit_code
        == 0
    )
    assert _stats_json(cli, "--data-dir", data)["totals"]["total"] == 7
    assert _stats_json(cli, "-c", "other", "--data-dir", data)["totals"] == {
        "keep": 1,
        "drop": 0,
        "review": 0,
        "total": 1,
    }


def test_time_window(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _filter(cli, tmp_path, "--data-dir", data)
    assert _stats_json(cli, "--since", "1h", "--data-dir", data)["totals"]["total"] == 6
    assert _stats_json(cli, "--since", "2000-01-01T00:00:00Z", "--data-dir", data)["totals"]["total"] == 6
    past = _stats_json(cli, "--until", "2000-01-01T00:00:00", "--data-dir", data)
    assert past["totals"]["total"] == 0
    assert past["series"] == []
    assert _stats_json(cli, "--since", "2999-01-01", "--data-dir", data)["totals"]["total"] == 0


def test_tables(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _filter(cli, tmp_path, "--data-dir", data)
    # One bucket a century wide, so that the run never straddles two.
    result = cli("stats", "--group-by", "generator", "--bucket", "5200w", "--data-dir", data)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for title in ("totals", "by reason", "by check", "by generator", "series (5200w buckets, UTC)"):
        assert title in out
    rows = {
        tuple(c.strip() for c in line.strip("│ ").split("│"))
        for line in out.splitlines()
        if line.startswith("│")
    }
    assert ("3", "3", "0", "6", "50.0%") in rows
    assert ("EXACT_DUPLICATE", "2", "33.3%") in rows
    assert ("near_duplicate", "1", "16.7%") in rows
    assert ("g2", "1", "2", "0", "3", "66.7%") in rows
    assert ("(none)", "0", "1", "0", "1", "100.0%") in rows
    [series] = [r for r in rows if len(r) == 7]
    assert series[1:] == ("3", "3", "0", "6", "50.0%", "█████")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "soon"), "neither a duration"),
        (("--bucket", "0s"), "at least 1s"),
        (("--bucket", "hourly"), "not a duration"),
    ],
)
def test_bad_arguments_are_usage_errors(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = cli("stats", *args, "--data-dir", tmp_path)
    assert result.exit_code == 2
    assert message in result.output


def test_an_unknown_collection_is_an_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("stats", "-c", "nope", "--data-dir", tmp_path)
    assert result.exit_code == 1
    assert "collection 'nope' does not exist" in result.stderr


def test_diversity_windows_render_with_the_collapse_flag() -> None:
    from datetime import UTC, datetime

    from rich.console import Console

    from curator.cli.render import diversity_table, stats_json
    from curator.monitor.collapse import DiversityWindow
    from curator.state.store import Stats

    windows = [
        DiversityWindow(datetime(2026, 1, 1, tzinfo=UTC), "varied", 200, 0.669, 0.976, 0.972),
        DiversityWindow(
            datetime(2026, 1, 1, 1, tzinfo=UTC), "collapsing", 29, 0.139, 0.767, 0.664, ("mean_nn_distance",)
        ),
    ]
    stats = Stats(bucket_seconds=3600, diversity=windows)
    console = Console(width=100, record=True)
    console.print(diversity_table(stats, "generator"))
    text = console.export_text()
    assert "collapsing" in text and "0.139" in text and "COLLAPSE NN" in text
    assert stats_json(stats)["diversity"][1]["collapsed"] == ["mean_nn_distance"]
