"""ensure_streams declares every stream with the configured number of replicas,
and updates streams that already exist to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from agentmesh_events import bus, subjects


@dataclass
class FakeJetStream:
    """add_stream refuses names it already holds (as JetStream does when the config differs)."""

    existing: set[str] = field(default_factory=set)
    added: list[StreamConfig] = field(default_factory=list)
    updated: list[StreamConfig] = field(default_factory=list)

    async def add_stream(self, config: StreamConfig, **_: Any) -> None:
        if config.name in self.existing:
            raise BadRequestError(code=400, err_code=10058, description="stream name already in use")
        self.added.append(config)

    async def update_stream(self, config: StreamConfig, **_: Any) -> None:
        self.updated.append(config)


async def test_streams_get_one_replica_by_default() -> None:
    js = FakeJetStream()
    await bus.ensure_streams(js)  # type: ignore[arg-type]
    assert {c.name for c in js.added} == {subjects.INBOX_STREAM, subjects.EVENTS_STREAM, subjects.SYSTEM_STREAM}
    assert {c.num_replicas for c in js.added} == {1}


async def test_existing_streams_are_updated_to_the_replica_count() -> None:
    js = FakeJetStream(existing={subjects.INBOX_STREAM})
    await bus.ensure_streams(js, replicas=3)  # type: ignore[arg-type]
    assert [(c.name, c.num_replicas) for c in js.updated] == [(subjects.INBOX_STREAM, 3)]
    assert [(c.name, c.num_replicas) for c in js.added] == [(subjects.EVENTS_STREAM, 3), (subjects.SYSTEM_STREAM, 3)]


@pytest.mark.parametrize("replicas", [0, 6])
async def test_replicas_outside_what_jetstream_allows_are_refused(replicas: int) -> None:
    js = FakeJetStream()
    with pytest.raises(ValueError, match=r"1\.\.5"):
        await bus.ensure_streams(js, replicas=replicas)  # type: ignore[arg-type]
    assert js.added == []
