"""Options every command shares: --server, also from CURATOR_SERVER_ADDRESS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from curator.api.server import RunningServer
from curator.cli.main import app


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every command under a typer group, by its full name ("collections update")."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_server_option_defaults_from_the_environment() -> None:
    root = typer.main.get_command(app)
    with_server = {
        name: next(p for p in command.params if p.name == "server")
        for name, command in _commands(root)
        if any(p.name == "server" for p in command.params)
    }
    assert {"filter", "stats", "decisions", "review", "audit", "collections update"} <= set(with_server)
    for name, option in with_server.items():
        assert option.envvar == "CURATOR_SERVER_ADDRESS", name
        assert "CURATOR_SERVER_ADDRESS" in (option.help or ""), name


def test_curator_server_address_sends_commands_to_that_server(tmp_path: Path, server: RunningServer) -> None:
    runner = CliRunner(
        env={"COLUMNS": "200", "CURATOR_CONFIG": None, "CURATOR_SERVER_ADDRESS": f"127.0.0.1:{server.port}"}
    )
    data = tmp_path / "local"
    created = runner.invoke(app, ["collections", "create", "remote", "--data-dir", str(data)])
    assert created.exit_code == 0, created.output
    assert server.curator.get_collection("remote").name == "remote"
    assert not data.exists()  # nothing ran in-process
    # An explicit --server still wins.
    elsewhere = runner.invoke(app, ["collections", "list", "--server", "127.0.0.1:1"])
    assert elsewhere.exit_code == 1 and "unavailable" in elsewhere.stderr


def test_an_address_in_curator_server_is_a_clear_error(tmp_path: Path) -> None:
    """CURATOR_SERVER is the server's own settings section (JSON), as CURATOR_SERVER__PORT is one of them."""
    runner = CliRunner(env={"CURATOR_CONFIG": None, "CURATOR_SERVER": "127.0.0.1:50051"})
    result = runner.invoke(app, ["collections", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines()[0].startswith("error: invalid settings in the environment:")
    assert "CURATOR_SERVER_ADDRESS=HOST:PORT" in result.stderr
