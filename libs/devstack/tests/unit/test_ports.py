"""Free ports come from below the kernel's ephemeral range, where client connections never land."""

import socket

import pytest

from agentmesh_devstack import ports


def test_free_ports_are_distinct_unused_and_below_the_ephemeral_range() -> None:
    chosen = ports.free_ports(8)

    assert len(set(chosen)) == 8
    assert all(ports.LOWEST_PORT <= port < ports.ephemeral_start() for port in chosen)
    for port in chosen:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # nobody holds it


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        free = ports.free_port()
        picks = iter([busy, busy, free])
        monkeypatch.setattr(ports._chance, "randrange", lambda low, high: next(picks))

        assert ports.free_ports(1) == [free]


def test_it_gives_up_when_every_try_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        monkeypatch.setattr(ports._chance, "randrange", lambda low, high: busy)

        with pytest.raises(RuntimeError, match="no 1 free ports"):
            ports.free_ports(1)
