"""The Temporal client behind the scheduler's API calls, and whether Temporal was reachable lately;
`TemporalEngine`, what the schedule and job engines built on it share.

A call that cannot reach Temporal takes the client's whole retry budget
(AGENTMESH_TEMPORAL_RETRY_SECONDS) before it fails, and callers retry
UNAVAILABLE themselves (every agentmesh channel makes 3 attempts), so each
schedule call would cost several budgets. Once a call found Temporal
unreachable, calls fail at once with Unavailable instead, until a probe in the
background finds Temporal answering again (every `probe_interval` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from agentmesh_core.errors import Unavailable
from agentmesh_scheduler.adapters.temporal_search import SearchAttributes

log = logging.getLogger(__name__)


class TemporalLink:
    """Hands out the client while Temporal is reachable; Unavailable before attach and while it is not."""

    def __init__(self, client: Client | None = None, probe_interval: float = 0.5) -> None:
        self._client = client
        self._probe_interval = probe_interval
        self._probe: asyncio.Task[None] | None = None

    def attach(self, client: Client) -> None:
        """Use this connected client from now on."""
        self._client = client

    @property
    def down(self) -> bool:
        """A call found Temporal unreachable, and no probe has reached it since."""
        return self._probe is not None and not self._probe.done()

    @property
    def client(self) -> Client:
        """The client; Unavailable at once when there is none yet, or Temporal is known to be down."""
        if self._client is None or self.down:
            raise Unavailable("temporal unavailable")
        return self._client

    def failed(self, error: RPCError) -> None:
        """Note a failed call: one that could not reach Temporal starts the probe."""
        if error.status == RPCStatusCode.UNAVAILABLE and self._client is not None and not self.down:
            log.warning("temporal unreachable; schedule and job calls answer UNAVAILABLE until it is back")
            self._probe = asyncio.get_running_loop().create_task(self._wait_for_temporal(self._client))

    async def _wait_for_temporal(self, client: Client) -> None:
        while True:
            await asyncio.sleep(self._probe_interval)
            try:
                await client.service_client.check_health()
            except RPCError:
                continue
            log.info("temporal reachable again")
            return

    async def close(self) -> None:
        """Stop a running probe."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe


class TemporalEngine:
    """What the schedule and job engines share: the link, their task queue, a call's timeout, search attributes."""

    def __init__(
        self,
        task_queue: str,
        client: Client | None = None,
        rpc_timeout_seconds: float = 10.0,
        search_attributes: SearchAttributes | None = None,
        link: TemporalLink | None = None,
    ) -> None:
        self._link = link or TemporalLink(client)
        self._task_queue = task_queue
        self._timeout = timedelta(seconds=rpc_timeout_seconds)
        self._search = search_attributes or SearchAttributes()

    @property
    def _client(self) -> Client:
        return self._link.client
