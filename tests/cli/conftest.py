"""Fixtures for the CLI tests: a runner and an in-process server on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from curator.api.server import RunningServer, start
from curator.cli.main import app
from curator.settings import Settings


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "CURATOR_CONFIG": None, "CURATOR_SERVER_ADDRESS": None})


@pytest.fixture
def cli(runner: CliRunner) -> Callable[..., Result]:
    """Invoke ``curator`` with string arguments (paths are str()-ed)."""

    def invoke(*args: Any, input: str | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start(Settings.load(data_dir=tmp_path / "server-data", server={"port": 0}))
    try:
        yield running
    finally:
        running.stop(grace=0)
