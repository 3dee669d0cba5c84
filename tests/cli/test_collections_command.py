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
from curator.state.store import StatsQuery

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


# ---------------------------------------------------------------- update


def _default() -> dict[str, Any]:
    policy: dict[str, Any] = resolve_policy(Policy(), default_checks()).model_dump(mode="json")
    return policy


def _update(cli: Cli, where: tuple[str, str], *args: Any) -> Result:
    result = cli("collections", "update", "alpha", *args, *where)
    assert result.exit_code == 0, result.output
    return result


def test_update_changes_only_what_it_names(cli: Cli, where: tuple[str, str]) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    first = _update(cli, where, "--set", "semantic.SEMANTIC_DUPLICATE.threshold=0.97")
    assert first.stdout == (
        "updated collection alpha: policy version 1 -> 2\n"
        "  semantic.SEMANTIC_DUPLICATE.threshold: 0.95 -> 0.97\n"
    )
    second = _update(
        cli,
        where,
        "--disable",
        "heuristics",
        "--enable",
        "grounding",
        "--set",
        "near_duplicate.NEAR_DUPLICATE.threshold=0.85",
        "--set",
        "semantic.SEMANTIC_DUPLICATE.action=review",
        "--set",
        "semantic.SEMANTIC_DUPLICATE.review_threshold=none",
        "--set",
        "hallucination.rules.low_quality.threshold=0.1",
    )
    assert second.stdout.splitlines() == [
        "updated collection alpha: policy version 2 -> 3",
        "  grounding.enabled: false -> true",
        "  hallucination.LOW_QUALITY.threshold: 0.05 -> 0.1",
        "  heuristics.enabled: true -> false",
        "  near_duplicate.NEAR_DUPLICATE.threshold: 0.8 -> 0.85",
        "  semantic.SEMANTIC_DUPLICATE.action: drop -> review",
        "  semantic.SEMANTIC_DUPLICATE.review_threshold: 0.9 -> none",
    ]
    expected = _default()
    checks = expected["checks"]
    checks["near_duplicate"]["rules"]["NEAR_DUPLICATE"]["threshold"] = 0.85
    checks["heuristics"]["enabled"] = False
    checks["grounding"]["enabled"] = True
    checks["hallucination"]["rules"]["LOW_QUALITY"]["threshold"] = 0.1
    # The first update's threshold survives the second.
    checks["semantic"]["rules"]["SEMANTIC_DUPLICATE"] = {
        "threshold": 0.97,
        "action": "review",
        "review_threshold": None,
    }
    assert _show(cli, "alpha", where) == expected


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_update_merges_a_partial_policy_file(
    cli: Cli, tmp_path: Path, where: tuple[str, str], suffix: str
) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    _update(cli, where, "--set", "semantic.SEMANTIC_DUPLICATE.threshold=0.97")
    path = tmp_path / f"patch{suffix}"
    if suffix == ".json":
        path.write_text('{"checks": {"heuristics": {"rules": {"TOO_SHORT": {"threshold": 0.5}}}}}')
    else:
        path.write_text("[checks.heuristics.rules.TOO_SHORT]\nthreshold = 0.5\n")
    # An option beats the file on the same field.
    result = _update(cli, where, "--policy", path, "--set", "heuristics.TOO_SHORT.action=drop")
    assert result.stdout.splitlines()[1:] == [
        "  heuristics.TOO_SHORT.threshold: 0.8 -> 0.5",
        "  heuristics.TOO_SHORT.action: review -> drop",
    ]
    policy = _show(cli, "alpha", where)
    assert policy["checks"]["heuristics"]["rules"]["TOO_SHORT"] == {
        "threshold": 0.5,
        "action": "drop",
        "review_threshold": None,
    }
    assert policy["checks"]["semantic"]["rules"]["SEMANTIC_DUPLICATE"]["threshold"] == 0.97


