"""Installs are reproducible: what `make serve` and `make test` install is the hash-pinned lock in
requirements/, the lock agrees with pyproject.toml, and serving installs only what serving needs.

`make lock` refreshes the lock files (scripts/lock.py); these tests fail when someone edits
pyproject.toml without doing so.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The lock files and the extras of pyproject.toml that each one must cover.
LOCK_EXTRAS = {"serve.txt": ("postgres",), "dev.txt": ("dev", "postgres", "onnx")}
DEV_TOOLS = ("pytest", "pytest-timeout", "mypy", "ruff", "playwright", "onnxruntime", "onnx", "grpcio-tools")
TORCH_CPU = Version("2.13.0+cpu")


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: tuple[str, ...]


def read_lock(name: str) -> dict[str, Pin]:
    """``requirements/<name>`` as {canonical name: pin}; every line of it must be understood."""
    pins: dict[str, Pin] = {}
    current: str | None = None
    for line in (REQUIREMENTS / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)(?: \\)?", line):
            current = canonicalize_name(match.group(1))
            assert current not in pins, f"{name} pins {current} twice"
            pins[current] = Pin(Version(match.group(2)), ())
        elif match := re.fullmatch(r"\s+--hash=(sha256:[0-9a-f]{64})(?: \\)?", line):
            assert current is not None, f"{name}: a hash before any requirement"
            pins[current] = Pin(pins[current].version, (*pins[current].hashes, match.group(1)))
        else:
            pytest.fail(f"{name}: unexpected line {line!r}")
    assert pins, f"{name} pins nothing"
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's dependencies plus those of ``extras``."""
    project = PYPROJECT["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


@pytest.mark.parametrize("lock", ["serve.txt", "dev.txt", "build.txt", "uv.txt"])
def test_every_locked_package_is_pinned_with_hashes(lock: str) -> None:
    for name, pin in read_lock(lock).items():
        assert pin.hashes, f"{lock}: {name}=={pin.version} has no --hash (pip --require-hashes refuses it)"


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS))
def test_lock_satisfies_pyproject(lock: str) -> None:
    pins = read_lock(lock)
    for requirement in declared(LOCK_EXTRAS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"pyproject.toml asks for {requirement}, {lock} lacks it: run `make lock`"
        version = pins[name].version
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, pyproject.toml asks for {requirement}: run `make lock`"
        )


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS))
def test_torch_is_locked_to_its_cpu_build(lock: str) -> None:
    assert read_lock(lock)["torch"].version == TORCH_CPU
    constraint = (REQUIREMENTS / "torch-cpu.txt").read_text()
    assert re.search(rf"^torch=={re.escape(str(TORCH_CPU))}$", constraint, re.M)


def test_serve_lock_holds_no_dev_tools() -> None:
    served = read_lock("serve.txt")
    assert [tool for tool in DEV_TOOLS if canonicalize_name(tool) in served] == []


def test_serve_and_build_locks_agree_with_the_dev_lock() -> None:
    """One venv can switch between `make serve` and `make test` without changing a version."""
    dev = read_lock("dev.txt")
    for lock in ("serve.txt", "build.txt"):
        for name, pin in read_lock(lock).items():
            if name in dev:
                assert pin.version == dev[name].version, f"{lock} and dev.txt disagree on {name}"
    assert set(read_lock("serve.txt")) <= set(dev)


def test_build_lock_covers_the_build_system() -> None:
    pins = read_lock("build.txt")
    assert "pip" in pins
    for requirement in (Requirement(r) for r in PYPROJECT["build-system"]["requires"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"build.txt lacks {requirement}: run `make lock`"
        assert requirement.specifier.contains(pins[name].version, prereleases=True)


def test_running_environment_is_the_dev_lock() -> None:
    """`make test` runs the suite in exactly what requirements/dev.txt and build.txt name."""
    expected = {**read_lock("dev.txt"), **read_lock("build.txt")}
    installed = {
        canonicalize_name(d.metadata["Name"]): Version(d.version) for d in importlib.metadata.distributions()
    }
    wrong = {
        name: f"locked {pin.version}, installed {installed.get(name)}"
        for name, pin in expected.items()
        if installed.get(name) != pin.version
    }
    assert wrong == {}, "this environment is not the lock: run `make test` (or `make setup`)"


def _make_dry_run(target: str) -> str:
    """The commands `make <target>` would run on a clean checkout (-B: as if nothing were built)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(
        ["make", "-n", "-B", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


def test_make_serve_installs_only_the_serve_lock() -> None:
    commands = _make_dry_run("serve")
    installs = [line for line in commands.splitlines() if " pip install " in line]
    assert any("--require-hashes -r requirements/build.txt" in line for line in installs)
    assert any("--require-hashes -r requirements/serve.txt" in line for line in installs)
    assert "requirements/dev.txt" not in commands
    assert "[dev]" not in commands
    # curator itself: no dependencies and no build environment of its own, so nothing unlocked.
    [own] = [line for line in installs if "-e ." in line]
    assert "--no-deps" in own
    assert "--no-build-isolation" in own


def test_make_test_installs_the_dev_lock() -> None:
    commands = _make_dry_run("test")
    assert "--require-hashes -r requirements/dev.txt" in commands
    assert "requirements/serve.txt" not in commands


def test_make_lock_refreshes_every_lock_file_with_the_pinned_uv() -> None:
    commands = _make_dry_run("lock")
    assert "--require-hashes -r requirements/uv.txt" in commands
    assert "scripts/lock.py" in commands
    uv_in = (REQUIREMENTS / "uv.in").read_text()
    [pinned] = re.findall(r"^uv==(\S+)$", uv_in, re.M)
    assert read_lock("uv.txt")["uv"].version == Version(pinned)
