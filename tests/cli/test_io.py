"""Reading records (JSONL, JSON array, Parquet), turning them into samples, and the decision line format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.cli.io import InputError, JsonlWriter, count_lines, decision_json, open_input, to_sample_input
from curator.cli.render import bar, parse_duration, parse_when
from curator.domain.decision import Action, Decision, Reason, Verdict
from curator.domain.reasons import ReasonCode
from curator.domain.validation import SampleInput

# ---------------------------------------------------------------- record -> sample


def test_alpaca_record_with_extra_fields_goes_to_metadata() -> None:
    sample, problems = to_sample_input(
        {
            "id": "a1",
            "instruction": "Add.",
            "input": "1 + 1",
            "output": "2",
            "generator": "gpt-x",
            "temperature": 0.7,
            "tags": ["math", "easy"],
            "reviewed": False,
            "note": None,
        },
        line=3,
    )
    assert problems == []
    assert sample == SampleInput(
        id="a1",
        instruction="Add.",
        input="1 + 1",
        output="2",
        metadata={
            "generator": "gpt-x",
            "temperature": "0.7",
            "tags": '["math","easy"]',
            "reviewed": "false",
            "note": "null",
        },
    )


def test_chat_record() -> None:
    sample, problems = to_sample_input(
        {
            "id": "c1",
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        },
        line=1,
    )
    assert problems == []
    assert sample == SampleInput(id="c1", messages=[("user", "hi"), ("assistant", "hello")])


def test_text_record_without_id_gets_its_line_number() -> None:
    sample, problems = to_sample_input(
        {"text": "a document", "context": ["source one", "source two"]}, line=17
    )
    assert problems == []
    assert sample == SampleInput(id="line-17", text="a document", context=("source one", "source two"))


def test_integer_id_a_single_context_string_and_a_metadata_object() -> None:
    sample, problems = to_sample_input(
        {
            "id": 42,
            "text": "t",
            "context": "one source",
            "metadata": {"generator": "g", "run": 3},
            "lang": "en",
        },
        line=1,
    )
    assert problems == []
    assert sample == SampleInput(
        id="42", text="t", context=("one source",), metadata={"lang": "en", "generator": "g", "run": "3"}
    )


def test_null_content_fields_count_as_absent() -> None:
    sample, problems = to_sample_input({"id": "x", "text": "t", "instruction": None}, line=1)
    assert problems == []
    assert sample is not None and sample.instruction is None and sample.text == "t"


def test_wrongly_typed_fields_are_all_reported() -> None:
    sample, problems = to_sample_input(
        {"id": ["x"], "text": 5, "messages": [{"role": "user"}, "hi"], "context": [1]}, line=1
    )
    assert sample is None
    assert problems == [
        "id: must be a string or an integer, got an array",
        "text: must be a string, got a number",
        "messages[0]: must be an object with string role and content",
        "messages[1]: must be an object with string role and content",
        "context: must be a list of strings",
    ]


# ---------------------------------------------------------------- readers


def test_jsonl_records_keep_their_line_numbers_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n\n{"id": "b",\n[1, 2]\r\n{"id": "c", "text": "y"}')
    source = open_input(path)
    assert source.total == 5
    records = list(source.records)
    assert [(r.line, r.raw) for r in records] == [
        (1, b'{"id": "a", "text": "x"}'),
        (3, b'{"id": "b",'),
        (4, b"[1, 2]"),
        (5, b'{"id": "c", "text": "y"}'),
    ]
    assert records[0].data == {"id": "a", "text": "x"} and records[0].problem is None
    assert (
        records[1].data is None
        and records[1].problem == "not valid JSON (unexpected end of data at column 12)"
    )
    assert records[2].problem == "expected a JSON object, got an array"
    assert records[3].data == {"id": "c", "text": "y"}


def test_a_json_file_holding_an_array_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(' [{"instruction": "i", "input": "", "output": "o"}, "oops", {"text": "t"}]')
    source = open_input(path)
    assert source.total == 3 and source.kind == "json"
    records = list(source.records)
    assert [r.line for r in records] == [1, 2, 3]
    assert records[0].raw == b'{"instruction":"i","input":"","output":"o"}'
    assert records[1].problem == "expected a JSON object, got a string"


def test_a_json_file_of_lines_is_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"text": "a"}\n{"text": "b"}\n')
    source = open_input(path)
    assert source.kind == "jsonl"
    assert [r.data for r in source.records] == [{"text": "a"}, {"text": "b"}]


def test_a_broken_json_array_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('[{"text": "a"},')
    with pytest.raises(InputError, match="not a valid JSON array"):
        open_input(path)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_input(tmp_path / "nope.jsonl")


def test_parquet_rows_become_records(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.Table.from_pylist(
        [
            {"id": "p1", "text": "doc", "messages": None, "generator": "g1"},
            {"id": None, "text": None, "messages": [{"role": "user", "content": "q"}], "generator": "g2"},
        ]
    )
    pq.write_table(table, path)
    source = open_input(path)
    assert source.total == 2 and source.kind == "parquet"
    records = list(source.records)
    assert [r.line for r in records] == [1, 2]
    assert orjson.loads(records[0].raw) == {"id": "p1", "text": "doc", "messages": None, "generator": "g1"}
    first, _ = to_sample_input(records[0].data or {}, records[0].line)
    second, _ = to_sample_input(records[1].data or {}, records[1].line)
    assert first == SampleInput(id="p1", text="doc", metadata={"generator": "g1"})
    assert second == SampleInput(id="line-2", messages=[("user", "q")], metadata={"generator": "g2"})


_NO_CONTENT = "no content column; expected text, instruction (+input, output) or messages; found: "


def test_parquet_without_a_content_column_is_one_input_error(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    rows = [{"id": f"r{i}", "prompt": "q", "completion": "a"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(InputError) as err:
        open_input(path, require_content=True)
    assert str(err.value) == f"{path}: {_NO_CONTENT}id, prompt, completion"
    # Other readers (the bias audit reads decision files too) still get the rows.
    assert len(list(open_input(path).records)) == 3


@pytest.mark.parametrize("column", ["text", "instruction", "input", "output", "messages"])
def test_any_content_column_will_do(tmp_path: Path, column: str) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "a", column: None}]), path)
    assert open_input(path, require_content=True).total == 1


def test_a_json_array_without_a_content_field_is_one_input_error(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps([{"prompt": "q"}, 3, {"prompt": "r", "answer": "a"}]))
    with pytest.raises(InputError) as err:
        open_input(path, require_content=True)
    assert str(err.value) == f"{path}: {_NO_CONTENT}prompt, answer"


def test_a_json_array_with_some_content_or_no_objects_is_read_record_by_record(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps([{"prompt": "q"}, {"text": "t"}]))
    assert [r.data for r in open_input(path, require_content=True).records] == [
        {"prompt": "q"},
        {"text": "t"},
    ]
    path.write_bytes(b"[1, 2]")  # every element is reported on its own
    assert [r.problem for r in open_input(path, require_content=True).records] == [
        "expected a JSON object, got a number"
    ] * 2
    path.write_bytes(b"[]")
    assert open_input(path, require_content=True).total == 0


def test_a_long_column_list_is_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{f"c{i}": i for i in range(30)}]), path)
    with pytest.raises(InputError, match=r"found: c0, c1, .*, c19 and 10 more$"):
        open_input(path, require_content=True)


def test_count_lines_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a\nb\nc")
    assert count_lines(path) == 3
    path.write_bytes(b"a\nb\n")
    assert count_lines(path) == 2
    path.write_bytes(b"")
    assert count_lines(path) == 0


# ---------------------------------------------------------------- writing


def test_decision_line_format(tmp_path: Path) -> None:
    decision = Decision(
        "s2",
        Verdict.DROP,
        [
            Reason(
                ReasonCode.NEAR_DUPLICATE,
                "near_duplicate",
                "near-duplicate of s1",
                0.9,
                0.8,
                Action.DROP,
                "s1",
            )
        ],
        {"near_duplicate": 0.9, "empty": 0.0},
        3,
    )
    path = tmp_path / "d.jsonl"
    with JsonlWriter(path) as out:
        out.write(decision_json(decision))
    assert path.read_bytes() == (
        b'{"id":"s2","verdict":"drop","reasons":[{"code":"NEAR_DUPLICATE","check":"near_duplicate",'
        b'"message":"near-duplicate of s1","score":0.9,"threshold":0.8,"matched_id":"s1","action":"drop"}],'
        b'"scores":{"empty":0.0,"near_duplicate":0.9},"policy_version":3}\n'
    )


# ---------------------------------------------------------------- arguments and rendering


def test_durations_and_times() -> None:
    now = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("24h") == timedelta(days=1)
    assert parse_duration("7d") == timedelta(weeks=1)
    assert parse_duration("1.5m") == timedelta(seconds=90)
    assert parse_when("24h", now) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_when("2024-05-01T10:00:00", now) == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_when("2024-05-01T12:00:00+02:00", now) == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="neither a duration"):
        parse_when("yesterday", now)


def test_bar_resolves_eighths_of_a_cell() -> None:
    assert bar(0.0, 4) == "    "
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 32, 4) == "▏   "
    assert bar(2.0, 2) == "██"


def test_jsonl_writer_flushes_while_lines_keep_coming(tmp_path: Path) -> None:
    """A slow run's decisions file grows as it goes (so `tail -f` works), not only at close."""
    path = tmp_path / "d.jsonl"
    writer = JsonlWriter(path, flush_seconds=0.0)
    writer.write({"id": "a"})
    assert path.read_bytes() == b'{"id":"a"}\n'
    lazy = JsonlWriter(tmp_path / "lazy.jsonl", flush_seconds=3600)
    lazy.write({"id": "a"})
    assert (tmp_path / "lazy.jsonl").read_bytes() == b""
    lazy.close()
    writer.close()
    assert (tmp_path / "lazy.jsonl").read_bytes() == b'{"id":"a"}\n'
