"""The WebFetcher over httpx: resolve once, check every address, connect to the checked one.

Each hop resolves its host with getaddrinfo, refuses it when ANY of the
addresses fails the policy (domain/web.py), and sends the request to the
first checked address itself, with the original Host header and, for HTTPS,
the original name as SNI (httpcore's `sni_hostname` extension, which is also
the name the certificate is verified against). No second resolution happens,
so a rebinding DNS answer cannot reach an internal address. Redirects are
followed by hand, each hop checked again, at most `max_redirects`. The body
is streamed and cut at the byte cap; the whole fetch is under one deadline.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import httpx

from agentmesh_agents.domain.web import FetchedPage, address_refusal, normal_host
from agentmesh_core.errors import PermissionDenied, Unavailable

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PORTS = {"http": 80, "https": 443}

Policy = Callable[[str], str | None]


class HttpxWebFetcher:
    """GET with the address policy enforced per hop; `policy` is injectable only for tests."""

    def __init__(self, max_redirects: int = 5, policy: Policy = address_refusal) -> None:
        self._max_redirects = max_redirects
        self._policy = policy

    async def fetch(self, url: str, host_allowed: Callable[[str], bool], max_bytes: int, timeout: float) -> FetchedPage:
        try:
            async with asyncio.timeout(timeout):
                return await self._fetch(url, host_allowed, max_bytes, timeout)
        except TimeoutError:
            raise Unavailable(f"the site did not answer within {timeout:g} seconds") from None
        except httpx.HTTPError as error:
            log.info("http_fetch failed: %s", type(error).__name__)
            raise Unavailable(f"the site could not be reached ({type(error).__name__})") from None

    async def _fetch(
        self, url: str, host_allowed: Callable[[str], bool], max_bytes: int, timeout: float
    ) -> FetchedPage:
        current = _parse(url)
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout) as client:
            for _ in range(self._max_redirects + 1):
                target, host = await self._checked(current, host_allowed)
                request = client.build_request(
                    "GET",
                    target,
                    headers={"Host": current.netloc.decode("ascii"), "Accept": "text/*, application/json;q=0.9"},
                    extensions={"sni_hostname": host},
                )
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        current = _parse(str(current.join(location)))
                        continue
                    return await _page(current, response, max_bytes)
                finally:
                    await response.aclose()
        raise PermissionDenied(f"more than {self._max_redirects} redirects")

    async def _checked(self, url: httpx.URL, host_allowed: Callable[[str], bool]) -> tuple[httpx.URL, str]:
        """The URL to send (host replaced by a checked address) and the original host name."""
        host = normal_host(url.host)
        if not host_allowed(host):
            raise PermissionDenied(f"host {host!r} is not allowed for this agent")
        port = url.port or _PORTS[url.scheme]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise Unavailable(f"host {host!r} could not be resolved") from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise Unavailable(f"host {host!r} could not be resolved")
        for address in addresses:
            refusal = self._policy(address)
            if refusal is not None:
                log.warning("http_fetch refused %s: %s", host, refusal)
                raise PermissionDenied(f"host {host!r} refused: {refusal}")
        return url.copy_with(host=addresses[0].split("%", 1)[0], port=port), host


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise PermissionDenied("not a valid URL") from None
    if parsed.scheme not in _PORTS:
        raise PermissionDenied("only http and https URLs can be fetched")
    if not parsed.host:
        raise PermissionDenied("the URL has no host")
    if parsed.userinfo:
        raise PermissionDenied("URLs with credentials are not fetched")
    return parsed


async def _page(url: httpx.URL, response: httpx.Response, max_bytes: int) -> FetchedPage:
    body = bytearray()
    truncated = False
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            del body[max_bytes:]
            truncated = True
            break
    encoding = response.charset_encoding or "utf-8"
    try:
        text = bytes(body).decode(encoding, errors="replace")
    except LookupError:
        text = bytes(body).decode("utf-8", errors="replace")
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()[:100]
    return FetchedPage(str(url), response.status_code, content_type, text, truncated)
