"""NATS users in the chart: each component connects as its own user, and the
`auth.conf` the chart renders for the NATS server gives each only its subjects.

The permissions are the chart's copy of agentmesh_events.access (checked equal
here); the rendered `auth.conf` is loaded by a real nats-server, which lets the
agents user work and refuses the memory user a mailbox.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import helm_python as helm
import nats
import pytest
from helm_chart import CHART_DIR, COMPONENTS, RELEASE, SCENARIOS, container, of_kind, render, secret_refs
from nats.errors import TimeoutError as NatsTimeout

from agentmesh_devstack.infra import binary
from agentmesh_devstack.ports import free_port, wait_for_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_events import access, bus, subjects

NATS_SECRET = f"{RELEASE}-nats"


def _nats_secret(objects: list[dict]) -> dict[str, str]:
    secret = of_kind(objects, "Secret")[NATS_SECRET]
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_the_charts_permissions_are_agentmesh_events_access() -> None:
    # Regenerate with: python -m agentmesh_events.access > deploy/k8s/agentmesh/files/nats-permissions.json
    copy = json.loads((CHART_DIR / "files" / "nats-permissions.json").read_text())
    assert copy == access.server_permissions()


def test_each_component_connects_as_its_own_user(chart: helm.Chart) -> None:
    objects = render(chart)
    data = _nats_secret(objects)
    assert set(data) == {"auth.conf", *(f"nats-password-{component}" for component in COMPONENTS)}
    for component in COMPONENTS:
        env = container(objects, component)["env"]
        assert {"name": "AGENTMESH_NATS_USER", "value": component} in env
        # Its own password only.
        nats_refs = {ref for name, ref in secret_refs(env).items() if "NATS" in name}
        assert nats_refs == {(NATS_SECRET, f"nats-password-{component}")}, component
        assert len(data[f"nats-password-{component}"]) >= 24
    config = of_kind(objects, "ConfigMap")[f"{RELEASE}-config"]["data"]
    assert not any(password in value for password in data.values() for value in config.values())


def test_given_passwords_are_used_and_short_ones_refused(chart: helm.Chart) -> None:
    given = "agents-nats-password-0123456789"
    data = _nats_secret(render(chart, {"nats": {"auth": {"passwords": {"agents": given}}}}))
    assert data["nats-password-agents"] == given
    users = {user["user"]: user for user in json.loads(data["auth.conf"])["authorization"]["users"]}
    assert users["agents"]["password"] == given
    with pytest.raises(helm.HelmValuesError):
        render(chart, {"nats": {"auth": {"passwords": {"agents": "short"}}}})
    with pytest.raises(helm.HelmValuesError):
        render(chart, {"nats": {"auth": {"passwords": {"someone": given}}}})


def test_with_an_existing_secret_the_passwords_come_from_it(chart: helm.Chart) -> None:
    objects = render(chart, SCENARIOS["existing-secret-and-pvc"])
    assert NATS_SECRET not in of_kind(objects, "Secret")
    refs = secret_refs(container(objects, "agents")["env"])
    assert refs["AGENTMESH_NATS_PASSWORD"] == ("agentmesh-prod", "nats-password-agents")


def test_auth_can_be_turned_off(chart: helm.Chart) -> None:
    objects = render(chart, {"nats": {"auth": {"enabled": False}}})
    assert NATS_SECRET not in of_kind(objects, "Secret")
    for component in COMPONENTS:
        assert not any("NATS" in var["name"] for var in container(objects, component)["env"])


async def test_a_nats_server_with_the_rendered_auth_conf(chart: helm.Chart, tmp_path: Path) -> None:
    data = _nats_secret(render(chart))
    (tmp_path / "auth.conf").write_text(data["auth.conf"])
    # As the NATS chart's `$include` does: the server's own configuration includes the file.
    (tmp_path / "nats.conf").write_text("include ./auth.conf\n")
    port = free_port()
    argv = [binary("nats-server"), "-c", str(tmp_path / "nats.conf"), "-a", "127.0.0.1", "-p", str(port)]
    server = ManagedProcess("nats", [*argv, "-js", "-sd", str(tmp_path / "store")], tmp_path / "nats.log")
    server.start()
    try:
        wait_for_port("127.0.0.1", port, 15, "nats-server")
        url = f"nats://127.0.0.1:{port}"
        agents = await bus.connect(url, "agents", "agents", data["nats-password-agents"])
        memory = await nats.connect(url, user="memory", password=data["nats-password-memory"])
        try:
            js = agents.jetstream()
            await bus.ensure_streams(js)
            mailbox = subjects.inbox_subject("p1", "a1", partitions=8)
            assert (await js.publish(mailbox, b"real", stream=subjects.INBOX_STREAM)).seq == 1
            with pytest.raises(NatsTimeout):
                await memory.jetstream(timeout=1).publish(mailbox, b"forged", stream=subjects.INBOX_STREAM)
            assert (await js.stream_info(subjects.INBOX_STREAM)).state.messages == 1
        finally:
            await memory.close()
            await agents.close()
    finally:
        server.stop()
