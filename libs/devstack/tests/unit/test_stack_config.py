"""An ephemeral mesh's ports: the services' are chosen only once the infrastructure runs."""

from pathlib import Path

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
