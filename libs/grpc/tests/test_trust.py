"""Each receiver's trust in its callers: what each service's key may assert, and where."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import PermissionDenied, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.service_keys import SERVICE_NAMES, new_keyring, public_key_of
from agentmesh_core.settings import CommonSettings
from agentmesh_grpc.trust import CALLERS, ServiceKeys, audience_of

ROOT = Identity("root", GlobalRole.SUPERADMIN)
ADMIN = Identity("u", GlobalRole.USER, "p1", ProjectRole.ADMIN)
GET_AGENT = "/agentmesh.agents.v1.AgentService/GetAgent"
DELETE_AGENT = "/agentmesh.agents.v1.AgentService/DeleteAgent"
ADD = "/agentmesh.memory.v1.MemoryService/AddMemories"
REPORT = "/agentmesh.agents.v1.AgentService/ReportSystemEvent"


def _as(issuer: str) -> Identity:
    return Identity(issuer, GlobalRole.SERVICE)


def _admit(issuer: str, receiver: str, identity: Identity, method: str) -> Identity:
    token = ServiceKeys.local(issuer).signer.issue(identity, receiver)
    return ServiceKeys.local(receiver).trust.admit(token, method)


@pytest.mark.parametrize(
    ("issuer", "receiver", "identity", "method"),
    [
        ("gateway", "agents", ROOT, DELETE_AGENT),
        ("gateway", "memory", ADMIN, ADD),
        ("gateway", "agents", _as("scheduler"), DELETE_AGENT),
        ("scheduler", "agents", ROOT, GET_AGENT),
        ("scheduler", "agents", _as("scheduler"), DELETE_AGENT),
        ("agents", "memory", _as("agents"), ADD),
        ("agents", "inference", _as("agents"), "/agentmesh.inference.v1.InferenceService/Generate"),
        ("memory", "agents", _as("memory"), GET_AGENT),
        ("scheduler", "agents", _as("scheduler"), REPORT),
    ],
)
def test_callers_assert_what_they_may(issuer: str, receiver: str, identity: Identity, method: str) -> None:
    assert _admit(issuer, receiver, identity, method) == identity


@pytest.mark.parametrize(
    ("issuer", "receiver", "identity", "method"),
    [
        ("memory", "agents", ROOT, GET_AGENT),
        ("memory", "agents", ADMIN, GET_AGENT),
        ("memory", "agents", _as("memory"), DELETE_AGENT),
        ("memory", "agents", _as("gateway"), GET_AGENT),
        ("agents", "memory", ROOT, ADD),
        ("agents", "memory", _as("scheduler"), ADD),
        ("scheduler", "agents", _as("gateway"), GET_AGENT),
        # Only the scheduler's key reports system events: the gateway, which may assert anyone, may not.
        ("gateway", "agents", _as("scheduler"), REPORT),
        ("gateway", "agents", ROOT, REPORT),
        ("memory", "agents", _as("memory"), REPORT),
    ],
)
def test_callers_are_refused_what_they_may_not_assert(
    issuer: str, receiver: str, identity: Identity, method: str
) -> None:
    with pytest.raises(PermissionDenied):
        _admit(issuer, receiver, identity, method)


@pytest.mark.parametrize(
    ("issuer", "receiver"), [("memory", "scheduler"), ("inference", "agents"), ("agents", "agents")]
)
def test_a_service_that_is_not_a_caller_is_not_trusted(issuer: str, receiver: str) -> None:
    with pytest.raises(Unauthenticated):
        _admit(issuer, receiver, _as(issuer), "/agentmesh.x.v1.X/Y")


def test_every_service_has_its_callers_listed() -> None:
    assert set(CALLERS) == set(SERVICE_NAMES)
    assert all(set(callers) <= set(SERVICE_NAMES) for callers in CALLERS.values())


def test_the_audience_is_the_service_owning_the_package() -> None:
    assert audience_of(GET_AGENT) == "agents"
    assert audience_of("/agentmesh.scheduler.v1.SchedulerService/CreateSchedule") == "scheduler"


def test_configured_keys_must_include_every_caller_of_the_service() -> None:
    keyring = new_keyring()
    public = {name: public_key_of(key) for name, key in keyring.items() if name != "memory"}
    settings = CommonSettings(identity_key=keyring["agents"], identity_public_keys=public)  # type: ignore[arg-type]
    assert ServiceKeys.from_settings("memory", settings).name == "memory"  # memory's callers' keys are all there
    with pytest.raises(ValueError, match="lacks the key of memory"):
        ServiceKeys.from_settings("agents", settings)
