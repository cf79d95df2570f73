"""The scheduler's Temporal TLS settings, as the SDK reads them, reach a real Temporal over TLS.

`temporal server start-dev` serves plain gRPC only (it has no TLS flags), so a
TLS-terminating proxy stands in front of the test session's dev server: it
presents a certificate of a CA made here, asks for a client certificate of that
CA (mTLS) and passes the decrypted HTTP/2 through. The client is built exactly
as the scheduler builds it (connect_options from TEMPORAL_TLS_* variables) and
makes real calls. An API key (TEMPORAL_API_KEY) is sent over the same TLS; the
dev server does not check it, so only its acceptance by the SDK is shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from agentmesh_scheduler.adapters.temporal_connection import api_options, connect, connect_options

SERVER_NAME = "temporal.agentmesh.test"
BARE = {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}
# A refused connection fails at once; the SDK would otherwise retry it for 10 s.
GIVE_UP = 2.0


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@dataclass
class Pki:
    """A CA and, signed by it, a server and a client certificate (PEM files)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def make(cls, root: Path) -> Pki:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agentmesh test CA")])
        ca = (
            x509.CertificateBuilder(subject_name=ca_name, issuer_name=ca_name, public_key=ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )

        def leaf(name: str, usage: x509.ObjectIdentifier, stem: str) -> tuple[Path, Path]:
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder(
                    subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
                    issuer_name=ca_name,
                    public_key=key.public_key(),
                )
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(
                    x509.SubjectAlternativeName(
                        [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                    ),
                    critical=False,
                )
            )
            cert = builder.sign(ca_key, hashes.SHA256())
            key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return (
                _write_pem(root / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM)),
                _write_pem(root / f"{stem}.key", key_pem),
            )

        server_cert, server_key = leaf(SERVER_NAME, ExtendedKeyUsageOID.SERVER_AUTH, "server")
        client_cert, client_key = leaf("agentmesh-scheduler", ExtendedKeyUsageOID.CLIENT_AUTH, "client")
        ca_path = _write_pem(root / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
        return cls(ca_path, server_cert, server_key, client_cert, client_key)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
            writer.close()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki.make(tmp_path)


@pytest.fixture
async def tls_address(pki: Pki, temporal_address: str) -> AsyncIterator[str]:
    """host:port of a TLS (mTLS) front of the session's Temporal dev server."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    upstream_host, upstream_port = temporal_address.rsplit(":", 1)
    tasks: set[asyncio.Task[None]] = set()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        for task in (_pipe(reader, up_writer), _pipe(up_reader, writer)):
            tasks.add(asyncio.ensure_future(task))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _tls_environ(pki: Pki, address: str, **extra: str) -> dict[str, str]:
    return {
        **BARE,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca),
        "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        **extra,
    }


async def test_mtls_settings_reach_temporal_over_tls(pki: Pki, tls_address: str) -> None:
    environ = _tls_environ(
        pki,
        tls_address,
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
    )
    options = connect_options(None, None, environ=environ)
    assert options["target_host"] == tls_address and options["tls"].domain == SERVER_NAME

    client = await connect(options)  # the scheduler's own connect: a health check over TLS
    answer = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    assert answer.namespace_info.name == "default"


async def test_an_api_key_goes_over_tls(pki: Pki, tls_address: str) -> None:
    options = connect_options(None, None, environ=_tls_environ(
        pki,
        tls_address,
        TEMPORAL_API_KEY="agentmesh-test-key",
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
    ))  # fmt: skip
    assert options["api_key"] == "agentmesh-test-key"
    client = await connect(options)
    assert client.api_key == "agentmesh-test-key"


async def test_tls_is_really_checked(pki: Pki, tls_address: str, tmp_path: Path) -> None:
    # Without a client certificate the server refuses the handshake.
    with pytest.raises(RuntimeError, match="Failed client connect"):
        await connect(api_options(connect_options(None, None, environ=_tls_environ(pki, tls_address)), GIVE_UP))
    # A server certificate of another CA than the one configured: the client refuses it.
    (tmp_path / "other").mkdir()
    environ = _tls_environ(
        pki,
        tls_address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(Pki.make(tmp_path / "other").ca),
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client_cert),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client_key),
    )
    with pytest.raises(RuntimeError, match="InvalidCertificate"):
        await connect(api_options(connect_options(None, None, environ=environ), GIVE_UP))
