"""``curator filter``: outputs, bad lines, --strict, server mode, restarts, and the shipped example."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from curator.api.client import CuratorClient, RemoteError
from curator.api.server import RunningServer, start
from curator.cli.main import app
from curator.domain.decision import Decision
from curator.domain.validation import SampleInput
from curator.errors import FieldViolation, InvalidArgument, Unavailable
from curator.service import Curator, ServerInfo
from curator.settings import Settings
from tests.cli.helpers import alpaca, read_jsonl, summary, words, write_jsonl

Cli = Callable[..., Result]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alpaca_sample.jsonl"


def _verdicts(path: Path) -> dict[str, str]:
    return {d["id"]: d["verdict"] for d in read_jsonl(path)}


def test_three_shapes_are_filtered_and_extra_fields_reach_the_log(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            alpaca("a", 1, generator="g1"),
            {"id": "c", "messages": [{"role": "user", "content": words(2)}], "generator": "g2"},
            {"text": words(3), "generator": "g2", "temperature": 0.5},
        ],
    )
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert _verdicts(out) == {"a": "keep", "c": "keep", "line-3": "keep"}
    assert summary(result.stderr) == {
        "read": "3",
        "kept": "3",
        "dropped": "0",
        "review": "0",
        "invalid": "0",
        "samples/s": summary(result.stderr)["samples/s"],
    }
    stats = cli("stats", "--group-by", "generator", "--json", "--data-dir", data)
    assert stats.exit_code == 0, stats.output
    by_group = orjson.loads(stats.stdout)["by_group"]
    assert by_group == {
        "g1": {"keep": 1, "drop": 0, "review": 0, "total": 1},
        "g2": {"keep": 2, "drop": 0, "review": 0, "total": 2},
    }
    temperature = orjson.loads(cli("stats", "--group-by", "temperature", "--json", "--data-dir", data).stdout)
    assert temperature["by_group"] == {
        "": {"keep": 2, "drop": 0, "review": 0, "total": 2},
        "0.5": {"keep": 1, "drop": 0, "review": 0, "total": 1},
    }


def test_decision_lines_have_the_documented_format(cli: Cli, tmp_path: Path) -> None:
    first = alpaca("a", 1)
    copy = {**first, "id": "b", "output": first["output"].upper()}
    src = write_jsonl(tmp_path / "in.jsonl", [first, copy])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    kept, dropped = (orjson.loads(line) for line in out.read_bytes().splitlines())
    for line in (kept, dropped):
        assert list(line) == ["id", "verdict", "reasons", "scores", "policy_version"]
        assert list(line["scores"]) == sorted(line["scores"])  # byte-stable output
        assert all(isinstance(v, float) for v in line["scores"].values())
    assert (kept["id"], kept["verdict"], kept["reasons"], kept["policy_version"]) == ("a", "keep", [], 1)
    dedup = ("empty", "exact_duplicate", "near_duplicate", "semantic_similarity", "diversity")
    assert {k: kept["scores"][k] for k in dedup} == {
        "empty": 0.0,
        "exact_duplicate": 0.0,
        "near_duplicate": 0.0,
        "semantic_similarity": 0.0,
        "diversity": 1.0,
    }
    assert (dropped["id"], dropped["verdict"]) == ("b", "drop")
    assert dropped["reasons"] == [
        {
            "code": "EXACT_DUPLICATE",
            "check": "exact_duplicate",
            "message": "exact duplicate of kept sample a after normalisation",
            "score": 1.0,
            "threshold": 1.0,
            "matched_id": "a",
            "action": "drop",
        }
    ]
    assert dropped["scores"]["exact_duplicate"] == 1.0
    assert "near_duplicate" not in dropped["scores"]  # checks after the drop were skipped


def test_a_near_duplicate_names_the_sample_it_matched(cli: Cli, tmp_path: Path) -> None:
    original = alpaca("orig", 7)
    copy = {**original, "id": "orig-copy", "output": "Sure! Here is " + original["output"]}
    src = write_jsonl(tmp_path / "in.jsonl", [original, alpaca("other", 8), copy])
    out = tmp_path / "d.jsonl"
    # Batches of one: the match is found in the collection's index, not only within a request.
    result = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data", "--batch-size", 1)
    assert result.exit_code == 0, result.output
    decision = read_jsonl(out)[2]
    assert decision["id"] == "orig-copy" and decision["verdict"] == "drop"
    [reason] = decision["reasons"]
    assert (reason["code"], reason["matched_id"], reason["action"]) == ("NEAR_DUPLICATE", "orig", "drop")
    assert 0.8 <= reason["score"] < 1.0
    assert "orig" in reason["message"]


def test_split_outputs_hold_the_original_records(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    policy = tmp_path / "policy.json"
    policy.write_text(
        orjson.dumps(
            {
                "checks": {
                    "near_duplicate": {"rules": {"NEAR_DUPLICATE": {"threshold": 0.8, "action": "review"}}}
                }
            }
        ).decode()
    )
    assert cli("collections", "create", "reviewed", "--policy", policy, "--data-dir", data).exit_code == 0
    k1, k2 = words(1), words(2)
    lines = [
        f'{{"id": "k1",   "instruction": "Describe item 1.", "input": "", "output": "{k1}", "extra": 1}}',
        f'{{"id":"k2","text":"{k2}"}}',
        f'{{"id": "d1", "instruction": "Describe item 1.", "input": "", "output": "{k1}", "extra": 2}}',
        f'{{"id": "r1", "text": "Sure! Here is {k2}"}}',
        '{"id": "bad", "text": 3}',
    ]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    outs = {name: tmp_path / f"{name}.jsonl" for name in ("kept", "dropped", "review", "invalid")}
    result = cli(
        "filter",
        src,
        "-c",
        "reviewed",
        "--decisions",
        tmp_path / "d.jsonl",
        *(arg for name, path in outs.items() for arg in (f"--{name}", path)),
        "--data-dir",
        data,
    )
    assert result.exit_code == 0, result.output
    assert _verdicts(tmp_path / "d.jsonl") == {"k1": "keep", "k2": "keep", "d1": "drop", "r1": "review"}
    assert outs["kept"].read_text() == lines[0] + "\n" + lines[1] + "\n"
    assert outs["dropped"].read_text() == lines[2] + "\n"
    assert outs["review"].read_text() == lines[3] + "\n"
    assert outs["invalid"].read_text() == lines[4] + "\n"
    assert summary(result.stderr) | {"samples/s": ""} == {
        "read": "5",
        "kept": "2",
        "dropped": "1",
        "review": "1",
        "invalid": "1",
        "samples/s": "",
    }


def test_a_malformed_line_is_reported_by_number_and_the_run_goes_on(cli: Cli, tmp_path: Path) -> None:
    broken = '{"id": "b", "text": "never closed"'
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1), broken, "", "42", alpaca("c", 3)])
    out, bad = tmp_path / "d.jsonl", tmp_path / "bad.jsonl"
    result = cli("filter", src, "--decisions", out, "--invalid", bad, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "line 2: not valid JSON (unexpected end of data at column 35)" in result.stderr
    assert "line 4: expected a JSON object, got a number" in result.stderr
    assert _verdicts(out) == {"a": "keep", "c": "keep"}
    assert bad.read_text() == broken + "\n42\n"
    counts = summary(result.stderr)
    assert (counts["read"], counts["kept"], counts["invalid"]) == ("4", "2", "2")


def test_invalid_samples_are_reported_by_line(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            alpaca("a", 1),
            {"id": "two-shapes", "text": "t", "instruction": "i", "output": "o"},
            {"id": "nothing", "generator": "g"},
            {"id": "", "text": "no id"},
            {"id": "role", "messages": [{"role": "narrator", "content": "x"}]},
            alpaca("a", 2),
            alpaca("z", 3),
        ],
    )
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "line 2: content: two content shapes (text and alpaca): set exactly one" in err
    assert "line 3: content: no content: set one of text, instruction/input/output, or messages" in err
    assert "line 4: id: id is required: give every sample a non-empty id" in err
    assert "line 5: messages[0].role: unknown role 'narrator'" in err
    assert "line 6: duplicate id 'a' (first seen on line 1): ids must be unique" in err
    assert _verdicts(out) == {"a": "keep", "z": "keep"}
    counts = summary(err)
    assert (counts["read"], counts["kept"], counts["invalid"]) == ("7", "2", "5")


def test_strict_stops_at_the_first_bad_line(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1), alpaca("b", 2), "{nope", alpaca("c", 3), "[]"])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--strict", "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    assert "line 3: not valid JSON" in result.stderr
    assert "line 5" not in result.stderr
    assert "--strict" in result.stderr
    assert _verdicts(out) == {"a": "keep", "b": "keep"}
    counts = summary(result.stderr)
    assert (counts["read"], counts["kept"], counts["invalid"]) == ("3", "2", "1")


def test_parquet_input(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    rows = [alpaca("p1", 1, generator="g"), alpaca("p2", 1, generator="g"), alpaca("p3", 2, generator="h")]
    pq.write_table(pa.Table.from_pylist(rows), path)
    out, kept = tmp_path / "d.jsonl", tmp_path / "kept.jsonl"
    result = cli("filter", path, "--decisions", out, "--kept", kept, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert _verdicts(out) == {"p1": "keep", "p2": "drop", "p3": "keep"}
    assert read_jsonl(kept) == [rows[0], rows[2]]


def test_json_array_input_without_ids(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    records = [{k: v for k, v in alpaca("x", i).items() if k != "id"} for i in (1, 2, 1)]
    path.write_bytes(orjson.dumps(records))
    out = tmp_path / "d.jsonl"
    result = cli("filter", path, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert _verdicts(out) == {"line-1": "keep", "line-2": "keep", "line-3": "drop"}
    assert read_jsonl(out)[2]["reasons"][0]["matched_id"] == "line-1"


def test_stdin_input(cli: Cli, tmp_path: Path) -> None:
    text = "".join(orjson.dumps(r).decode() + "\n" for r in (alpaca("a", 1), alpaca("b", 1)))
    out = tmp_path / "d.jsonl"
    result = cli("filter", "-", "--decisions", out, "--data-dir", tmp_path / "data", input=text)
    assert result.exit_code == 0, result.output
    assert _verdicts(out) == {"a": "keep", "b": "drop"}


def test_a_restart_drops_exact_copies_of_the_first_run(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = [alpaca(f"s{i}", i) for i in range(5)]
    src1 = write_jsonl(tmp_path / "one.jsonl", first)
    assert cli("filter", src1, "--decisions", tmp_path / "d1.jsonl", "--data-dir", data).exit_code == 0
    assert set(_verdicts(tmp_path / "d1.jsonl").values()) == {"keep"}
    copies = [{**r, "id": f"{r['id']}-again", "output": "  " + r["output"].upper()} for r in first]
    src2 = write_jsonl(tmp_path / "two.jsonl", [*copies, alpaca("new", 99)])
    out = tmp_path / "d2.jsonl"
    result = cli("filter", src2, "--decisions", out, "--data-dir", data, "--no-create")
    assert result.exit_code == 0, result.output
    decisions = read_jsonl(out)
    assert [(d["id"], d["verdict"]) for d in decisions] == [(f"s{i}-again", "drop") for i in range(5)] + [
        ("new", "keep")
    ]
    assert [(d["reasons"][0]["code"], d["reasons"][0]["matched_id"]) for d in decisions[:5]] == [
        ("EXACT_DUPLICATE", f"s{i}") for i in range(5)
    ]


def test_dry_run_admits_nothing(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1), alpaca("b", 1)])
    dry = cli("filter", src, "--decisions", tmp_path / "dry.jsonl", "--dry-run", "--data-dir", data)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.stderr
    assert _verdicts(tmp_path / "dry.jsonl") == {"a": "keep", "b": "drop"}
    stats = orjson.loads(cli("stats", "--json", "--data-dir", data).stdout)
    assert stats["totals"]["total"] == 0
    real = cli("filter", src, "--decisions", tmp_path / "real.jsonl", "--data-dir", data)
    assert real.exit_code == 0
    assert _verdicts(tmp_path / "real.jsonl") == {"a": "keep", "b": "drop"}


def test_score_all_scores_dropped_samples_on_every_check(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1), alpaca("b", 1)])
    out = tmp_path / "d.jsonl"
    result = cli(
        "filter", src, "--decisions", out, "--score-all", "--dry-run", "--data-dir", tmp_path / "data"
    )
    assert result.exit_code == 0, result.output
    dropped = read_jsonl(out)[1]
    dedup = ("empty", "exact_duplicate", "near_duplicate", "semantic_similarity")
    assert {k: dropped["scores"][k] for k in dedup} == pytest.approx(
        {"empty": 0.0, "exact_duplicate": 1.0, "near_duplicate": 1.0, "semantic_similarity": 1.0}, abs=1e-5
    )
    assert [r["code"] for r in dropped["reasons"]] == [
        "EXACT_DUPLICATE",
        "NEAR_DUPLICATE",
        "SEMANTIC_DUPLICATE",
    ]


def test_no_create_refuses_a_missing_collection(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1)])
    result = cli(
        "filter",
        src,
        "-c",
        "nope",
        "--decisions",
        tmp_path / "d.jsonl",
        "--no-create",
        "--data-dir",
        tmp_path,
    )
    assert result.exit_code == 1
    assert "collection 'nope' does not exist" in result.stderr


def test_batch_size_over_the_limit_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1)])
    result = cli(
        "filter", src, "--decisions", tmp_path / "d.jsonl", "--batch-size", 5000, "--data-dir", tmp_path
    )
    assert result.exit_code == 2
    assert "limits.max_batch" in result.output


def test_server_mode_gives_the_same_decisions(cli: Cli, tmp_path: Path, server: RunningServer) -> None:
    records: list[dict[str, object] | str] = [alpaca(f"s{i}", i % 7) for i in range(20)]
    records += [
        {**alpaca("near", 3), "output": "Sure! Here is " + words(3)},
        "not json",
        {"id": "chat", "messages": [{"role": "user", "content": words(50)}]},
        {"id": "s1", "text": "duplicate id"},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    kept_local, kept_remote = tmp_path / "kl.jsonl", tmp_path / "kr.jsonl"
    args = ("--batch-size", 3, "-c", "same")
    res_local = cli(
        "filter", src, "--decisions", local, "--kept", kept_local, "--data-dir", tmp_path / "d", *args
    )
    res_remote = cli(
        "filter",
        src,
        "--decisions",
        remote,
        "--kept",
        kept_remote,
        "--server",
        f"127.0.0.1:{server.port}",
        *args,
    )
    assert res_local.exit_code == 0, res_local.output
    assert res_remote.exit_code == 0, res_remote.output
    assert remote.read_bytes() == local.read_bytes()
    assert kept_remote.read_bytes() == kept_local.read_bytes()
    assert summary(res_remote.stderr) | {"samples/s": ""} == summary(res_local.stderr) | {"samples/s": ""}
    assert _verdicts(local)["near"] == "drop"
    assert "line 22: not valid JSON" in res_remote.stderr
    assert "line 24: duplicate id 's1'" in res_remote.stderr
    assert server.curator.get_collection("same").kept_count == 8


def test_samples_a_server_rejects_are_reported_and_the_rest_of_the_batch_is_kept(
    cli: Cli, tmp_path: Path
) -> None:
    strict_server = start(
        Settings.load(data_dir=tmp_path / "srv", server={"port": 0}, limits={"max_text_chars": 100})
    )
    try:
        src = write_jsonl(
            tmp_path / "in.jsonl",
            [
                {"id": "short1", "text": "short one"},
                {"id": "long", "text": "x" * 500},
                {"id": "short2", "text": "two"},
            ],
        )
        out, bad = tmp_path / "d.jsonl", tmp_path / "bad.jsonl"
        result = cli(
            "filter", src, "--decisions", out, "--invalid", bad, "--server", f"127.0.0.1:{strict_server.port}"
        )
    finally:
        strict_server.stop(grace=0)
    assert result.exit_code == 0, result.output
    assert "line 2: text: 500 characters is over the limit of 100" in result.stderr
    assert _verdicts(out) == {"short1": "keep", "short2": "keep"}
    assert read_jsonl(bad) == [{"id": "long", "text": "x" * 500}]
    counts = summary(result.stderr)
    assert (counts["read"], counts["kept"], counts["invalid"]) == ("3", "2", "1")


def test_an_unreachable_server_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1)])
    result = cli("filter", src, "--decisions", tmp_path / "d.jsonl", "--server", "127.0.0.1:1")
    assert result.exit_code == 1
    assert "unavailable" in result.stderr


def test_the_shipped_example(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    result = cli("filter", EXAMPLE, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "line 21: not valid JSON" in result.stderr
    counts = summary(result.stderr)
    assert (counts["read"], counts["kept"], counts["dropped"], counts["review"], counts["invalid"]) == (
        "49",
        "42",
        "5",
        "1",  # note-1's template slot
        "1",
    )
    dropped = {
        d["id"]: [(r["code"], r["matched_id"]) for r in d["reasons"]]
        for d in read_jsonl(out)
        if d["verdict"] == "drop"
    }
    assert dropped == {
        "a17-copy": [("EXACT_DUPLICATE", "a17")],
        "a5-copy": [("NEAR_DUPLICATE", "a5")],
        "a8-copy": [("NEAR_DUPLICATE", "a8")],
        "a30-copy": [("NEAR_DUPLICATE", "a30")],
        "empty-1": [("EMPTY", "")],
    }
    assert {"chat-1", "line-47"} <= set(_verdicts(out))


def test_ctrl_c_stops_the_run_and_still_flushes_state(tmp_path: Path) -> None:
    """A real SIGINT to a real process: exit 130, and everything decided is durable and consistent."""
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(f'{{"id": "s{i}", "text": "sample number {i} of many"}}\n' for i in range(200_000))
    )
    out, data = tmp_path / "d.jsonl", tmp_path / "data"
    cmd = [sys.executable, "-m", "curator.cli.main", "filter", str(src), "--decisions", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--data-dir", str(data), "--batch-size", "1"], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while (not out.exists() or out.stat().st_size == 0) and proc.poll() is None:
            assert time.monotonic() < deadline, "no decisions written within 60s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "(interrupted)" in err
    decided = read_jsonl(out)
    assert 0 < len(decided) < 200_000
    runner = CliRunner()
    stats = orjson.loads(runner.invoke(app, ["stats", "--json", "--data-dir", str(data)]).stdout)
    kept = sum(d["verdict"] == "keep" for d in decided)
    # The batch in flight at the signal may be logged but not written out: at most one sample.
    assert stats["totals"]["total"] - len(decided) in (0, 1)
    listed = runner.invoke(app, ["collections", "list", "--data-dir", str(data)]).stdout
    row = next(line for line in listed.splitlines() if line.startswith("│ default"))
    assert int(row.split("│")[3]) - kept in (0, 1)


def test_a_service_failure_mid_run_shows_the_summary_then_the_error(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Curator.filter
    calls = 0

    def flaky(self: Curator, collection: str, samples: Sequence[SampleInput], **kw: bool) -> list[Decision]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Unavailable("the store went away")
        return real(self, collection, samples, **kw)

    monkeypatch.setattr(Curator, "filter", flaky)
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca(f"s{i}", i) for i in range(6)])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--batch-size", 2, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    assert "(failed)" in result.stderr
    assert result.stderr.rstrip().endswith("error: the store went away")
    assert _verdicts(out) == {"s0": "keep", "s1": "keep"}
    counts = summary(result.stderr)
    # The third batch was read (and validated) while the second was decided, but never sent.
    assert (counts["read"], counts["kept"], counts["invalid"]) == ("6", "2", "0")


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server that takes at most 5 samples per request."""
    running = start(Settings.load(data_dir=tmp_path / "small", server={"port": 0}, limits={"max_batch": 5}))
    try:
        yield running
    finally:
        running.stop(grace=0)


