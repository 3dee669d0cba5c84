"""The README's Quick start, run top to bottom against a fresh `curator serve`, prints what the README shows.

Every ``$ command`` of the section's console blocks runs in a shell, in order, with the lines below it as
its expected output. What legitimately varies between runs is normalised on both sides: times, the
samples/s figure (and the table widths it moves), and the key order of JSON objects. `make serve` and
`source .venv/bin/activate` are what this test does itself (a server on a free port, the venv's tools on
PATH, CURATOR_SERVER_ADDRESS pointing at it); grpcurl, which no Debian package provides, is left out:
its `curator call` equivalents run instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = ("source ", "export CURATOR_SERVER_ADDRESS=", "grpcurl ")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?")
_BOX = re.compile(r"[\s━─┏┓┗┛┡┩└┘┳┻╇┷┯┬┴┼]+")


@dataclass
class Step:
    command: str
    expected: list[str]


def quick_start() -> list[Step]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quick start\n") : text.index("\n## Reference\n")]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                i += 1
                continue
            command = lines[i][2:]
            while not _complete(command):  # a quoted argument that spans lines
                i += 1
                command += "\n" + lines[i]
            i += 1
            expected = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            steps.append(Step(command, expected))
    return steps


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return not command.rstrip().endswith("\\")


def normalise(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = _TIME.sub("<time>", line.rstrip())
        if any(ch in line for ch in "│┃┏└┡"):  # a rich table: widths follow the numbers in it
            line = _BOX.sub("", line)
            line = re.sub(r"│\d[\d,]*│$", "│<n>│", line)  # the summary's samples/s
        if line.strip():
            out.append(line.strip())
    return out


def _json(lines: list[str]) -> object | None:
    try:
        return json.loads("\n".join(lines))
    except ValueError:
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`make serve` on a fresh machine: a server on a fresh data directory (a free port, no dashboard)."""
    work = tmp_path_factory.mktemp("quick-start")
    (work / "examples").symlink_to(ROOT / "examples")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "curator.cli.main",
            "serve",
            "--port",
            "0",
            "--no-http",
            "--data-dir",
            "curator-data",
        ],
        cwd=work,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    port = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found = re.search(r"curator serving on [^:]+:(\d+)", line)
        port = int(found.group(1)) if found else port
        if "curator ready" in line:
            break
    assert port is not None, "the server did not start"
    try:
        yield f"127.0.0.1:{port}", work
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_quick_start_prints_what_the_readme_shows(server: tuple[str, Path]) -> None:
    address, work = server
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CURATOR_SERVER_ADDRESS": address,
        "COLUMNS": "120",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CURATOR_CONFIG", None)
    steps = quick_start()
    assert len(steps) >= 10, "the Quick start lost its commands"
    ran = 0
    for step in steps:
        if step.command.startswith(SKIPPED):
            continue
        done = subprocess.run(
            ["bash", "-c", step.command],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        ran += 1
        assert done.returncode == 0, f"$ {step.command}\n{done.stdout}"
        if not step.expected:
            continue
        got = done.stdout.splitlines()
        expected_json = _json(step.expected)
        if expected_json is not None:
            assert _json(got) == expected_json, f"$ {step.command}\n{done.stdout}"
        else:
            assert normalise(got) == normalise(step.expected), f"$ {step.command}\n{done.stdout}"
    assert ran >= 8
