"""`curator decisions` lists the log; `curator review` approves or rejects, in-process and via a server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from curator.api.server import RunningServer
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
