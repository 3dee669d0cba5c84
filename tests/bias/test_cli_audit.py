"""``curator audit``: JSON and HTML over samples, a decisions file, or a collection's decision log;
and the bias annotations in ``curator filter`` decision lines."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from curator.cli.main import app
from curator.domain.validation import SampleInput
from curator.service import Curator
from curator.settings import Settings
from tests.bias.helpers import bias_pipeline_checks

FIXTURE = Path(__file__).parent / "fixtures" / "collection.jsonl"
# 8 of the 20 samples mentioning immigrants are dropped (all 8 drops of the fixture's dehumanising
# lines), against 19.5% overall: 40%, whose 95% lower bound (21.9%) is under the default 1.5x (29.3%)
# but over the 1.1x these tests run with.
FLAGS = [
    "characteristics: drop rate 40.0% (95% lower bound 21.9%) is 2.0x the overall 19.5%"
    " (8 of 20 samples dropped)",
    "immigration_status (characteristics): drop rate 40.0% (95% lower bound 21.9%) is 2.0x the overall 19.5%"
    " (8 of 20 samples dropped)",
]
ENV = {"COLUMNS": "200", "CURATOR_CONFIG": None, "CURATOR_BIAS__DROP_FACTOR": "1.1"}


def cli(*args: object, env: dict[str, str | None] = ENV) -> Result:
    runner = CliRunner(env=env)
    return runner.invoke(app, [str(a) for a in args])


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_audit_of_samples_writes_json_html_and_decisions(tmp_path: Path) -> None:
    out, html, decisions = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "d.jsonl"
    result = cli("audit", FIXTURE, "--out", out, "--html", html, "--decisions", decisions)
    assert result.exit_code == 0, result.output
    assert "line 42: not valid JSON" in result.stderr
    assert "read 42 records (1 invalid)" in result.stderr
    report = orjson.loads(out.read_bytes())
    assert report["totals"] == {"keep": 32, "drop": 8, "review": 1, "total": 41}
    assert report["source"] == "records file collection.jsonl"
    assert report["flags"] == FLAGS
    assert [(s["group"], s["trait"]) for s in report["stereotypes"]] == [("gender/female", "too emotional")]
    assert report["toxic"] == [
        {
            "category": "dehumanising",
            "target": "characteristics/immigration_status",
            "counts": {"keep": 0, "drop": 8, "review": 0, "total": 8},
        }
    ]
    page = html.read_text()
    assert "<svg" in page and "immigration_status (characteristics): drop rate 40.0%" in page
    assert "How identity mentions were found" in page
    assert (
        "identity axes (mentions; drop rate; kept samples by how their mentions were found):" in result.stderr
    )
    assert "disproportionate drops:" in result.stderr
    by_id = {d["id"]: d for d in lines(decisions)}
    assert len(by_id) == 41
    assert by_id["m10"]["verdict"] == "drop" and by_id["m10"]["reasons"][0]["code"] == "TOXIC_LANGUAGE"
    assert by_id["w1"]["verdict"] == "review"


def test_audit_prints_json_without_out_and_wants_one_source(tmp_path: Path) -> None:
    result = cli("audit", FIXTURE)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["flags"] == FLAGS
    defaults = cli("audit", FIXTURE, env={**ENV, "CURATOR_BIAS__DROP_FACTOR": None})
    assert defaults.exit_code == 0, defaults.output
    report = orjson.loads(defaults.stdout)
    assert (report["flags"], report["drop_factor"], report["min_drops"]) == ([], 1.5, 5)
    assert "no axis or group is dropped disproportionately" in defaults.stderr
    assert cli("audit").exit_code == 2
    assert cli("audit", FIXTURE, "--collection", "c").exit_code == 2


def test_filter_lines_carry_annotations_and_audits_of_file_and_log_agree(tmp_path: Path) -> None:
    data, decisions = tmp_path / "data", tmp_path / "d.jsonl"
    result = cli("filter", FIXTURE, "--decisions", decisions, "--data-dir", data)
    assert result.exit_code == 0, result.output
    by_id = {d["id"]: d for d in lines(decisions)}
    text = "Write a welcome guide for refugees arriving in a new city, covering housing and schools."
    start = text.index("refugees")
    confidence = by_id["m0"]["annotations"][0].pop("confidence")
    assert re.fullmatch(r"[01]\.\d\d", confidence)  # how sure the lexicon is of the term: the detector's
    assert by_id["m0"]["annotations"] == [
        {
            "check": "bias",
            "kind": "identity_mention",
            "axis": "characteristics",
            "group": "immigration_status",
            "term": "refugee",
            "method": "lexicon",
            "span": [start, start + len("refugees")],
        },
        {
            "check": "bias",
            "kind": "identity_evidence",
            "axis": "characteristics",
            "method": "lexicon",
            "count": "1",
        },
    ]
    assert by_id["m0"]["verdict"] == "keep" and by_id["m10"]["verdict"] == "drop"
    from_file, from_log = tmp_path / "file.json", tmp_path / "log.json"
    assert cli("audit", decisions, "--out", from_file).exit_code == 0
    result = cli("audit", "--collection", "default", "--data-dir", data, "--out", from_log)
    assert result.exit_code == 0, result.output
    file_report, log_report = orjson.loads(from_file.read_bytes()), orjson.loads(from_log.read_bytes())
    assert file_report["source"] == "decisions file d.jsonl" and log_report["source"] == "collection default"
    for report in (file_report, log_report):
        assert report["totals"] == {"keep": 32, "drop": 8, "review": 1, "total": 41}
        assert report["flags"] == FLAGS
    assert {k: v for k, v in file_report.items() if k != "source"} == {
        k: v for k, v in log_report.items() if k != "source"
    }


def test_audit_of_a_collection_in_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    curator = Curator(Settings.load(data_dir=data), checks=bias_pipeline_checks())
    try:
        curator.create_collection("c")
        curator.filter(
            "c",
            [
                SampleInput(id="1", text="Two Sikh brothers opened a bakery."),
                SampleInput(id="2", text="Muslims are terrorists, the troll wrote."),
            ],
        )
    finally:
        curator.close()
    out = tmp_path / "r.json"
    result = cli(
        "audit", "--collection", "c", "--data-dir", data, "--out", out, "--html", tmp_path / "r.html"
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(out.read_bytes())
    assert report["totals"] == {"keep": 1, "drop": 0, "review": 1, "total": 2}
    assert [(s["group"], s["trait"]) for s in report["stereotypes"]] == [("religion/muslim", "terrorists")]
    assert report["pronouns"]["he"] == 0 and report["gender_terms"][0]["category"] == "noun"
    assert cli("audit", "--collection", "nope", "--data-dir", data).exit_code == 1


@pytest.mark.parametrize("verdict", ["maybe", None])
def test_a_bad_decision_line_is_reported_and_skipped(tmp_path: Path, verdict: str | None) -> None:
    src = tmp_path / "d.jsonl"
    good = {
        "id": "a",
        "verdict": "keep",
        "annotations": [
            {"check": "bias", "kind": "identity_mention", "axis": "religion", "group": "sikh", "span": [0, 4]}
        ],
    }
    src.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps({"id": "b", "verdict": verdict}) + b"\n")
    result = cli("audit", src)
    assert result.exit_code == 0, result.output
    assert f"line 2: verdict: expected keep, drop or review, got {verdict!r}" in result.stderr
    report = orjson.loads(result.stdout)
    assert report["totals"]["total"] == 1
    religion = next(a for a in report["axes"] if a["axis"] == "religion")
    assert religion["counts"] == {"keep": 1, "drop": 0, "review": 0, "total": 1}


def test_audit_reads_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "s.parquet"
    table = pa.table(
        {"id": ["a", "b"], "text": ["Sikh and Hindu neighbours met.", "Women are too emotional."]}
    )
    pq.write_table(table, src)
    result = cli("audit", src)
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["totals"] == {"keep": 1, "drop": 0, "review": 1, "total": 2}
    religion = next(a for a in report["axes"] if a["axis"] == "religion")
    assert {g["group"]: g["counts"]["keep"] for g in religion["groups"] if g["counts"]["total"]} == {
        "hindu": 1,
        "sikh": 1,
    }
