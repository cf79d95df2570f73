"""http_fetch's network side against a local HTTP server: allowlist, address policy, redirects, caps.

The server listens on 127.0.0.1, which the real policy refuses; the tests of
the happy paths pass a policy that admits exactly that address, the refusal
tests use the real one and check that the server never saw a request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentmesh_agents.adapters.web_fetcher import HttpxWebFetcher
from agentmesh_agents.domain.web import address_refusal, host_allowed
from agentmesh_core.errors import PermissionDenied, Unavailable


@dataclass
class Site:
    """The local server: its port and what it received."""

    port: int
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Host header

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, self.headers.get("Host", "")))
            if self.path.startswith("/redirect?to="):
                self.send_response(302)
                self.send_header("Location", self.path.removeprefix("/redirect?to="))
                self.end_headers()
            elif self.path == "/big":
                body = b"x" * 100_000
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            elif self.path == "/slow":
                time.sleep(2)
                self.send_response(200)
                self.end_headers()
            else:
                body = "héllo from the page".encode()
                self.send_response(404 if self.path == "/missing" else 200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _local_only(address: str) -> str | None:
    """The real policy, except that the test server's own address is admitted."""
    return None if address == "127.0.0.1" else address_refusal(address)


def _allow(*hosts: str) -> Any:
    return lambda host: host_allowed(host, list(hosts))


async def test_an_allowed_host_is_fetched_with_get_and_its_own_host_header(site: Site) -> None:
    fetcher = HttpxWebFetcher(policy=_local_only)
    page = await fetcher.fetch(site.url("/page"), _allow("127.0.0.1"), 10_000, 5)
    assert (page.status, page.content_type, page.text, page.truncated) == (
        200,
        "text/plain",
        "héllo from the page",
        False,
    )
    assert site.requests == [("GET", "/page", f"127.0.0.1:{site.port}")]
    missing = await fetcher.fetch(site.url("/missing"), _allow("127.0.0.1"), 10_000, 5)
    assert missing.status == 404


async def test_a_host_off_the_allowlist_is_refused_before_any_connection(site: Site) -> None:
    fetcher = HttpxWebFetcher(policy=_local_only)
    with pytest.raises(PermissionDenied, match="not allowed"):
        await fetcher.fetch(site.url("/page"), _allow("example.org"), 10_000, 5)
    with pytest.raises(PermissionDenied, match="not allowed"):
        await fetcher.fetch(site.url("/page", host="localhost"), _allow("127.0.0.1"), 10_000, 5)
    assert site.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "[::1]",
        "[::]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[fe80::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::1]",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f.1",  # 127.0.0.1 in hex, short form
        "0177.0.0.1",  # 127.0.0.1 in octal
        "017700000001",  # 127.0.0.1 as one octal number
        "localhost",  # a DNS name resolving to loopback
        "localhost.",
    ],
)
async def test_internal_addresses_are_refused_after_resolution(site: Site, host: str) -> None:
    # The host is on the allowlist: only the address policy stands between the model and the network.
    fetcher = HttpxWebFetcher()
    with pytest.raises((PermissionDenied, Unavailable)) as refused:
        await fetcher.fetch(site.url("/page", host=host), _allow(host.strip("[]")), 10_000, 2)
    assert isinstance(refused.value, PermissionDenied) or "resolved" in refused.value.message
    assert site.requests == []


async def test_redirects_are_followed_by_hand_and_every_hop_checked(site: Site) -> None:
    fetcher = HttpxWebFetcher(policy=_local_only)
    allow = _allow("127.0.0.1", "169.254.169.254", "example.org")
    page = await fetcher.fetch(site.url("/redirect?to=/page"), allow, 10_000, 5)
    assert (page.status, page.text) == (200, "héllo from the page")
    with pytest.raises(PermissionDenied, match="not allowed"):
        await fetcher.fetch(site.url("/redirect?to=http://evil.example/"), allow, 10_000, 5)
    with pytest.raises(PermissionDenied, match="link-local"):
        await fetcher.fetch(site.url("/redirect?to=http://169.254.169.254/latest/meta-data/"), allow, 10_000, 5)
    with pytest.raises(PermissionDenied, match="only http"):
        await fetcher.fetch(site.url("/redirect?to=file:///etc/passwd"), allow, 10_000, 5)
    loop = site.url("/redirect?to=" + site.url("/redirect?to=/page"))
    with pytest.raises(PermissionDenied, match="redirects"):
        await HttpxWebFetcher(max_redirects=1, policy=_local_only).fetch(loop, allow, 10_000, 5)


async def test_the_body_is_cut_at_the_byte_cap_and_the_time_cap_holds(site: Site) -> None:
    fetcher = HttpxWebFetcher(policy=_local_only)
    page = await fetcher.fetch(site.url("/big"), _allow("127.0.0.1"), 1_000, 5)
    assert (len(page.text), page.truncated) == (1_000, True)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="within"):
        await fetcher.fetch(site.url("/slow"), _allow("127.0.0.1"), 1_000, 0.3)
    assert time.monotonic() - started < 1.5


async def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebinding DNS server would answer differently the second time; there is no second time.
    answers = iter(["127.0.0.1", "169.254.169.254"])
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    fetcher = HttpxWebFetcher(policy=_local_only)
    page = await fetcher.fetch(site.url("/page", host="rebind.test"), _allow("rebind.test"), 10_000, 5)
    assert page.status == 200
    assert asked == ["rebind.test"]
    assert site.requests == [("GET", "/page", f"rebind.test:{site.port}")]
