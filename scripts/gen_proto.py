"""Regenerate curator/v1/*_pb2*.py from protos/ (run: `make proto`).

The generated package path mirrors the proto package (curator.v1), so the
generated gRPC module's `from curator.v1 import ...` resolves inside curator.

`make proto` runs this with the grpcio-tools that requirements/dev.txt locks. The stubs
require at import at least the grpcio and protobuf that generated them; pyproject.toml's
floors for both must not be lower (tests/test_generated_code.py checks).
"""

from __future__ import annotations

import importlib.metadata
import pathlib
import re
import sys

import grpc_tools
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent


def generate(out: pathlib.Path = ROOT) -> int:
    """Run protoc over every file in protos/, writing the Python modules under ``out``."""
    import google.rpc  # googleapis-common-protos ships google/rpc/*.proto

    includes = [
        ROOT / "protos",
        pathlib.Path(grpc_tools.__file__).parent / "_proto",
        pathlib.Path(google.rpc.__path__[0]).parent.parent,
    ]
    protos = sorted(str(p.relative_to(ROOT / "protos")) for p in (ROOT / "protos").rglob("*.proto"))
    args = ["protoc", *(f"-I{p}" for p in includes)]
    args += [f"--python_out={out}", f"--grpc_python_out={out}", f"--pyi_out={out}", *protos]
    return protoc.main(args)


def locked_version(distribution: str, lock: pathlib.Path = ROOT / "requirements" / "dev.txt") -> str | None:
    """The version ``lock`` pins ``distribution`` to, if it does."""
    if not lock.is_file():
        return None
    match = re.search(rf"^{re.escape(distribution)}==(\S+)", lock.read_text(), re.M)
    return match.group(1) if match else None


def main() -> int:
    installed = importlib.metadata.version("grpcio-tools")
    locked = locked_version("grpcio-tools")
    if locked is not None and installed != locked:
        print(
            f"warning: grpcio-tools {installed} is installed but requirements/dev.txt locks {locked}; "
            "`make proto` generates with the locked one",
            file=sys.stderr,
        )
    rc = generate()
    if rc == 0:
        print(f"generated curator/v1 from protos/ with grpcio-tools {installed}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
