"""A service reaches a NATS that speaks TLS, trusting the CA it is given and no other.

The certificates are made here: a self-signed CA, and a server certificate for 127.0.0.1
signed by it. The server is the nats-server of the wheel; if it cannot start, the test fails.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from carepair.launcher.nats_server import EmbeddedNats, free_port
from shared.messaging.connection import NatsConnection, tls_context

NOW = datetime.datetime.now(datetime.UTC)


def _certificate(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(minutes=5))
        .not_valid_after(NOW + datetime.timedelta(days=1))
    )
    if issuer is None:  # the CA
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _write(
    path: Path, certificate: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None
) -> Path:
    if certificate is not None:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


@pytest.fixture
def tls_nats(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A nats-server that only speaks TLS; yields its URL and the CA file that signed it."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("carepair test CA", ca_key, None, ca_key)
    server = _certificate("nats", server_key, ca.subject, ca_key)
    ca_file = _write(tmp_path / "ca.pem", ca)
    cert_file = _write(tmp_path / "server.pem", server)
    key_file = _write(tmp_path / "server.key", key=server_key)
    port = free_port()
    config = tmp_path / "nats.conf"
    config.write_text(
        f'listen: 127.0.0.1:{port}\ntls {{\n  cert_file: "{cert_file}"\n  key_file: "{key_file}"\n}}\n',
        encoding="utf-8",
    )
    server = EmbeddedNats(tmp_path, port, config=config).start()  # raises, failing the test, if it cannot
    try:
        yield f"tls://127.0.0.1:{port}", ca_file
    finally:
        server.stop()


async def test_a_service_connects_over_tls_trusting_the_given_ca(tls_nats: tuple[str, Path]) -> None:
    url, ca_file = tls_nats
    connection = NatsConnection(url, "tls-test", tls=tls_context(ca_file))
    try:
        await connection.client()
        assert connection.connected
    finally:
        await connection.drain()


async def test_without_the_ca_the_servers_certificate_is_refused(tls_nats: tuple[str, Path]) -> None:
    url, _ = tls_nats
    assert tls_context(None) is None  # no CAREPAIR_NATS_TLS_CA: the system's CAs, which never signed it
    connection = NatsConnection(url, "tls-test", tls=tls_context(None))
    with pytest.raises(Exception):  # noqa: B017 - nats-py reports it in several ways; none connects
        await connection.client()
    assert not connection.connected
