"""http_fetch: GET a web page from a host the grant allows (restricted: Superadmins grant it).

The grant's config names the hosts (`allowed_hosts`, required) and may lower
the size and time caps. The network side, with its address policy (no
private, loopback, link-local, multicast, reserved or unspecified address,
checked after DNS resolution, every redirect hop again), is the WebFetcher
port's; this module decides what may be asked and shapes the answer.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from agentmesh_agents.domain.ports import WebFetcher
from agentmesh_agents.domain.tooling import CallContext, Observation, config_by_schema
from agentmesh_agents.domain.web import host_allowed, normal_host

URL_MAX_CHARS = 2048
MAX_BYTES = 1_000_000
DEFAULT_MAX_BYTES = 200_000
MAX_SECONDS = 30.0
DEFAULT_SECONDS = 10.0
TEXT_MAX_CHARS = 20_000
# A DNS name (or dotted IPv4), optionally `*.` for subdomains; or an IPv6 literal.
_HOST = r"^((\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?|[0-9A-Fa-f:.]{2,45})$"


class HttpFetch:
    """The http_fetch tool over a WebFetcher."""

    name = "http_fetch"
    description = "Fetch a web page with HTTP GET (only hosts this agent is allowed); returns its text."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"url": {"type": "string", "minLength": 8, "maxLength": URL_MAX_CHARS, "pattern": "^https?://"}},
        "required": ["url"],
        "additionalProperties": False,
    }
    restricted = True
    requires_approval = False
    _config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "allowed_hosts": {
                "type": "array",
                "minItems": 1,
                "maxItems": 64,
                "items": {"type": "string", "maxLength": 253, "pattern": _HOST},
            },
            "max_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_BYTES},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS},
        },
        "required": ["allowed_hosts"],
        "additionalProperties": False,
    }

    def __init__(self, fetcher: WebFetcher) -> None:
        self._fetcher = fetcher

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config_by_schema(self._config_schema, config, self.name)
        return {**config, "allowed_hosts": sorted({normal_host(host) for host in config["allowed_hosts"]})}

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        allowlist = list(config.get("allowed_hosts") or [])
        if not allowlist:
            return Observation("error: this grant allows no hosts", error=True)
        max_bytes = min(int(config.get("max_bytes", DEFAULT_MAX_BYTES)), MAX_BYTES)
        timeout = min(float(config.get("timeout_seconds", DEFAULT_SECONDS)), MAX_SECONDS, call.timeout)
        page = await self._fetcher.fetch(
            arguments["url"], partial(host_allowed, allowlist=allowlist), max_bytes, timeout
        )
        text = page.text[:TEXT_MAX_CHARS]
        cut = " (truncated)" if page.truncated or len(page.text) > TEXT_MAX_CHARS else ""
        header = f"HTTP {page.status} {page.content_type or 'unknown type'} from {page.url}{cut}"
        return Observation(f"{header}\n\n{text}", error=page.status >= 400)
