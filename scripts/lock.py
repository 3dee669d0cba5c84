"""Refresh the hash-pinned lock files in requirements/ from pyproject.toml (run: `make lock`).

What `make serve`, `make test` and CI install is exactly what these files name, down to the
sha256 of every file, so a new release on PyPI changes nothing until someone runs `make lock`
and commits the result:

* ``requirements/dev.txt``: the dependencies plus the ``dev``, ``postgres``, ``onnx`` and ``ray`` extras
  (`make test`, `make setup`, `make lint`, `make proto`, `make bench`);
* ``requirements/serve.txt``: the dependencies plus the ``postgres`` extra (`make serve`),
  resolved against dev.txt so that every package both name has the same version in both;
* ``requirements/build.txt``: pip and pyproject's ``[build-system] requires`` (setuptools,
  wheel), installed first so that curator itself installs with ``--no-build-isolation``;
* ``requirements/uv.txt``: the uv release named in ``requirements/uv.in`` (what `make lock`
  itself runs; raise it there).

torch is held to its CPU build by ``requirements/torch-cpu.txt``. That wheel is not on PyPI:
uv finds it in the folders given with ``--find-links`` (default /opt/wheels, where this
project's machines keep it). The lock is for CPython 3.11 on x86_64 Linux, the only platform
that wheel exists for.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQ = Path("requirements")  # relative to ROOT: uv writes the paths it was given into the files
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"  # the torch CPU wheel's platform
DEV_EXTRAS = ("dev", "postgres", "onnx", "ray")
SERVE_EXTRAS = ("postgres",)


def build_requirements() -> list[str]:
    """pip plus what pyproject's [build-system] needs to build curator."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return ["pip", *pyproject["build-system"]["requires"]]


def compile_lock(
    uv: str, inputs: list[str], output: Path, *extra: str, find_links: list[str], stdin: str | None = None
) -> None:
    cmd = [uv, "pip", "compile", *inputs, "--quiet", "--generate-hashes"]
    cmd += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    cmd += ["--custom-compile-command", "make lock", "--output-file", str(output), *extra]
    for folder in find_links:
        cmd += ["--find-links", folder]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, input=stdin, text=True, env={**os.environ, "UV_NO_CONFIG": "1"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--uv", default=shutil.which("uv") or "uv", help="the uv executable (`make lock` installs it)"
    )
    parser.add_argument(
        "--find-links",
        action="append",
        default=None,
        help="a folder holding the torch CPU wheel (repeatable; default: /opt/wheels)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each current pin that pyproject.toml still allows (default: take the newest releases)",
    )
    args = parser.parse_args(argv)
    find_links = args.find_links or ["/opt/wheels"]
    upgrade = [] if args.keep else ["--upgrade"]
    torch_cpu = ["--constraint", str(REQ / "torch-cpu.txt"), *upgrade]
    dev = REQ / "dev.txt"

    def extras(names: tuple[str, ...]) -> list[str]:
        return [arg for name in names for arg in ("--extra", name)]

    compile_lock(args.uv, ["pyproject.toml"], dev, *extras(DEV_EXTRAS), *torch_cpu, find_links=find_links)
    same_as_dev = ["--constraint", str(dev)]
    compile_lock(
        args.uv,
        ["pyproject.toml"],
        REQ / "serve.txt",
        *extras(SERVE_EXTRAS),
        *torch_cpu,
        *same_as_dev,
        find_links=find_links,
    )
    build_in = "\n".join(build_requirements()) + "\n"  # read from stdin ("-")
    compile_lock(args.uv, ["-"], REQ / "build.txt", *same_as_dev, *upgrade, find_links=[], stdin=build_in)
    compile_lock(args.uv, [str(REQ / "uv.in")], REQ / "uv.txt", *upgrade, find_links=[])
    print("refreshed requirements/{dev,serve,build,uv}.txt; run `make test`, then commit them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
