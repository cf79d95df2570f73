"""Temporal connection settings come from the SDK's environment configuration (TLS, API keys)."""

from __future__ import annotations

from agentmesh_scheduler.adapters.temporal_connection import connect_options, logging_runtime

BARE = {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}


def test_local_defaults_without_any_configuration() -> None:
    options = connect_options(None, None, environ=BARE)
    assert options["target_host"] == "127.0.0.1:7233" and options["namespace"] == "default"
    assert not options.get("tls") and not options.get("api_key")


def test_cloud_api_key_turns_tls_on_and_address_comes_from_the_profile() -> None:
    environ = {
        **BARE,
        "TEMPORAL_ADDRESS": "my-ns.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "my-ns.a1b2c",
        "TEMPORAL_API_KEY": "secret-key",
    }
    options = connect_options(None, None, environ=environ)
    assert options["target_host"] == "my-ns.a1b2c.tmprl.cloud:7233"
    assert options["namespace"] == "my-ns.a1b2c"
    assert options["api_key"] == "secret-key" and options["tls"] is True


def test_mtls_files_and_explicit_agentmesh_settings(tmp_path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    environ = {
        **BARE,
        "TEMPORAL_ADDRESS": "profile-host:7233",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
    }
    options = connect_options("explicit-host:7233", "team", environ=environ)
    assert options["target_host"] == "explicit-host:7233" and options["namespace"] == "team"
    tls = options["tls"]
    assert tls.client_cert == b"CERT" and tls.client_private_key == b"KEY"


def test_the_clients_share_one_runtime_that_forwards_core_logs_to_python_logging() -> None:
    # The e2e log test (tests/e2e/test_observability.py) sees the forwarded lines as JSON.
    options = connect_options(None, None, environ=BARE)
    assert options["runtime"] is logging_runtime() is connect_options(None, None, environ=BARE)["runtime"]
