"""Who may call whom, asserting which identities: each receiver's trust in its callers.

Every internal call carries an identity token signed by the calling service with its
own key (agentmesh_core.tokens). A receiver accepts it only when

1. the signature is the named issuer's and the token is addressed to this receiver
   (audience) and unexpired: UNAUTHENTICATED otherwise;
2. that issuer is one of this receiver's callers, calls a method it may call, and
   asserts an identity it may assert (below): PERMISSION_DENIED otherwise.

So a compromised memory service, holding only memory's key, can assert only memory's
own service identity, and only on AgentService.GetAgent: it cannot mint a superadmin
call to agents, nor replay a user's token it received (those name memory as audience).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from agentmesh_core.errors import PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.service_keys import (
    SERVICE_NAMES,
    load_private_key,
    load_public_key,
    local_private_key,
    local_public_keys,
)
from agentmesh_core.settings import CommonSettings
from agentmesh_core.tokens import IdentitySigner, IdentityVerifier


class May(Enum):
    """Which identities an issuer may assert."""

    ANYONE = "anyone"  # the gateway: it authenticates users, so it vouches for any caller
    USERS = "users"  # its own service identity, and the users (superadmins too) it calls for
    ITSELF = "itself"  # only its own service identity


@dataclass(frozen=True)
class Grant:
    """What one issuer may do at one receiver; `methods` None: any method of the receiver but `denied`."""

    may: May
    methods: frozenset[str] | None = None
    denied: frozenset[str] = frozenset()

    def allows(self, issuer: str, identity: Identity, method: str) -> bool:
        if method in self.denied or (self.methods is not None and method not in self.methods):
            return False
        itself = identity.role is GlobalRole.SERVICE and identity.subject == issuer
        if self.may is May.ANYONE or itself:
            return True
        return self.may is May.USERS and identity.role is not GlobalRole.SERVICE


# Each receiver's callers, from who calls whom in the code: the gateway calls every
# service for its users; the scheduler calls agents as itself (fired schedules, job
# steps) and for the user creating a schedule (is the agent theirs?); agents call memory
# and inference as themselves; memory asks agents whether an agent exists, as itself.
# Only the scheduler reports system events to agents (its failed runs): the gateway, which
# may assert any identity, could otherwise assert the scheduler's (agents also checks that
# the reporter asserts its own service identity).
REPORT_SYSTEM_EVENT = "/agentmesh.agents.v1.AgentService/ReportSystemEvent"
CALLERS: Mapping[str, Mapping[str, Grant]] = {
    "agents": {
        "gateway": Grant(May.ANYONE, denied=frozenset({REPORT_SYSTEM_EVENT})),
        "scheduler": Grant(May.USERS),
        "memory": Grant(May.ITSELF, frozenset({"/agentmesh.agents.v1.AgentService/GetAgent"})),
    },
    "memory": {"gateway": Grant(May.ANYONE), "agents": Grant(May.ITSELF)},
    "inference": {"gateway": Grant(May.ANYONE), "agents": Grant(May.ITSELF)},
    "scheduler": {"gateway": Grant(May.ANYONE)},
    "gateway": {},
}


def audience_of(method: str) -> str:
    """The service a full method name is served by: `/agentmesh.<service>.v1.X/Y` -> `<service>`."""
    package = method.lstrip("/").split("/", 1)[0].split(".")
    return package[1] if len(package) > 2 and package[0] == "agentmesh" else package[0]


class Trust:
    """A receiver's check of incoming identities: signature, audience, then its callers' grants."""

    def __init__(self, verifier: IdentityVerifier, grants: Mapping[str, Grant]) -> None:
        self._verifier = verifier
        self._grants = grants

    def admit(self, token: str, method: str) -> Identity:
        """The identity token asserts, if its issuer may assert it here; Unauthenticated/PermissionDenied otherwise."""
        signed = self._verifier.verify(token)
        grant = self._grants.get(signed.issuer)
        if grant is None or not grant.allows(signed.issuer, signed.identity, method):
            raise PermissionDenied(f"{signed.issuer} may not make this call")
        return signed.identity


@dataclass(frozen=True)
class ServiceKeys:
    """One service's part in the mesh's identities: how it signs, and whom it trusts."""

    name: str
    signer: IdentitySigner
    trust: Trust

    @classmethod
    def of(cls, name: str, private_key: str, public_keys: Mapping[str, str]) -> ServiceKeys:
        """Keys as text (agentmesh_core.service_keys); a caller without a public key is not trusted."""
        grants = CALLERS.get(name, {})
        verifier = IdentityVerifier(
            name, {issuer: load_public_key(key) for issuer, key in public_keys.items() if issuer in grants}
        )
        return cls(name, IdentitySigner(name, load_private_key(private_key)), Trust(verifier, grants))

    @classmethod
    def local(cls, name: str) -> ServiceKeys:
        """Service `name`'s well-known local keys: what a service uses with nothing configured."""
        return cls.of(name, local_private_key(name), local_public_keys())

    @classmethod
    def from_settings(cls, name: str, settings: CommonSettings) -> ServiceKeys:
        """Service `name`'s keys from AGENTMESH_IDENTITY_KEY/_PUBLIC_KEYS (local defaults when unset)."""
        if name not in SERVICE_NAMES:
            raise ValueError(f"unknown service {name!r}")
        missing = set(CALLERS[name]) - set(settings.identity_public_keys)
        if settings.identity_public_keys and missing:
            raise ValueError(f"AGENTMESH_IDENTITY_PUBLIC_KEYS lacks the key of {', '.join(sorted(missing))}")
        return cls.of(name, settings.identity_private_key(name), settings.identity_verify_keys())
