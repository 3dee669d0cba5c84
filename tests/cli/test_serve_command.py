"""``curator serve`` in a real process: flags override the config file key by key; SIGTERM stops it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.api.client import CuratorClient
from curator.cli.main import app
from curator.domain.validation import SampleInput
from curator.errors import InvalidArgument
from curator.settings import Settings


def _wait_for_port(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, list[str]]:
    """Read the server's log until it says where it listens."""
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"curator serving on [^:]+:(\d+)", line)
        if m:
            return int(m.group(1)), lines
    raise AssertionError(f"server did not start: {''.join(lines)}")


def test_serve_uses_flags_over_the_config_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "curator.toml"
    # Port 1 would fail to bind: --port 0 must replace it while host and max_workers still come from the file.
    config.write_text('[server]\nhost = "127.0.0.1"\nport = 1\nmax_workers = 2\n\n[limits]\nmax_batch = 3\n')
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "curator.cli.main",
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
            "--data-dir",
            str(data),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port, _ = _wait_for_port(proc)
        # The server owns its data directory: an in-process run there is told who owns it and how to reach it.
        busy = CliRunner().invoke(app, ["collections", "list", "--data-dir", str(data)])
        assert busy.exit_code == 1
        assert f"in use by process {proc.pid}" in busy.output
        assert f"--server 127.0.0.1:{port}" in busy.output and "--data-dir" in busy.output
        # 60 s: the first Filter waits for the model to load, ~10 s on a busy machine.
        with CuratorClient(f"127.0.0.1:{port}", timeout=60) as client:
            client.create_collection("c")
            [decision] = client.filter("c", [SampleInput(id="a", text="hello there")])
            assert decision.verdict == "keep"
            # limits.max_batch = 3 from the file reached the server.
            too_many = [SampleInput(id=str(i), text=f"text {i}") for i in range(4)]
            with pytest.raises(InvalidArgument, match="send at most 3"):
                client.filter("c", too_many)
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "state flushed" in rest
    assert (data / "curator.db").is_file()
    assert Settings.load(config).server.port == 1  # the file itself was only overridden, not changed