def test_a_batch_size_over_the_servers_limit_is_refused_before_reading(
    cli: Cli, tmp_path: Path, small_server: RunningServer
) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca(f"s{i}", i) for i in range(12)])
    out = tmp_path / "d.jsonl"
    target = f"127.0.0.1:{small_server.port}"
    result = cli("filter", src, "--decisions", out, "--batch-size", 10, "--server", target)
    assert result.exit_code == 2, result.output
    assert "--batch-size" in result.output
    assert f"10 is over the server's limits.max_batch (5) at {target}" in result.output
    assert "line " not in result.output
    assert not out.exists()  # nothing was read or written
    # The input is not even opened: a missing file is not what is reported.
    missing = cli(
        "filter", tmp_path / "nope.jsonl", "--decisions", out, "--batch-size", 10, "--server", target
    )
    assert missing.exit_code == 2 and "limits.max_batch" in missing.output
    # Within the limit, the run goes through.
    ok = cli("filter", src, "--decisions", out, "--batch-size", 5, "--server", target)
    assert ok.exit_code == 0, ok.output
    assert len(read_jsonl(out)) == 12


def test_the_servers_limits_check_records_before_they_are_sent(cli: Cli, tmp_path: Path) -> None:
    strict_server = start(
        Settings.load(data_dir=tmp_path / "srv", server={"port": 0}, limits={"max_text_chars": 100})
    )
    try:
        src = write_jsonl(
            tmp_path / "in.jsonl", [{"id": "long", "text": "x" * 500}, {"id": "ok", "text": "ok"}]
        )
        sent: list[int] = []
        real = CuratorClient.filter_stream

        def counting(self: CuratorClient, collection: str, batches: Iterable[Any], **kw: bool) -> Any:
            def seen() -> Iterator[Any]:
                for batch in batches:
                    sent.append(len(batch))
                    yield batch

            return real(self, collection, seen(), **kw)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(CuratorClient, "filter_stream", counting)
            result = cli(
                "filter",
                src,
                "--decisions",
                tmp_path / "d.jsonl",
                "--server",
                f"127.0.0.1:{strict_server.port}",
            )
    finally:
        strict_server.stop(grace=0)
    assert result.exit_code == 0, result.output
    assert "line 1: text: 500 characters is over the limit of 100" in result.stderr
    assert sent == [1]  # the long record never went to the server


