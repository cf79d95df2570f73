"""http_fetch's own rules: restricted, an allowlist required, caps bounded; the address policy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.domain.builtin_tools import builtin_tools, definition_of
from agentmesh_agents.domain.builtin_tools.http_fetch import MAX_SECONDS, HttpFetch
from agentmesh_agents.domain.tooling import CallContext, argument_errors
from agentmesh_agents.domain.web import FetchedPage, address_refusal, host_allowed
from agentmesh_core.errors import InvalidInput

CALL = CallContext("project-1", "agent-1", "message-1", "conversation-1", "call-1", timeout=5)


class RecordingFetcher:
    """A WebFetcher that answers one page and remembers what it was asked."""

    def __init__(self, text: str = "page text", status: int = 200, truncated: bool = False) -> None:
        self.page = FetchedPage("https://example.org/", status, "text/html", text, truncated)
        self.asked: list[tuple[str, Callable[[str], bool], int, float]] = []

    async def fetch(self, url: str, host_allowed: Callable[[str], bool], max_bytes: int, timeout: float) -> FetchedPage:
        self.asked.append((url, host_allowed, max_bytes, timeout))
        return self.page


def test_http_fetch_is_restricted_and_wants_an_allowlist() -> None:
    tool = HttpFetch(RecordingFetcher())
    definition = definition_of(tool)
    assert definition.restricted is True
    assert "http_fetch" in [t.name for t in builtin_tools(StaticMemory(), RecordingFetcher())]
    assert "http_fetch" not in [t.name for t in builtin_tools(StaticMemory())]
    for bad in [
        {},
        {"allowed_hosts": []},
        {"allowed_hosts": ["exa mple.org"]},
        {"allowed_hosts": ["http://x.org"]},
        {"allowed_hosts": ["x.org"], "max_bytes": 10**9},
        {"allowed_hosts": ["x.org"], "surprise": 1},
        {"allowed_hosts": ["x.org"], "timeout_seconds": MAX_SECONDS + 1},
    ]:
        with pytest.raises(InvalidInput):
            tool.validate_config(bad)
    config = tool.validate_config({"allowed_hosts": ["Example.ORG.", "*.docs.example.org", "::1"]})
    assert config["allowed_hosts"] == ["*.docs.example.org", "::1", "example.org"]
    assert argument_errors(tool.parameters, {"url": "ftp://example.org/x"}) is not None
    assert argument_errors(tool.parameters, {"url": "https://example.org/", "method": "POST"}) is not None
    assert argument_errors(tool.parameters, {"url": "https://example.org/" + "a" * 3000}) is not None


async def test_http_fetch_passes_the_grants_allowlist_and_caps_and_shapes_the_answer() -> None:
    fetcher = RecordingFetcher(text="x" * 30_000, truncated=False)
    tool = HttpFetch(fetcher)
    config = tool.validate_config({"allowed_hosts": ["example.org"], "max_bytes": 5_000, "timeout_seconds": 20})
    observation = await tool.run(CALL, {"url": "https://example.org/"}, config)
    url, allowed, max_bytes, timeout = fetcher.asked[0]
    assert (url, max_bytes, timeout) == ("https://example.org/", 5_000, 5)  # the call's timeout is lower
    assert allowed("example.org") and not allowed("evil.org") and not allowed("sub.example.org")
    assert observation.text.startswith("HTTP 200 text/html from https://example.org/ (truncated)")
    assert len(observation.text) < 20_200 and not observation.error
    fetcher.page = FetchedPage("https://example.org/", 500, "", "boom", False)
    assert (await tool.run(CALL, {"url": "https://example.org/"}, config)).error
    assert (await tool.run(CALL, {"url": "https://example.org/"}, {})).error  # a grant with no hosts


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd00::1",
        "fe80::1%eth0",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:c0a8:101::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "not-an-ip",
    ],
)
def test_the_address_policy_refuses_everything_but_public_unicast(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_the_address_policy_admits_public_addresses(address: str) -> None:
    assert address_refusal(address) is None


def test_the_allowlist_matches_names_exactly_or_subdomains_by_wildcard() -> None:
    allowlist = ["example.org", "*.docs.example.net"]
    assert host_allowed("EXAMPLE.org.", allowlist)
    assert host_allowed("a.docs.example.net", allowlist)
    assert not host_allowed("docs.example.net", allowlist)
    assert not host_allowed("example.org.evil.com", allowlist)
    assert not host_allowed("xdocs.example.net", allowlist)
