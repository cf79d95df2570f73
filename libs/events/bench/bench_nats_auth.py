"""What NATS users with permissions cost the mailbox path: a nats-server without
authorization (before) vs the devstack's, with a user per service (after).

Per round, as the agents service: N JetStream publishes into one mailbox partition,
then a pull consumer fetches and acks them all. The two servers run side by side
and the rounds interleave; the figure is the median of the per-round ratios.

    python libs/events/bench/bench_nats_auth.py [--messages 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from agentmesh_devstack.bench import Rounds, ratio
from agentmesh_devstack.infra import NatsServer, binary
from agentmesh_devstack.ports import free_port, wait_for_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_events import bus, subjects

PAYLOAD = b"x" * 200


async def one_round(url: str, messages: int, user: str = "", password: str = "") -> float:
    """Seconds to publish `messages` into a partition and fetch and ack them all."""
    nc = await bus.connect(url, "bench-nats-auth", user, password)
    js = nc.jetstream()
    await bus.ensure_streams(js)
    await js.purge_stream(subjects.INBOX_STREAM)
    started = time.perf_counter()
    for i in range(messages):
        await js.publish(f"am.inbox.0.p.a{i % 20}", PAYLOAD, stream=subjects.INBOX_STREAM)
    consumer = await js.pull_subscribe(
        subjects.inbox_partition_filter(0), durable="bench", stream=subjects.INBOX_STREAM
    )
    taken = 0
    while taken < messages:
        for msg in await consumer.fetch(100, timeout=5):
            await msg.ack()
            taken += 1
    elapsed = time.perf_counter() - started
    await js.delete_consumer(subjects.INBOX_STREAM, "bench")
    await nc.close()
    return elapsed


async def run(messages: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-nats-auth-"))
    with_users = NatsServer("127.0.0.1", free_port(), root / "users", root)
    with_users.start()
    port = free_port()
    argv = [binary("nats-server"), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(root / "open")]
    without = ManagedProcess("nats-open", argv, root / "open.log")
    without.start()
    try:
        wait_for_port("127.0.0.1", port, 15, "nats-server")
        user, password = with_users.service_env("agents").values()
        before, after = [], []
        for _ in range(rounds):
            before.append(await one_round(f"nats://127.0.0.1:{port}", messages))
            after.append(await one_round(with_users.url, messages, user, password))
    finally:
        with_users.stop()
        without.stop()
    ratios = [a / b for a, b in zip(after, before, strict=True)]
    print(f"{messages} mailbox messages published, fetched and acked, {rounds} interleaved rounds:")
    print(f"  no authorization     median {statistics.median(before) * 1000:8.1f} ms")
    print(f"  a user per service   median {statistics.median(after) * 1000:8.1f} ms")
    print(f"  per-round ratios users/none {[round(r, 3) for r in ratios]}")
    ratio("a user per service / no authorization (medians over the rounds)",
          Rounds("a user per service", "ms", [t * 1000 for t in after]),
          Rounds("no authorization", "ms", [t * 1000 for t in before]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.messages, args.rounds))


if __name__ == "__main__":
    main()
