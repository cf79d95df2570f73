"""A small model of Kubernetes NetworkPolicy semantics, to ask a rendered chart
"may this pod open that port on that pod?".

Follows the API's rules: a pod selected by no policy of a type is open in that
direction; otherwise a connection needs a rule that allows it in the source's
egress policies AND in the destination's ingress policies. A peer with only a
podSelector means pods in the policy's namespace; namespaceSelector and
podSelector in one peer must both match; ipBlock matches by address. Missing
`from`/`to` or `ports` means all. matchExpressions are refused (the chart uses
none), so the model never guesses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """A pod: its namespace (with the namespace's labels), labels and address."""

    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    ip: str = "10.0.0.1"

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector matches these labels ({} matches everything)."""
    selector = selector or {}
    assert not selector.get("matchExpressions"), "the model reads matchLabels only"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], other.namespace_labels)
    else:
        in_namespace = other.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector"), other.labels)


def port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports)


def _allows(
    policies: list[dict[str, Any]], pod: Endpoint, other: Endpoint, port: int, protocol: str, kind: str
) -> bool:
    direction, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    isolating = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and selects(p["spec"]["podSelector"], pod.labels)
        and kind in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not isolating:
        return True
    for policy in isolating:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(peer_matches(peer, pod.namespace, other) for peer in peers)
            if peer_ok and port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(
    policies: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether source may open port on destination under these NetworkPolicies."""
    return _allows(policies, source, destination, port, protocol, "Egress") and _allows(
        policies, destination, source, port, protocol, "Ingress"
    )
