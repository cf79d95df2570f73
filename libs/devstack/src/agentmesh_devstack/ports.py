"""Free ports and readiness waits."""

from __future__ import annotations

import contextlib
import random
import socket
import time
from pathlib import Path

# Ports are chosen below the range the kernel hands out to outgoing connections (Linux:
# ip_local_port_range, 32768-60999 by default). A port chosen there (as binding to port 0
# does) and bound seconds later by a starting service can meanwhile become some client
# connection's local port: a mesh's memory service once failed to bind with EADDRINUSE.
LOWEST_PORT = 10_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_START = 32_768
_ATTEMPTS = 1_000
_NARROWEST_RANGE = 1_000  # below this many ports under the ephemeral range, the kernel's word is not taken
# Its own source: a test that seeds the global `random` must not make workers pick alike.
_chance = random.SystemRandom()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports nobody uses right now, below the ephemeral range (each held until all are chosen)."""
    below = ephemeral_start()
    chosen: list[int] = []
    tries = iter(range(_ATTEMPTS))
    with contextlib.ExitStack() as held:
        while len(chosen) < count:
            if next(tries, None) is None:
                raise RuntimeError(f"no {count} free ports on {host} between {LOWEST_PORT} and {below}")
            port = _chance.randrange(LOWEST_PORT, below)
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind((host, port))
            except OSError:  # in use (a port chosen already is too: it is held)
                continue
            chosen.append(port)
    return chosen


def ephemeral_start() -> int:
    """The first port the kernel may give an outgoing connection (32768 where it does not say)."""
    try:
        start = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_START
    return start if start >= LOWEST_PORT + _NARROWEST_RANGE else _DEFAULT_EPHEMERAL_START


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    """Block until host:port accepts connections, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s")
