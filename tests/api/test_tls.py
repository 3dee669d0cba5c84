"""TLS on both ports: a client trusting the certificate gets in; plaintext does not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from curator.api.client import CuratorClient
from curator.api.server import RunningServer, start
from curator.errors import CuratorError
from curator.service import Curator
from curator.settings import Settings
from tests.support.fake_encoder import checks_with


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, valid for a day, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RunningServer, Path]]:
    cert, key = self_signed(tmp_path)
    settings = Settings.load(
        data_dir=tmp_path / "data",
        server={"port": 0, "grace_seconds": 1},
        tls={"cert_file": cert, "key_file": key},
    )
    running = start(settings, Curator(settings, checks=checks_with(settings=settings)))
    assert running.ready.wait(30)
    yield running, cert
    running.stop(grace=1)


def test_grpc_needs_tls_and_accepts_a_client_that_trusts_the_certificate(
    tls_server: tuple[RunningServer, Path],
) -> None:
    running, cert = tls_server
    with CuratorClient(f"localhost:{running.port}", timeout=10, ca_file=cert) as client:
        client.create_collection("secure")
        assert [c.name for c in client.list_collections()] == ["secure"]
    with CuratorClient(f"localhost:{running.port}", timeout=5) as plain, pytest.raises(CuratorError):
        plain.list_collections()


def test_the_dashboard_serves_https_only(tls_server: tuple[RunningServer, Path]) -> None:
    running, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    url = f"https://localhost:{running.http_port}/healthz"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        assert response.status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://localhost:{running.http_port}/healthz", timeout=5)


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    with pytest.raises(pydantic.ValidationError, match="set both, or neither"):
        Settings.load(data_dir=tmp_path, tls={"cert_file": cert})
    missing = Settings.load(
        data_dir=tmp_path, server={"port": 0}, tls={"cert_file": cert, "key_file": tmp_path / "missing.pem"}
    )
    with pytest.raises(RuntimeError, match=r"missing\.pem is not a file"):
        start(missing, Curator(missing, checks=checks_with(settings=missing)))