def test_an_old_server_without_server_info_still_works(
    cli: Cli, tmp_path: Path, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unimplemented(self: CuratorClient) -> ServerInfo:
        raise RemoteError("UNIMPLEMENTED", "Method not found!")  # what a server before GetServerInfo says

    monkeypatch.setattr(CuratorClient, "server_info", unimplemented)
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca("a", 1), alpaca("b", 1)])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--server", f"127.0.0.1:{server.port}")
    assert result.exit_code == 0, result.output
    assert _verdicts(out) == {"a": "keep", "b": "drop"}


def test_a_batch_the_server_refuses_as_a_whole_stops_the_run(
    cli: Cli, tmp_path: Path, small_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old server (no GetServerInfo) refuses every batch over its limit: not the records' fault."""

    def unimplemented(self: CuratorClient) -> ServerInfo:
        raise RemoteError("UNIMPLEMENTED", "Method not found!")

    monkeypatch.setattr(CuratorClient, "server_info", unimplemented)
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca(f"s{i}", i) for i in range(25)])
    bad = tmp_path / "bad.jsonl"
    result = cli(
        "filter",
        src,
        "--decisions",
        tmp_path / "d.jsonl",
        "--invalid",
        bad,
        "--batch-size",
        10,
        "--server",
        f"127.0.0.1:{small_server.port}",
    )
    assert result.exit_code == 1, result.output
    assert "line " not in result.stderr
    assert "(failed)" in result.stderr
    assert result.stderr.rstrip().endswith(
        "error: the service refused a whole batch (10 samples, lines 1-10), not any one record in it:"
        " samples: 10 samples in one request; send at most 5"
    )
    counts = summary(result.stderr)
    assert (counts["kept"], counts["invalid"]) == ("0", "0")
    assert bad.read_text() == ""


