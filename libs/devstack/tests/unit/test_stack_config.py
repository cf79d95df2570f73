"""A mesh's ports: `make run`'s each overridable, an ephemeral mesh's services' chosen once the infrastructure runs."""

from pathlib import Path

import pytest

from agentmesh_devstack.stack import INFRASTRUCTURE_PORTS, SERVICE_PORTS, StackConfig


def test_ephemeral_config_leaves_the_service_ports_for_later(tmp_path: Path) -> None:
    config = StackConfig.ephemeral(tmp_path)

    assert all(getattr(config, name) > 0 for name in INFRASTRUCTURE_PORTS)
    assert all(getattr(config, name) == 0 for name in SERVICE_PORTS)


def test_service_ports_are_chosen_free_and_distinct_keeping_those_given(tmp_path: Path) -> None:
    config = StackConfig.ephemeral(tmp_path, gateway_port=18123).with_service_ports()

    chosen = [getattr(config, name) for name in SERVICE_PORTS if name != "gateway_port"]
    assert config.gateway_port == 18123
    assert all(port > 0 for port in chosen)
    assert len(set(chosen)) == len(chosen)


def test_every_port_of_make_run_is_overridden_by_its_agentmesh_port_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = INFRASTRUCTURE_PORTS + SERVICE_PORTS
    wanted = {name: 20_000 + index for index, name in enumerate(names)}
    for name, port in wanted.items():
        monkeypatch.setenv(f"AGENTMESH_{name.removesuffix('_port').upper()}_PORT", str(port))

    config = StackConfig.local(tmp_path)

    assert {name: getattr(config, name) for name in names} == wanted
