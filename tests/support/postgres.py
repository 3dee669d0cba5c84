"""A throwaway PostgreSQL cluster for tests that need a real server.

Tests talk to a real server rather than a mock because the point is to catch
dialect differences (integer division, RETURNING, types) that only show there.
The cluster lives in a temporary directory, listens only on 127.0.0.1, trusts
every local connection and is thrown away with its directory afterwards.

initdb refuses to run as root, so as root every binary runs as the ``postgres``
system user (via ``runuser``) on a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

SUPERUSER = "postgres"
_BINARIES = ("initdb", "pg_ctl")


class PostgresUnavailable(Exception):
    """The binaries (or, as root, the ``postgres`` user) needed to start a cluster are missing."""


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live: $CURATOR_TEST_PG_BINDIR, then PATH, then Debian's layout."""
    override = os.environ.get("CURATOR_TEST_PG_BINDIR")
    candidates: list[Path] = [Path(override)] if override else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    candidates += [Path(p) for p in debian]
    for bindir in candidates:
        if all(os.access(bindir / b, os.X_OK) for b in _BINARIES):
            return bindir
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks; a race remains, so starts are retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster; :meth:`stop` shuts it down and deletes its files."""

    bindir: Path
    base_dir: Path
    port: int
    run_as: str | None
    options: str = ""
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, database: str = "postgres", driver: str | None = None) -> str:
        """The SQLAlchemy URL of ``database``: the plain ``postgresql://`` form users write (psycopg 3
        under SQLAlchemy 2.1), or ``postgresql+<driver>://`` when ``driver`` is given."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create (or recreate, empty) database ``name`` and return its SQLAlchemy URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def pause(self) -> None:
        """Shut the server down, keeping its files (an outage); :meth:`resume` starts it again."""
        _run(self, "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server again on the same port, after :meth:`pause`."""
        _run(
            self,
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            self.options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            _run(self, "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres(bindir: Path | None = None, attempts: int = 3) -> PostgresServer:
    """initdb a fresh cluster in a temporary directory and start it on a free port.

    Raises :class:`PostgresUnavailable` when it cannot be done here at all, and
    :class:`RuntimeError` (with the server log) when starting fails.
    """
    bindir = bindir or find_bindir()
    if bindir is None:
        raise PostgresUnavailable("initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin")
    run_as = None
    if os.geteuid() == 0:
        run_as = SUPERUSER
        try:
            owner = pwd.getpwnam(run_as)
        except KeyError as e:
            raise PostgresUnavailable(f"running as root and there is no {run_as!r} user to run initdb") from e
    # Not pytest's tmp_path: its parents are root-only (0700), which the postgres user cannot traverse.
    base_dir = Path(tempfile.mkdtemp(prefix="curator-pg-"))
    if run_as is not None:
        os.chown(base_dir, owner.pw_uid, owner.pw_gid)
    server = PostgresServer(bindir=bindir, base_dir=base_dir, port=0, run_as=run_as)
    try:
        _run(
            server,
            "initdb",
            "-D",
            str(server.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        last_error = ""
        for _ in range(attempts):
            server.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={server.port}",
                    f"-c unix_socket_directories={base_dir}",
                    # A throwaway cluster: durability buys nothing and costs test time.
                    "-c fsync=off",
                    "-c full_page_writes=off",
                    "-c synchronous_commit=off",
                ]
            )
            proc = _run(
                server,
                "pg_ctl",
                "-D",
                str(server.data_dir),
                "-l",
                str(server.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if proc.returncode == 0:
                server.options = options
                return server
            last_error = proc.stdout + proc.stderr + _tail(server.log_file)
        raise RuntimeError(f"could not start PostgreSQL after {attempts} attempts:\n{last_error}")
    except BaseException:
        server.stop()
        raise


def _run(
    server: PostgresServer, binary: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = [str(server.bindir / binary), *args]
    if server.run_as is not None:
        cmd = ["runuser", "-u", server.run_as, "--", *cmd]
    # cwd: the postgres user may not be allowed into the caller's working directory.
    proc = subprocess.run(cmd, cwd=server.base_dir, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def start_or_skip() -> PostgresServer:
    """A fresh cluster; without PostgreSQL, a skip locally and a failure in CI (where .ci/run installs it)."""
    import pytest

    bindir = find_bindir()
    try:
        if bindir is None:
            raise PostgresUnavailable("initdb/pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin")
        return start_postgres(bindir)
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI ({e}); .ci/run must install postgresql")
        pytest.skip(f"PostgreSQL not available: {e}")
