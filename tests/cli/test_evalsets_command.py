"""``curator evalsets add/list/remove/rescan``, in-process and against a server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import Result

from curator.api.server import RunningServer
from curator.cli.main import _with_lines
from curator.domain.evalset import EvalItem
from curator.errors import FieldViolation, InvalidArgument
from curator.service import Curator
from curator.settings import Settings
from tests.cli.helpers import write_jsonl

Cli = Callable[..., Result]

QUESTION = (
    "A farmer has seventeen sheep and all but nine run away through a hole in the fence; "
    "how many sheep does the farmer have left at the end of the day?"
)
ANSWER = "Nine sheep are left, since all but nine of the seventeen ran away through the fence."
CHAT_Q = "What is the boiling point of water at sea level measured in degrees Celsius on a normal day?"


@pytest.fixture(params=["in-process", "server"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "in-process":
        return ("--data-dir", str(tmp_path / "data"))
    server: RunningServer = request.getfixturevalue("server")
    return ("--server", f"127.0.0.1:{server.port}")


@contextmanager
def _curator(where: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[Curator]:
    """The Curator the commands ran on, to look inside."""
    if where[0] == "--server":
        yield request.getfixturevalue("server").curator
        return
    curator = Curator(Settings.load(data_dir=Path(where[1])))
    try:
        yield curator
    finally:
        curator.close()


def _rows(stdout: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("│ ").split("│")]
        for line in stdout.splitlines()
        if line.startswith("│")
    ]


def _gold(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"id": "q1", "instruction": QUESTION, "input": "", "output": ANSWER, "subject": "logic"},
            "{not json",
            {"text": "The capital of Australia is Canberra, not Sydney, though many people guess Sydney."},
            {
                "id": 4,
                "messages": [{"role": "user", "content": CHAT_Q}, {"role": "assistant", "content": "100."}],
            },
            {"id": "no-content", "subject": "empty"},
            {"id": "q1", "text": "A second record under an id already used."},
        ],
    )


def test_add_list_remove(
    cli: Cli, tmp_path: Path, where: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    added = cli("evalsets", "add", "gold", _gold(tmp_path), *where)
    assert added.exit_code == 0, added.output
    assert added.stdout == "added eval set gold: 3 items (3 bad lines skipped)\n"
    assert "line 2: not valid JSON" in added.stderr
    assert "line 5: content: no content" in added.stderr
    assert "line 6: duplicate id 'q1' (first seen on line 1): ids must be unique" in added.stderr
    with _curator(where, request) as curator:
        assert curator.store.evalset_items("gold") == [
            EvalItem("q1", f"{QUESTION}\n{ANSWER}"),
            EvalItem(
                "3", "The capital of Australia is Canberra, not Sydney, though many people guess Sydney."
            ),
            EvalItem("4", f"{CHAT_Q}\n100."),
        ]

    other = write_jsonl(tmp_path / "arc.jsonl", [{"text": "Which gas do green plants take in from the air?"}])
    assert cli("evalsets", "add", "arc", other, "--source", "ai2_arc@v1", *where).exit_code == 0
    listed = cli("evalsets", "list", *where)
    assert listed.exit_code == 0, listed.output
    assert [[r[0], r[1], r[3]] for r in _rows(listed.stdout)] == [
        ["arc", "1", "ai2_arc@v1"],
        ["gold", "3", "gold.jsonl"],
    ]

    again = cli("evalsets", "add", "gold", other, *where)
    assert again.exit_code == 1 and "remove it first" in again.stderr
    removed = cli("evalsets", "remove", "gold", *where)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout == "removed eval set gold (3 items)\n"
    assert [r[0] for r in _rows(cli("evalsets", "list", *where).stdout)] == ["arc"]
    missing = cli("evalsets", "remove", "gold", *where)
    assert missing.exit_code == 1 and "gold" in missing.stderr


def test_bad_input_is_refused(cli: Cli, tmp_path: Path, where: tuple[str, str]) -> None:
    only_bad = write_jsonl(tmp_path / "bad.jsonl", ["{not json", {"id": "x"}])
    refused = cli("evalsets", "add", "gold", only_bad, *where)
    assert refused.exit_code == 1
    assert "error: no valid record in" in refused.stderr and "nothing was added" in refused.stderr
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    assert "holds no records" in cli("evalsets", "add", "gold", empty, *where).stderr
    bad_name = cli("evalsets", "add", "Bad Name", _gold(tmp_path), *where)
    assert bad_name.exit_code == 1
    assert "error: invalid argument" in bad_name.stderr and "  name: eval set names are" in bad_name.stderr
    assert "no such file" in cli("evalsets", "add", "gold", tmp_path / "nope.jsonl", *where).stderr
    assert _rows(cli("evalsets", "list", *where).stdout) == []


def test_parquet_and_json_array_inputs(cli: Cli, tmp_path: Path, where: tuple[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a", None], "text": [QUESTION, CHAT_Q]}), tmp_path / "gold.parquet")
    added = cli("evalsets", "add", "from-parquet", tmp_path / "gold.parquet", *where)
    assert added.exit_code == 0, added.output
    array = tmp_path / "gold.json"
    array.write_text(json.dumps([{"text": QUESTION}, {"id": "b", "output": ANSWER}]))
    assert cli("evalsets", "add", "from-array", array, *where).exit_code == 0
    stdin = cli("evalsets", "add", "from-stdin", "-", *where, input=json.dumps({"text": QUESTION}) + "\n")
    assert stdin.exit_code == 0, stdin.output
    assert [[r[0], r[1], r[3]] for r in _rows(cli("evalsets", "list", *where).stdout)] == [
        ["from-array", "2", "gold.json"],
        ["from-parquet", "2", "gold.parquet"],
        ["from-stdin", "1", "stdin"],
    ]


def test_violations_the_service_finds_name_the_line_of_the_item() -> None:
    err = InvalidArgument(
        [
            FieldViolation("name", "bad name"),
            FieldViolation("items[1].text", "too long"),
            FieldViolation("items[9]", "x"),
        ]
    )
    assert _with_lines(err, [3, 7]).violations == [
        FieldViolation("name", "bad name"),
        FieldViolation("line 7 (items[1].text)", "too long"),
        FieldViolation("items[9]", "x"),
    ]


def test_rescan_reports_what_was_kept_before_the_set_existed(
    cli: Cli, tmp_path: Path, where: tuple[str, str]
) -> None:
    training = write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "leaky", "text": f"Here is a riddle for you. {QUESTION} Think before you answer."},
            {
                "id": "clean",
                "text": "Rust is a systems language that offers memory safety without a collector.",
            },
        ],
    )
    filtered = cli("filter", training, "--decisions", tmp_path / "d.jsonl", "-c", "train", *where)
    assert filtered.exit_code == 0, filtered.output
    assert cli("evalsets", "add", "gold", _gold(tmp_path), *where).exit_code == 0

    as_json = cli("evalsets", "rescan", "--json", *where)
    assert as_json.exit_code == 0, as_json.output
    [finding] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {k: finding[k] for k in ("collection", "sample_id", "code", "eval_set", "item_id")} == {
        "collection": "train",
        "sample_id": "leaky",
        "code": "EVAL_CONTAMINATION",
        "eval_set": "gold",
        "item_id": "q1",
    }
    assert finding["score"] > 0 and finding["detail"]
    assert "1 finding in 1 kept sample (every collection against every eval set)" in as_json.stderr

    table = cli("evalsets", "rescan", "-c", "train", "--eval-set", "gold", *where)
    assert table.exit_code == 0, table.output
    [row] = _rows(table.stdout)
    assert row[:5] == ["train", "leaky", "EVAL_CONTAMINATION", "gold", "q1"]
    assert "(collection train against eval set gold)" in table.stderr

    missing = cli("evalsets", "rescan", "--eval-set", "nope", *where)
    assert missing.exit_code == 1 and "nope" in missing.stderr
