"""The committed stubs in curator/v1 are what `make proto` generates from protos/, and import
with every grpcio and protobuf release pyproject.toml allows.

The generators stamp their own version into the stubs (``GRPC_GENERATED_VERSION`` and the
protobuf runtime check). Those stamps are compared with pyproject's floors, not with whatever
grpcio-tools happens to be installed, so a newer generator alone never makes the stubs stale.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "curator" / "v1"

_GRPC_STAMP = re.compile(r"^GRPC_GENERATED_VERSION = '([^']+)'$", re.M)
_PROTOBUF_COMMENT = re.compile(r"^# Protobuf Python Version: (\S+)$", re.M)
_PROTOBUF_CHECK = re.compile(
    r"(_runtime_version\.ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.\w+,)"
    r"\s*(\d+),\s*(\d+),\s*(\d+),\s*'([^']*)',"
)


def normalise(source: str) -> str:
    """``source`` with the generators' version stamps replaced by placeholders."""
    source = _GRPC_STAMP.sub("GRPC_GENERATED_VERSION = '<grpcio-tools>'", source)
    source = _PROTOBUF_COMMENT.sub("# Protobuf Python Version: <protoc>", source)
    return _PROTOBUF_CHECK.sub(r"\1 <protoc>,", source)


def stale_files(committed: Path, generated: Path) -> list[str]:
    """The generated files (relative paths) that ``committed`` lacks or holds with other content."""
    fresh = sorted(p.relative_to(generated) for p in generated.rglob("*.py*"))
    assert fresh, "protoc wrote nothing"
    return [
        str(rel)
        for rel in fresh
        if not (committed / rel).is_file()
        or normalise((committed / rel).read_text()) != normalise((generated / rel).read_text())
    ]


def _generate(out: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate(out) == 0


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    _generate(tmp_path)
    assert stale_files(ROOT, tmp_path) == [], "stale stubs: run `make proto`"


def test_a_newer_generator_alone_does_not_make_the_stubs_stale(tmp_path: Path) -> None:
    generated, newer = tmp_path / "generated", tmp_path / "newer"
    generated.mkdir()
    _generate(generated)
    for path in sorted(generated.rglob("*.py*")):
        text = _GRPC_STAMP.sub("GRPC_GENERATED_VERSION = '9.99.1'", path.read_text())
        text = _PROTOBUF_COMMENT.sub("# Protobuf Python Version: 99.98.7", text)
        text = _PROTOBUF_CHECK.sub(r"\1\n    99,\n    98,\n    7,\n    '-rc1',", text)
        (newer / path.relative_to(generated)).parent.mkdir(parents=True, exist_ok=True)
        (newer / path.relative_to(generated)).write_text(text)
    for name in ("curator_service_pb2.py", "curator_service_pb2_grpc.py"):
        assert (newer / "curator/v1" / name).read_text() != (STUBS / name).read_text()
    assert stale_files(ROOT, newer) == []
    # ... while a real difference still shows.
    grpc_stub = newer / "curator/v1/curator_service_pb2_grpc.py"
    grpc_stub.write_text(grpc_stub.read_text().replace("GetServerInfo", "GetServerInformation"))
    assert stale_files(ROOT, newer) == ["curator/v1/curator_service_pb2_grpc.py"]


def _floor(distribution: str) -> Version:
    """The lowest release of ``distribution`` that pyproject.toml's dependencies allow (its ``>=``)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = [Requirement(d) for d in dependencies]
    [requirement] = [r for r in requirements if canonicalize_name(r.name) == distribution]
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    assert floors, f"pyproject.toml gives {distribution} no lower bound"
    return max(floors)


@pytest.mark.parametrize("stub", sorted(p.name for p in STUBS.glob("*_pb2_grpc.py")))
def test_grpcio_floor_admits_the_stubs(stub: str) -> None:
    """A stub raises at import under a grpcio older than the grpcio-tools that generated it."""
    [generated] = _GRPC_STAMP.findall((STUBS / stub).read_text())
    assert Version(generated) <= _floor("grpcio"), (
        f"{stub} needs grpcio>={generated}: raise the floor in pyproject.toml"
    )


@pytest.mark.parametrize("stub", sorted(p.name for p in STUBS.glob("*_pb2.py")))
def test_protobuf_floor_admits_the_stubs(stub: str) -> None:
    """A stub raises VersionError at import under a protobuf runtime older than its protoc."""
    [(_, major, minor, patch, suffix)] = _PROTOBUF_CHECK.findall((STUBS / stub).read_text())
    generated = Version(f"{major}.{minor}.{patch}{suffix}")
    assert generated <= _floor("protobuf"), (
        f"{stub} needs protobuf>={generated}: raise the floor in pyproject.toml"
    )
