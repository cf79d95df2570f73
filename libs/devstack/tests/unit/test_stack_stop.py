"""Stopping the mesh stops every part, in order, even when one of them fails to stop."""

from pathlib import Path

import pytest

from agentmesh_devstack.stack import SERVICES, Stack, StackConfig


class Part:
    def __init__(self, name: str, stopped: list[str], fails: bool = False) -> None:
        self.name, self.stopped, self.fails = name, stopped, fails

    def stop(self, grace: float = 0.0) -> None:
        self.stopped.append(self.name)
        if self.fails:
            raise TimeoutError(f"{self.name} outlived its SIGKILL")


def stack_of_parts(tmp_path: Path, stopped: list[str], failing: str = "") -> Stack:
    stack = Stack(StackConfig.ephemeral(tmp_path))
    stack.services = {name: Part(name, stopped, name == failing) for name in SERVICES}  # type: ignore[misc]
    for name in ("temporal", "nats", "postgres"):
        setattr(stack, name, Part(name, stopped, name == failing))
    return stack


def test_services_stop_gateway_first_then_the_infrastructure(tmp_path: Path) -> None:
    stopped: list[str] = []

    stack_of_parts(tmp_path, stopped).stop()

    assert stopped == [*reversed(SERVICES), "temporal", "nats", "postgres"]


@pytest.mark.parametrize("failing", ["gateway", "agents", "temporal"])
def test_a_part_that_fails_to_stop_leaves_no_other_running(tmp_path: Path, failing: str) -> None:
    stopped: list[str] = []
    stack = stack_of_parts(tmp_path, stopped, failing)

    with pytest.raises(TimeoutError, match=failing):
        stack.stop()

    assert stopped == [*reversed(SERVICES), "temporal", "nats", "postgres"]
    assert stack.services == {}
