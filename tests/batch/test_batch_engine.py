"""`curator filter --engine ray` on a real Ray runtime: the local engine's decisions, sample for sample.

The corpus is real text (the example Alpaca records) with perturbed copies (near and semantic
duplicates) and exact copies spread across three shards, bad records among them, and a collection
that already kept some originals. The local engine reads the shards concatenated, in the same order,
against a copy of the same collection. Nothing asserts a duration.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curator.batch import engine
from curator.batch.engine import BatchJob, run_batch
from curator.cli.main import app
from curator.errors import Unavailable
from curator.service import Curator
from curator.settings import Settings
from curator.state.store import DecisionQuery, StatsQuery

ray = pytest.importorskip("ray")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "alpaca_sample.jsonl"
CHEAP = {"checks": {"semantic": {"enabled": False}}}
ALL: dict[str, Any] = {}


@pytest.fixture(scope="module")
def runtime() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _records() -> list[dict[str, Any]]:
    out = []
    for line in EXAMPLES.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if re.fullmatch(r"a\d+", record.get("id", "")):
            out.append(record)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Shards (with bad records and a duplicate id across shards), their concatenation, and the seed."""
    from benchmarks.perturb import operators, perturb_record, vocabulary_from

    base = tmp_path_factory.mktemp("corpus")
    records = _records()
    rng = random.Random(7)
    ops = operators(vocabulary_from(r["output"] for r in records))
    seed = [{**r, "id": f"seed{k}"} for k, r in enumerate(records[:10])]
    rows: list[dict[str, Any] | str] = [{**r, "id": f"o{k}"} for k, r in enumerate(records)]
    for k, r in enumerate(records * 2):
        copy, _ = perturb_record(r, rng, rng.randint(1, 4), ops)
        rows.append({**copy, "id": f"p{k}"})
    rows += [
        {**r, "id": f"x{k}", "instruction": r["instruction"].upper()} for k, r in enumerate(records[:12])
    ]
    rng.shuffle(rows)
    rows.insert(7, "{not json")
    rows.insert(40, {"id": "empty"})
    rows.insert(90, {"id": "o3", "text": "a second record under an id used in the first shard"})
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    shards = base / "shards"
    shards.mkdir()
    third = len(lines) // 3
    parts = [lines[:third], lines[third : 2 * third], lines[2 * third :]]
    for s, part in enumerate(parts):
        (shards / f"part-{s}.jsonl").write_text("".join(x + "\n" for x in part))
    whole = base / "all.jsonl"
    whole.write_text("".join(x + "\n" for x in lines))
    seed_file = base / "seed.jsonl"
    seed_file.write_text("".join(json.dumps(r) + "\n" for r in seed))
    return {"shards": shards, "whole": whole, "seed": seed_file, "n": len(lines)}


def _seeded(tmp: Path, corpus: dict[str, Any], policy: dict[str, Any]) -> Path:
    """A data directory whose collection "c" already kept the seed records."""
    data = tmp / "data"
    curator = Curator(Settings.load(data_dir=data, default_policy=policy))
    try:
        curator.create_collection("c")
        samples = [json.loads(line) for line in corpus["seed"].read_text().splitlines()]
        from curator.cli.io import to_sample_input

        inputs = [to_sample_input(s, k + 1)[0] for k, s in enumerate(samples)]
        curator.filter("c", [s for s in inputs if s is not None])
    finally:
        curator.close()
    return data


