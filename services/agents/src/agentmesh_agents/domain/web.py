"""What http_fetch may reach: the address policy and the allowlist match, kept pure.

The policy is applied to every address a host name resolves to, after
resolution, and the connection then goes to the checked address itself, so a
second resolution (DNS rebinding) cannot swap in an internal one. Everything
that is not a public unicast address is refused, including the IPv6 forms
that embed an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64), because Python's
flags look only at the outer address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_FLAGS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """What a fetch brought back (the body already capped and decoded)."""

    url: str
    status: int
    content_type: str
    text: str
    truncated: bool


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """Why http_fetch may not connect to this address, or None for a public unicast one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            candidates.append(embedded)
    for candidate in candidates:
        for flag, what in _FLAGS:
            if getattr(candidate, flag):
                return f"{address} is {what}"
        if not candidate.is_global:
            return f"{address} is not a public address"
    return None


def normal_host(host: str) -> str:
    """A host as the allowlist compares it: lower case, no trailing dot, IP literals compressed."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def host_allowed(host: str, allowlist: list[str]) -> bool:
    """True when the host is on the allowlist (`*.example.com` matches its subdomains, not itself)."""
    host = normal_host(host)
    for entry in allowlist:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == normal_host(entry):
            return True
    return False
