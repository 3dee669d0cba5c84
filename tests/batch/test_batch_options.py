"""`curator filter` options for the engines: mistakes are named before anything runs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from curator.cli.main import app


def _invoke(*args: object) -> tuple[int, str]:
    runner = CliRunner(env={"COLUMNS": "200", "CURATOR_CONFIG": None, "CURATOR_SERVER_ADDRESS": None})
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_each_engine_names_what_it_needs(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "hello there, a sample"}\n')
    code, out = _invoke("filter", data, "--engine", "ray", "--data-dir", tmp_path / "d")
    assert code == 2 and "--output-dir" in out
    code, out = _invoke(
        "filter", data, data, "--decisions", tmp_path / "o.jsonl", "--data-dir", tmp_path / "d"
    )
    assert code == 2 and "--engine ray reads several" in out
    code, out = _invoke("filter", data, "--data-dir", tmp_path / "d")
    assert code == 2 and "--decisions" in out
    code, out = _invoke("filter", data, "--engine", "spark", "--output-dir", tmp_path / "o")
    assert code == 2 and "choose local or ray" in out