def test_an_unknown_collection_mid_run_stops_the_run(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Curator.filter
    calls = 0

    def vanishing(
        self: Curator, collection: str, samples: Sequence[SampleInput], **kw: bool
    ) -> list[Decision]:
        nonlocal calls
        calls += 1
        if calls == 2:  # e.g. the collection was deleted under the run
            raise InvalidArgument(FieldViolation("collection", f"unknown collection {collection!r}"))
        return real(self, collection, samples, **kw)

    monkeypatch.setattr(Curator, "filter", vanishing)
    src = write_jsonl(tmp_path / "in.jsonl", [alpaca(f"s{i}", i) for i in range(6)])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--batch-size", 2, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1, result.output
    assert "line " not in result.stderr
    assert "(failed)" in result.stderr
    assert "collection: unknown collection 'default'" in result.stderr
    assert _verdicts(out) == {"s0": "keep", "s1": "keep"}
    assert calls == 2


def test_a_parquet_file_without_content_columns_is_reported_once(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    rows = [{"prompt": words(i), "completion": words(i + 1)} for i in range(50)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    result = cli("filter", path, "--decisions", tmp_path / "d.jsonl", "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: no content column; expected text, instruction (+input, output) or messages;"
        " found: prompt, completion\n"
    )


def test_an_empty_input_fails_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    assert summary(result.stderr)["read"] == "0"
    assert result.stderr.rstrip().endswith(
        f"error: {src} holds no records: nothing was filtered (--allow-empty accepts that)"
    )
    allowed = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data", "--allow-empty")
    assert allowed.exit_code == 0, allowed.output
    assert "error" not in allowed.stderr


def test_a_run_with_no_valid_record_fails_unless_allowed(cli: Cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "q"}, "nope", {"id": 3, "text": 4}])
    out = tmp_path / "d.jsonl"
    result = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data")
    assert result.exit_code == 1
    err = result.stderr
    assert "line 1: content: no content" in err and "line 2: not valid JSON" in err and "line 3: text:" in err
    assert err.rstrip().endswith(
        f"error: no valid record in {src} (3 read, 3 invalid):"
        " nothing was filtered (--allow-empty accepts that)"
    )
    allowed = cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data", "--allow-empty")
    assert allowed.exit_code == 0, allowed.output
    assert summary(allowed.stderr)["invalid"] == "3"
    # One valid record is enough for exit code 0.
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "q"}, alpaca("a", 1)])
    assert cli("filter", src, "--decisions", out, "--data-dir", tmp_path / "data").exit_code == 0
