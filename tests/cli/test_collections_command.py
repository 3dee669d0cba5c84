"""``curator collections create/list/show``, in-process and against a server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import Result

from curator.api.server import RunningServer
from curator.checks import default_checks
from curator.domain.policy import Policy, resolve_policy

Cli = Callable[..., Result]


@pytest.fixture(params=["in-process", "server"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "in-process":
        return ("--data-dir", str(tmp_path / "data"))
    server: RunningServer = request.getfixturevalue("server")
    return ("--server", f"127.0.0.1:{server.port}")


def _show(cli: Cli, name: str, where: tuple[str, str]) -> dict[str, Any]:
    result = cli("collections", "show", name, *where)
    assert result.exit_code == 0, result.output
    policy: dict[str, Any] = orjson.loads(result.stdout)
    return policy


def test_create_list_show_with_the_default_policy(cli: Cli, where: tuple[str, str]) -> None:
    created = cli("collections", "create", "alpha", *where)
    assert created.exit_code == 0, created.output
    assert created.stdout == "created collection alpha (policy version 1, dedup key sample)\n"
    assert cli("collections", "create", "beta", *where).exit_code == 0
    listed = cli("collections", "list", *where)
    assert listed.exit_code == 0, listed.output
    rows = [
        [c.strip() for c in line.strip("│ ").split("│")]
        for line in listed.stdout.splitlines()
        if line.startswith("│")
    ]
    assert [r[:4] for r in rows] == [["alpha", "1", "0", "sample"], ["beta", "1", "0", "sample"]]
    expected = resolve_policy(Policy(), default_checks()).model_dump(mode="json")
    assert _show(cli, "alpha", where) == expected


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_create_with_a_policy_file(cli: Cli, tmp_path: Path, where: tuple[str, str], suffix: str) -> None:
    path = tmp_path / f"policy{suffix}"
    if suffix == ".json":
        path.write_text(
            '{"dedup_key": "response", "checks": {"near_duplicate": {"params": {"num_perm": 64},'
            ' "rules": {"NEAR_DUPLICATE": {"threshold": 0.9, "action": "drop", "review_threshold": 0.7}}}}}'
        )
    else:
        path.write_text(
            'dedup_key = "response"\n'
            "[checks.near_duplicate.params]\nnum_perm = 64\n"
            "[checks.near_duplicate.rules.NEAR_DUPLICATE]\n"
            'threshold = 0.9\naction = "drop"\nreview_threshold = 0.7\n'
        )
    result = cli("collections", "create", "tuned", "--policy", path, *where)
    assert result.exit_code == 0, result.output
    policy = _show(cli, "tuned", where)
    assert policy["dedup_key"] == "response"
    near = policy["checks"]["near_duplicate"]
    assert near["rules"]["NEAR_DUPLICATE"] == {"threshold": 0.9, "action": "drop", "review_threshold": 0.7}
    assert near["params"] == {
        "num_perm": 64.0,
        "shingle_size": 3.0,
        "lsh_threshold": 0.9,
        "sketch_size": 256.0,
    }
    assert policy["checks"]["exact_duplicate"]["rules"]["EXACT_DUPLICATE"]["threshold"] == 1.0


def test_an_existing_name_is_refused(cli: Cli, where: tuple[str, str]) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    again = cli("collections", "create", "alpha", *where)
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_a_bad_name_reports_the_violation(cli: Cli, where: tuple[str, str]) -> None:
    result = cli("collections", "create", "Bad Name", *where)
    assert result.exit_code == 1
    assert "error: invalid argument" in result.stderr
    assert "  name: collection names are 1-64 of a-z, 0-9" in result.stderr


def test_a_policy_naming_an_unknown_check_is_refused(
    cli: Cli, tmp_path: Path, where: tuple[str, str]
) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"checks": {"sentiment": {"enabled": true}}}')
    result = cli("collections", "create", "x", "--policy", path, *where)
    assert result.exit_code == 1
    assert "policy.checks[sentiment]: unknown check" in result.stderr


def test_a_malformed_policy_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"dedup_key": "everything"}')
    result = cli("collections", "create", "x", "--policy", path, "--data-dir", tmp_path)
    assert result.exit_code == 1
    assert "dedup_key" in result.stderr
    broken = tmp_path / "p.toml"
    broken.write_text("dedup_key = ")
    result = cli("collections", "create", "x", "--policy", broken, "--data-dir", tmp_path)
    assert result.exit_code == 1
    assert "not valid TOML" in result.stderr


def test_show_of_a_missing_collection(cli: Cli, where: tuple[str, str]) -> None:
    result = cli("collections", "show", "nope", *where)
    assert result.exit_code == 1
    assert "collection 'nope' does not exist" in result.stderr


def test_kept_counts_show_in_the_list(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "one"}\n{"id": "b", "text": "two"}\n{"id": "c", "text": "ONE"}\n')
    assert (
        cli("filter", src, "-c", "docs", "--decisions", tmp_path / "d.jsonl", "--data-dir", data).exit_code
        == 0
    )
    listed = cli("collections", "list", "--data-dir", data)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("│ docs"))
    assert [c.strip() for c in row.strip("│ ").split("│")][:3] == ["docs", "1", "2"]
