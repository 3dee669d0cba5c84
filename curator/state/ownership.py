"""One process owns an embedded data directory at a time.

Two processes on one directory would each keep their own copy of a collection's indexes and fold
them into the same snapshot files, so one would silently erase what the other kept. The owner holds
an exclusive ``flock`` on ``<data_dir>/LOCK`` for its life (the kernel releases it when the process
dies, so a crash never leaves a stale lock) and writes who it is there, so that a second process can
say who owns the directory and how to reach it.
"""

from __future__ import annotations

import fcntl
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from curator.errors import FailedPrecondition

LOCK_FILE = "LOCK"


class DataDirBusy(FailedPrecondition):
    """Another process owns the data directory."""


class DataDirOwnership:
    """The exclusive claim of this process on a data directory; :meth:`release` (or exit) gives it up."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / LOCK_FILE
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read(fd)
            os.close(fd)
            raise DataDirBusy(_busy_message(data_dir, owner)) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd
        self._owner: dict[str, Any] = {
            "pid": os.getpid(),
            "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200],
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write()

    def announce(self, **about: Any) -> None:
        """Say more about the owner (a server's address), for the message a second process prints."""
        self._owner.update(about)
        self._write()

    def _write(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, orjson.dumps(self._owner) + b"\n", 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _read(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        owner = orjson.loads(data) if data.strip() else {}
    except (OSError, orjson.JSONDecodeError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _busy_message(data_dir: Path, owner: dict[str, Any]) -> str:
    who = f"process {owner['pid']}" if "pid" in owner else "another process"
    if owner.get("command"):
        who += f" ({owner['command']})"
    if owner.get("since"):
        who += f" since {owner['since']}"
    server = owner.get("server")
    fix = (
        f"send the work to it with --server {server} (or CURATOR_SERVER_ADDRESS={server})"
        if server
        else "stop it, or send the work to it with --server HOST:PORT if it is `curator serve`"
    )
    return (
        f"data directory {data_dir} is in use by {who}: one process owns a data directory at a time; "
        f"{fix}, or use another --data-dir"
    )
