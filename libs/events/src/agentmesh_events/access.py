"""Who may use which NATS subjects: one NATS user per service, limited to what it uses.

Only the agents service uses the bus (it declares the streams of the subject
table, posts and takes mailboxes, publishes and watches conversation events). The gateway connects for
its readiness probe only; memory, inference and the scheduler do not connect
today. Every service still has a user, allowed nothing unless listed here, so a
stolen password of any other service reads no conversation and posts into no
mailbox, and a service that starts publishing (system events, say) needs one line.

`server_users` renders the table as the `authorization.users` list of a
nats-server configuration: the devstack writes it for `make run` and the test
meshes; `python -m agentmesh_events.access` prints the permissions the Helm
chart renders for a NATS cluster (deploy/k8s/agentmesh/files/nats-permissions.json).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from agentmesh_events import subjects

# nats-server subject wildcards: `*` one token, `>` the rest.
EVERYTHING = ">"


@dataclass(frozen=True, slots=True)
class Permissions:
    """Subjects a user may publish to and subscribe to; nothing else."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()


def _stream_api(stream: str) -> tuple[str, ...]:
    """The JetStream API requests one stream's owner makes, and the replies it sends (acks, flow control)."""
    api = "$JS.API"
    return (
        *(f"{api}.STREAM.{op}.{stream}" for op in ("CREATE", "UPDATE", "INFO", "PURGE")),
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        *(f"{api}.CONSUMER.{op}.{stream}" for op in ("CREATE", "LIST", "NAMES")),
        f"{api}.CONSUMER.CREATE.{stream}.>",
        *(f"{api}.CONSUMER.{op}.{stream}.*" for op in ("DURABLE.CREATE", "INFO", "DELETE", "MSG.NEXT")),
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


PERMISSIONS: Mapping[str, Permissions] = {
    # It declares every stream of the subject table and publishes to and reads each of them.
    "agents": Permissions(
        publish=tuple(
            subject for family in subjects.FAMILIES for subject in (family.wildcard, *_stream_api(family.stream))
        ),
        # Replies to its requests and its push consumers' deliveries come to its own inboxes.
        subscribe=("_INBOX.>",),
    ),
    "gateway": Permissions(),  # readiness: CONNECT and PING only
    "memory": Permissions(),
    "inference": Permissions(),
    "scheduler": Permissions(),
}


def _rule(allowed: tuple[str, ...]) -> dict[str, list[str]]:
    # A user without a rule may use everything: deny all when nothing is allowed.
    return {"allow": list(allowed)} if allowed else {"deny": [EVERYTHING]}


def server_permissions() -> dict[str, dict[str, dict[str, list[str]]]]:
    """Each service's nats-server `permissions` block, by service."""
    return {
        service: {"publish": _rule(rules.publish), "subscribe": _rule(rules.subscribe)}
        for service, rules in PERMISSIONS.items()
    }


def server_users(passwords: Mapping[str, str]) -> list[dict[str, object]]:
    """nats-server `authorization.users` entries, one per service, with its password and permissions."""
    return [
        {"user": service, "password": passwords[service], "permissions": permissions}
        for service, permissions in server_permissions().items()
    ]


if __name__ == "__main__":
    # The chart's copy (deploy/k8s/agentmesh/files/nats-permissions.json) is this output;
    # tests/deploy/test_chart_nats_auth.py checks that they agree.
    print(json.dumps(server_permissions(), indent=2))