def _local(data: Path, whole: Path, policy: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    config = out / "config.toml"
    config.write_text(_toml(policy))
    runner = CliRunner(env={"COLUMNS": "200", "CURATOR_CONFIG": None, "CURATOR_SERVER_ADDRESS": None})
    result = runner.invoke(
        app,
        ["filter", str(whole), "--decisions", str(out / "local.jsonl"), "--data-dir", str(data),
         "--collection", "c", "--config", str(config), "--kept", str(out / "kept.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in (out / "local.jsonl").read_text().splitlines()]


def _toml(policy: dict[str, Any]) -> str:
    if not policy:
        return ""
    return "[default_policy.checks.semantic]\nenabled = false\n"


def _ray_decisions(out: Path) -> list[dict[str, Any]]:
    parts = sorted((out / "decisions").glob("*.jsonl"))
    return [json.loads(x) for p in parts for x in p.read_text().splitlines()]


def _run(data: Path, corpus: dict[str, Any], policy: dict[str, Any], out: Path, **job: Any) -> Any:
    curator = Curator(Settings.load(data_dir=data, default_policy=policy))
    try:
        reported: list[str] = []
        job_ = BatchJob(inputs=[corpus["shards"]], output_dir=out, collection="c", **job)
        summary = run_batch(job_, curator, reported.append)
        return summary, reported
    finally:
        curator.close()


def _same(local: list[dict[str, Any]], remote: list[dict[str, Any]]) -> None:
    """Identical but for semantic similarity, whose float32 embeddings differ in the 7th digit with the
    batch a text was embedded in (the local engine's own scores move as much with --batch-size)."""
    assert [d["id"] for d in remote] == [d["id"] for d in local]
    for a, b in zip(local, remote, strict=True):
        assert a["verdict"] == b["verdict"], (a, b)
        for key in ("code", "check", "matched_id", "action", "threshold"):
            assert [r[key] for r in a["reasons"]] == [r[key] for r in b["reasons"]], (a, b)
        assert a["scores"].keys() == b["scores"].keys()
        for name, value in a["scores"].items():
            assert b["scores"][name] == pytest.approx(value, abs=1e-5), (name, a, b)
        assert a.get("annotations") == b.get("annotations")


@pytest.mark.parametrize("policy", [CHEAP, ALL], ids=["cheap checks", "all checks"])
def test_ray_decides_as_the_local_engine(
    runtime: None, corpus: dict[str, Any], tmp_path: Path, policy: dict[str, Any]
) -> None:
    data = _seeded(tmp_path / "local", corpus, policy)
    other = tmp_path / "ray-data"
    shutil.copytree(data, other)
    local = _local(data, corpus["whole"], policy, tmp_path / "local")
    summary, reported = _run(other, corpus, policy, tmp_path / "out", piece_records=40)
    remote = _ray_decisions(tmp_path / "out")
    codes = {r["code"] for d in local for r in d["reasons"]}
    assert {"EXACT_DUPLICATE", "NEAR_DUPLICATE"} <= codes  # the corpus exercises what it claims to
    assert any(r["matched_id"].startswith("seed") for d in local for r in d["reasons"])  # and the seed
    if policy is CHEAP:  # no float32 model in the way: the files are identical, byte for byte
        concatenated = b"".join(p.read_bytes() for p in sorted((tmp_path / "out" / "decisions").glob("*")))
        assert concatenated == (tmp_path / "local" / "local.jsonl").read_bytes()
    else:
        assert "SEMANTIC_DUPLICATE" in codes
        _same(local, remote)
    kept = b"".join(p.read_bytes() for p in sorted((tmp_path / "out" / "kept").glob("*")))
    assert kept == (tmp_path / "local" / "kept.jsonl").read_bytes()
    assert summary.read == corpus["n"] and summary.invalid == 3
    assert any(re.search(r"part-0\.jsonl line 8: not valid JSON", x) for x in reported), reported
    assert any("duplicate id 'o3' (first seen in" in x for x in reported), reported
    # Both collections now hold the same samples and the same log.
    for d in (data, other):
        curator = Curator(Settings.load(data_dir=d, default_policy=policy))
        try:
            stats = curator.stats(StatsQuery(collection="c")).totals
            assert (stats.keep, stats.drop, stats.review) == (
                10 + summary.kept,
                summary.dropped,
                summary.review,
            )
        finally:
            curator.close()


def test_a_rerun_admits_and_logs_nothing_again(runtime: None, corpus: dict[str, Any], tmp_path: Path) -> None:
    data = _seeded(tmp_path, corpus, CHEAP)
    first, _ = _run(data, corpus, CHEAP, tmp_path / "first")
    again, _ = _run(data, corpus, CHEAP, tmp_path / "again")
    assert again.admitted == 0 and (again.kept, again.dropped, again.review) == (
        first.kept,
        first.dropped,
        first.review,
    )
    again_lines = _ray_decisions(tmp_path / "again")
    flags = {r["code"] for d in again_lines for r in d["reasons"] if r["action"] == "flag"}
    assert flags <= {"ALREADY_KEPT", "ALREADY_DECIDED"} and flags
    curator = Curator(Settings.load(data_dir=data, default_policy=CHEAP))
    try:
        logged = curator.store.list_decisions(DecisionQuery(collection="c", limit=1000))
        assert len(logged) == 10 + first.kept + first.dropped + first.review  # nothing logged twice
    finally:
        curator.close()


def test_admission_cut_short_resumes_with_the_same_result(
    runtime: None, corpus: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference_dir = _seeded(tmp_path / "ref", corpus, CHEAP)
    data = tmp_path / "data"
    shutil.copytree(reference_dir, data)
    reference, _ = _run(reference_dir, corpus, CHEAP, tmp_path / "ref-out")
    monkeypatch.setattr(engine, "ADMIT_CHUNK", 25)
    real = Curator.batch_commit
    calls = {"n": 0}

    def failing(self: Curator, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Unavailable("the store went away")
        real(self, *args)

    monkeypatch.setattr(Curator, "batch_commit", failing)
    with pytest.raises(Unavailable):
        _run(data, corpus, CHEAP, tmp_path / "out")
    monkeypatch.setattr(Curator, "batch_commit", real)
    resumed, _ = _run(data, corpus, CHEAP, tmp_path / "out")
    assert resumed.pieces_resumed == resumed.pieces
    assert _ray_decisions(tmp_path / "out") == _ray_decisions(tmp_path / "ref-out")
    for d, kept in ((reference_dir, reference.kept), (data, resumed.kept)):
        curator = Curator(Settings.load(data_dir=d, default_policy=CHEAP))
        try:
            assert curator.get_collection("c").kept_count == 10 + kept
            logged = curator.store.list_decisions(DecisionQuery(collection="c", limit=1000))
            assert len(logged) == len({r.decision.sample_id for r in logged})  # nothing logged twice
        finally:
            curator.close()


def _actor_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "_MeasureActor" in line]


def test_a_worker_killed_mid_job_changes_nothing(
    runtime: None, corpus: dict[str, Any], tmp_path: Path
) -> None:
    reference_dir = _seeded(tmp_path / "ref", corpus, ALL)
    data = tmp_path / "data"
    shutil.copytree(reference_dir, data)
    _run(reference_dir, corpus, ALL, tmp_path / "ref-out", piece_records=40)
    killed: list[int] = []

    def killer() -> None:
        for _ in range(600):  # bounded: until an actor is measuring
            pids = _actor_pids()
            if pids and list((tmp_path / "out" / "_work").glob("*.measured.pkl")):
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    _run(data, corpus, ALL, tmp_path / "out", piece_records=10)
    thread.join()
    assert killed, "no measuring actor was seen to kill"
    _same(_ray_decisions(tmp_path / "ref-out"), _ray_decisions(tmp_path / "out"))


def test_a_killed_job_restarts_skipping_finished_pieces(
    runtime: None, corpus: dict[str, Any], tmp_path: Path
) -> None:
    """The driver itself is killed (SIGKILL) after some pieces were measured; the same command with the
    same output directory skips them and ends with the same decisions as an uninterrupted job."""
    data = _seeded(tmp_path / "job", corpus, ALL)
    command = [
        sys.executable,
        "-m",
        "curator.cli.main",
        "filter",
        str(corpus["shards"]),
        "--engine",
        "ray",
        "--output-dir",
        str(tmp_path / "out"),
        "--data-dir",
        str(data),
        "--collection",
        "c",
        "--ray-address",
        ray.get_runtime_context().gcs_address,
        "--piece-records",
        "10",
    ]  # fmt: skip  (the job connects to the tests' cluster, as to one started with `ray start --head`)
    env = {k: v for k, v in os.environ.items() if k not in ("CURATOR_CONFIG", "CURATOR_SERVER_ADDRESS")}
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    work = tmp_path / "out" / "_work"
    for _ in range(1200):  # bounded: until two pieces are done
        if len(list(work.glob("*.measured.pkl"))) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    done = len(list(work.glob("*.measured.pkl")))
    assert 2 <= done < 17, "the job was not cut short in its measuring step"
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["pieces_resumed"] == done
    reference = _seeded(tmp_path / "ref", corpus, ALL)
    _run(reference, corpus, ALL, tmp_path / "ref-out", piece_records=10)
    _same(_ray_decisions(tmp_path / "ref-out"), _ray_decisions(tmp_path / "out"))


def test_parquet_shards_in_parquet_decisions_out(
    runtime: None, corpus: dict[str, Any], tmp_path: Path
) -> None:
    """Parquet input gives the decisions its JSONL twin gives; --output-format parquet holds the same
    fields. Through the Python API (``filter_files``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curator.batch.engine import filter_files

    shards = tmp_path / "parquet"
    shards.mkdir()
    for path in sorted(corpus["shards"].glob("*.jsonl")):
        rows = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "instruction" in record:
                rows.append({k: record.get(k, "") for k in ("id", "instruction", "input", "output")})
        pq.write_table(pa.Table.from_pylist(rows), shards / f"{path.stem}.parquet")
    runs = {}
    for name, inputs, fmt in (("jsonl", corpus["shards"], "jsonl"), ("parquet", shards, "parquet")):
        settings = Settings.load(data_dir=tmp_path / f"data-{name}", default_policy=CHEAP)
        summary = filter_files([inputs], tmp_path / name, settings=settings, collection="c",
                               report=lambda line: None, output_format=fmt, dry_run=True)  # fmt: skip
        assert summary.admitted == 0
        runs[name] = summary
    jsonl = {d["id"]: d for d in _ray_decisions(tmp_path / "jsonl")}
    table = pq.read_table(sorted((tmp_path / "parquet" / "decisions").glob("*.parquet"))).to_pylist()
    assert len(table) == len(jsonl) and {row["id"] for row in table} == set(jsonl)
    for row in table:
        want = jsonl[row["id"]]
        assert row["verdict"] == want["verdict"]
        assert json.loads(row["reasons"]) == want["reasons"]
