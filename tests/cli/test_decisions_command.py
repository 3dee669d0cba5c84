"""`curator decisions` lists the log; `curator review` approves or rejects, in-process and via a server."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from curator.api.server import RunningServer
from curator.cli.main import app
from curator.errors import Unavailable
from curator.service import Curator
from curator.state.store import DecisionRecord
from tests.support.reviews import BASE, VARIANT, review_policy


def _seed(cli: Callable[..., Result], tmp_path: Path, where: list[str]) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(review_policy().model_dump_json())
    created = cli("collections", "create", "c", "--policy", policy, *where)
    assert created.exit_code == 0, created.output
    records = tmp_path / "in.jsonl"
    records.write_text(
        "\n".join(
            json.dumps({"id": i, "text": t, "metadata": {"generator": g}})
            for i, t, g in [("a", BASE, "g1"), ("b", VARIANT, "g2")]
        )
    )
    run = cli("filter", records, "--decisions", tmp_path / "out.jsonl", "-c", "c", *where)
    assert run.exit_code == 0, run.output


@pytest.mark.parametrize("via", ["data-dir", "server"])
def test_list_then_approve_from_the_command_line(
    cli: Callable[..., Result], tmp_path: Path, via: str, request: pytest.FixtureRequest
) -> None:
    if via == "server":
        server: RunningServer = request.getfixturevalue("server")
        where = ["--server", f"127.0.0.1:{server.port}"]
    else:
        where = ["--data-dir", str(tmp_path / "data")]
    _seed(cli, tmp_path, where)
    listed = cli("decisions", "-c", "c", "--pending", "--json", *where)
    assert listed.exit_code == 0, listed.output
    [pending] = [json.loads(line) for line in listed.output.splitlines()]
    assert pending["sample_id"] == "b" and pending["matched"]["a"]["text"] == BASE
    table = cli("decisions", "-c", "c", *where)
    assert "NEAR_DUPLICATE" in table.output and "pending" in table.output
    done = cli("review", pending["decision_id"], "approve", "--reviewer", "erin", *where)
    assert done.exit_code == 0, done.output
    assert "approved by erin" in done.output
    assert cli("decisions", "-c", "c", "--pending", "--json", *where).output.strip() == ""
    again = cli("review", pending["decision_id"], "reject", "--reviewer", "erin", *where)
    assert again.exit_code != 0 and "already reviewed" in again.output
    stats = json.loads(cli("stats", "-c", "c", "--json", *where).output)
    assert stats["reviews"] == {"pending": 0, "approved": 1, "rejected": 0}
    by_generator = cli("decisions", "--where", "generator=g1", "--json", *where)
    assert [json.loads(x)["sample_id"] for x in by_generator.output.splitlines()] == ["a"]


VARIANTS = {
    "b": VARIANT,
    "c": VARIANT.replace("salted fish", "smoked fish"),
    "d": VARIANT.replace("northern hills", "northern marsh"),
}


def _seed_pending(cli: Callable[..., Result], tmp_path: Path, where: list[str]) -> list[int]:
    """Collection c: "a" kept, three near-duplicates of it pending review; their ids, oldest first."""
    policy = tmp_path / "policy.json"
    policy.write_text(review_policy().model_dump_json())
    assert cli("collections", "create", "c", "--policy", policy, *where).exit_code == 0
    records = tmp_path / "in.jsonl"
    records.write_text(
        "\n".join(json.dumps({"id": i, "text": t}) for i, t in [("a", BASE), *VARIANTS.items()])
    )
    run = cli("filter", records, "--decisions", tmp_path / "out.jsonl", "-c", "c", *where)
    assert run.exit_code == 0, run.output
    listed = cli("decisions", "-c", "c", "--pending", "--json", *where)
    pending = sorted(
        (json.loads(line) for line in listed.stdout.splitlines()), key=lambda d: d["decision_id"]
    )
    assert [d["sample_id"] for d in pending] == ["b", "c", "d"]
    return [d["decision_id"] for d in pending]


@pytest.fixture(params=["data-dir", "server"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "server":
        server: RunningServer = request.getfixturevalue("server")
        return ["--server", f"127.0.0.1:{server.port}"]
    return ["--data-dir", str(tmp_path / "data")]


def _pending(cli: Callable[..., Result], where: list[str]) -> list[str]:
    listed = cli("decisions", "-c", "c", "--pending", "--json", *where)
    return sorted(json.loads(line)["sample_id"] for line in listed.stdout.splitlines())


def test_several_ids_in_one_call_go_on_past_one_that_fails(
    cli: Callable[..., Result], tmp_path: Path, where: list[str]
) -> None:
    b, c, d = _seed_pending(cli, tmp_path, where)
    first = cli("review", c, "reject", "--reviewer", "erin", *where)
    assert first.exit_code == 0, first.output
    result = cli("review", b, c, d, 999_999, "approve", "--reviewer", "erin", *where)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"decision {b} (c/b): approved by erin",
        f"decision {d} (c/d): approved by erin",
    ]
    err = result.stderr.splitlines()
    assert err[0].startswith(f"error: decision {c} was already reviewed by erin at ")
    assert err[1] == "error: decision 999999 does not exist"
    assert err[2] == "reviewed 2 of 4 decisions; 2 failed"
    assert _pending(cli, where) == []


def test_all_pending_reviews_every_pending_decision_of_a_collection(
    cli: Callable[..., Result], tmp_path: Path, where: list[str]
) -> None:
    b, c, d = _seed_pending(cli, tmp_path, where)
    result = cli(
        "review", "--all-pending", "-c", "c", "reject", "--reviewer", "erin", "--note", "dupes", *where
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"decision {i} (c/{s}): rejected by erin" for i, s in ((b, "b"), (c, "c"), (d, "d"))
    ]
    assert result.stderr == "reviewed 3 of 3 decisions\n"
    assert _pending(cli, where) == []
    again = cli("review", "--all-pending", "-c", "c", "reject", "--reviewer", "erin", *where)
    assert again.exit_code == 0, again.output
    assert again.stderr == "no pending REVIEW decisions in collection c\n"
    unknown = cli("review", "--all-pending", "-c", "nope", "reject", "--reviewer", "erin", *where)
    assert unknown.exit_code == 1
    assert "collection 'nope' does not exist" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve"], "give decision ids, or --all-pending with --collection"),
        (["1", "--all-pending", "-c", "c", "approve"], "give decision ids or --all-pending, not both"),
        (["--all-pending", "approve"], "--all-pending needs --collection"),
        (["1", "-c", "c", "approve"], "--collection goes with --all-pending"),
    ],
)
def test_which_decisions_to_review_must_be_clear(
    cli: Callable[..., Result], tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli("review", *args, "--reviewer", "erin", "--data-dir", tmp_path)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_reviewer_defaults_to_user_then_logname_then_the_account(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = ["--data-dir", str(tmp_path / "data")]

    def cli(*args: object, env: dict[str, str | None] | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], env=env)

    b, c, d = _seed_pending(cli, tmp_path, where)
    monkeypatch.setattr(getpass, "getuser", lambda: "account")
    by_user = cli("review", b, "approve", *where, env={"USER": "uma", "LOGNAME": "lou"})
    assert by_user.stdout == f"decision {b} (c/b): approved by uma\n"
    by_logname = cli("review", c, "approve", *where, env={"USER": None, "LOGNAME": "lou"})
    assert by_logname.stdout == f"decision {c} (c/c): approved by lou\n"

    def no_account() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_account)
    nobody = cli("review", d, "approve", *where, env={"USER": None, "LOGNAME": None})
    assert nobody.exit_code == 2
    assert "--reviewer" in nobody.output and "who is reviewing" in nobody.output
    monkeypatch.setattr(getpass, "getuser", lambda: "account")
    by_account = cli("review", d, "approve", *where, env={"USER": None, "LOGNAME": None})
    assert by_account.stdout == f"decision {d} (c/d): approved by account\n"


def test_a_service_failure_stops_the_reviews(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = ["--data-dir", str(tmp_path / "data")]
    b, c, d = _seed_pending(cli, tmp_path, where)
    real = Curator.review_decision
    calls = 0

    def flaky(self: Curator, decision_id: int, *args: Any) -> DecisionRecord:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Unavailable("the store went away")
        return real(self, decision_id, *args)

    monkeypatch.setattr(Curator, "review_decision", flaky)
    result = cli("review", b, c, d, "approve", "--reviewer", "erin", *where)
    assert result.exit_code == 1
    assert result.stdout == f"decision {b} (c/b): approved by erin\n"
    assert result.stderr == "stopped after 1 of 3 decisions (1 reviewed)\nerror: the store went away\n"
    assert calls == 2
    assert _pending(cli, where) == ["c", "d"]
