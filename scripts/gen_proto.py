"""Regenerate curator/v1/*_pb2*.py from protos/ (run: `make proto`).

The generated package path mirrors the proto package (curator.v1), so the
generated gRPC module's `from curator.v1 import ...` resolves inside curator.
"""

from __future__ import annotations

import pathlib
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


def main() -> int:
    rc = generate()
    if rc == 0:
        print("generated curator/v1 from protos/")
    return rc


if __name__ == "__main__":
    sys.exit(main())