def test_reset_brings_fields_back_to_their_defaults(cli: Cli, where: tuple[str, str]) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    _update(
        cli,
        where,
        "--set",
        "semantic.SEMANTIC_DUPLICATE.threshold=0.97",
        "--set",
        "semantic.SEMANTIC_DUPLICATE.action=review",
        "--disable",
        "heuristics",
        "--set",
        "heuristics.REFUSAL.action=review",
        "--set",
        "bias.TOXIC_LANGUAGE.action=flag",
    )
    result = _update(
        cli,
        where,
        "--reset",
        "semantic.SEMANTIC_DUPLICATE",
        "--reset",
        "heuristics",
        "--set",
        "empty.enabled=false",
    )
    assert result.stdout.splitlines() == [
        "updated collection alpha: policy version 2 -> 3",
        "  empty.enabled: true -> false",
        "  heuristics.enabled: false -> true",
        "  heuristics.REFUSAL.action: review -> drop",
        "  semantic.SEMANTIC_DUPLICATE.threshold: 0.97 -> 0.95",
        "  semantic.SEMANTIC_DUPLICATE.action: review -> drop",
    ]
    expected = _default()
    expected["checks"]["empty"]["enabled"] = False
    expected["checks"]["bias"]["rules"]["TOXIC_LANGUAGE"]["action"] = "flag"  # not named: kept
    assert _show(cli, "alpha", where) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to change: give --set, --enable, --disable, --reset or --policy"),
        (["--set", "semantic.enabled"], "--set: 'semantic.enabled': expected PATH=VALUE"),
        (
            ["--set", "semantic.enabled=maybe"],
            "--set: 'semantic.enabled=maybe': 'maybe' is not true or false",
        ),
        (
            ["--set", "semantic.SEMANTIC_DUPLICATE.threshold=high"],
            "--set: 'semantic.SEMANTIC_DUPLICATE.threshold=high': 'high' is not a number",
        ),
        (
            ["--set", "semantic.SEMANTIC_DUPLICATE.threshold=nan"],
            "--set: 'semantic.SEMANTIC_DUPLICATE.threshold=nan': 'nan' is not a number",
        ),
        (
            ["--set", "semantic.SEMANTIC_DUPLICATE.action=delete"],
            "--set: 'semantic.SEMANTIC_DUPLICATE.action=delete': 'delete' is not one of drop, review, flag",
        ),
        (
            ["--set", "semantic.SEMANTIC_DUPLICATE=0.9"],
            "--set: 'semantic.SEMANTIC_DUPLICATE=0.9': name a field: semantic.SEMANTIC_DUPLICATE.threshold,"
            " .action or .review_threshold",
        ),
        (
            ["--set", "semantic.SEMANTIC_DUPLICATE.weight=1"],
            "--set: 'semantic.SEMANTIC_DUPLICATE.weight=1': 'weight' is not a rule field"
            " (threshold, action, review_threshold)",
        ),
        (
            ["--set", "semntic.enabled=false"],
            "--set: 'semntic.enabled=false': unknown check 'semntic'; checks:",
        ),
        (
            ["--set", "semantic.NOPE.threshold=0.5"],
            "--set: 'semantic.NOPE.threshold=0.5': semantic has no rule 'NOPE';"
            " its rules: SEMANTIC_DUPLICATE",
        ),
        (
            ["--set", "semantic.params.nope=1"],
            "--set: 'semantic.params.nope=1': semantic has no parameter 'nope'; its parameters:",
        ),
        (["--enable", "nope"], "--enable: 'nope': unknown check 'nope'; checks:"),
        (["--reset", "semantic..x"], "--reset: 'semantic..x': not a policy path"),
        (["--enable", "semantic", "--disable", "semantic"], "semantic.enabled is set twice"),
        (
            ["--reset", "semantic", "--set", "semantic.enabled=false"],
            "--reset semantic overlaps semantic.enabled: reset or set it, not both",
        ),
    ],
)
def test_update_names_the_bad_option(cli: Cli, where: tuple[str, str], args: list[str], message: str) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    result = cli("collections", "update", "alpha", *args, *where)
    assert result.exit_code == 2
    text = " ".join(line.strip("│ ") for line in result.output.splitlines())
    assert message in " ".join(text.split())
    assert _show(cli, "alpha", where) == _default()


def test_update_reports_what_the_service_refuses(cli: Cli, where: tuple[str, str]) -> None:
    assert cli("collections", "create", "alpha", *where).exit_code == 0
    out_of_range = cli(
        "collections", "update", "alpha", "--set", "semantic.SEMANTIC_DUPLICATE.threshold=1.5", *where
    )
    assert out_of_range.exit_code == 1
    assert (
        "policy.checks[semantic].rules[SEMANTIC_DUPLICATE].threshold: threshold must be in"
        in out_of_range.stderr
    )
    index = cli("collections", "update", "alpha", "--set", "near_duplicate.params.num_perm=64", *where)
    assert index.exit_code == 1
    assert "near_duplicate params shape the index and are fixed at creation" in index.stderr
    missing = cli("collections", "update", "nope", "--disable", "semantic", *where)
    assert missing.exit_code == 1
    assert "collection 'nope' does not exist" in missing.stderr
    assert _show(cli, "alpha", where) == _default()


def test_enabling_an_indexed_check_indexes_what_the_collection_kept(cli, tmp_path: Path) -> None:
    """The defect: every index learned every kept sample, so the model ran for a dedup-only collection;
    now a disabled check has no index, and enabling it computes one from the logged samples."""
    from curator.service import Curator
    from curator.settings import Settings
    from tests.cli.helpers import alpaca, write_jsonl

    data = tmp_path / "data"
    policy = tmp_path / "policy.json"
    policy.write_text('{"checks": {"semantic": {"enabled": false}}}')
    assert cli("collections", "create", "c", "--policy", policy, "--data-dir", data).exit_code == 0
    records = write_jsonl(tmp_path / "in.jsonl", [alpaca(f"r{i}", i) for i in range(3)])
    assert (
        cli("filter", records, "-c", "c", "--decisions", tmp_path / "d.jsonl", "--data-dir", data).exit_code
        == 0
    )
    before = Curator(Settings.load(data_dir=data))
    try:
        before.stats(StatsQuery(collection="c"))  # loads the collection
        assert ("c", "semantic") not in before.index_sizes()
    finally:
        before.close()
    result = cli("collections", "update", "c", "--enable", "semantic", "--data-dir", data)
    assert result.exit_code == 0, result.output
    assert "semantic.enabled: false -> true" in result.output
    after = Curator(Settings.load(data_dir=data))
    try:
        after.stats(StatsQuery(collection="c"))
        assert after.index_sizes()[("c", "semantic")] == 3
    finally:
        after.close()
