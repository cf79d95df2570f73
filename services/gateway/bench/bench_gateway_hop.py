"""What the gateway hop costs: a REST read vs the same RPC called directly.

    python services/gateway/bench/bench_gateway_hop.py [--rounds 5] [--requests 300] [--parallel 32]

Starts a throwaway PostgreSQL and NATS, the agents service and the gateway as real
processes, and one project with 5 agents. The read is the agent list:
`GET /projects/{p}/agents` through the gateway (bearer token check, session and
membership lookups, identity signing, gRPC, JSON) vs `AgentService.ListAgents`
called directly over gRPC with a signed identity (what the gateway does inside).

The REST read is made twice: with httpx (what a Python app would use) and with a
lean keep-alive HTTP/1.1 client (`agentmesh_devstack.lean_http`, a few lines over
asyncio streams, as `wrk` would be). httpx alone costs about a millisecond a request
of the same two cores, more than the gRPC client does, so the hop itself (the goals)
is measured with the lean client, and the httpx figures are printed beside it.

One at a time, REST and the direct call alternate in blocks of `BLOCK` requests
(which goes first alternates by pair of blocks), so both see the machine within a
second of each other: the added latency is the median, over the pairs, of the
difference of the two blocks' medians. A noisy neighbour's burst moves it far less
than a comparison of two runs of 300 made seconds apart (within one hour on this
machine, five rounds each: +1.25 to +3.04 ms that way, +2.33 to +2.87 ms in blocks).
httpx runs its own block.

The framework's floor is measured the same way: `bare_relay.py`, one FastAPI route on
the gateway's server that relays ListAgents with no middleware, token check, access
lookup or response model, in alternating blocks with the direct call. What it adds
over the direct call is FastAPI's and uvicorn's; what the gateway adds beyond it is
the gateway's own work (on this machine, over a day's runs, the relay alone added
+0.51 to +1.20 ms). Then `--parallel` in flight (requests/s), rounds rotating
which goes first. Goals (issue 14): added latency <= 1 ms p50 at one caller; REST
throughput >= 0.5x the direct RPC's at 32 callers. Timings are noisy on a
shared machine: compare within one run (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from bench_tracing import ADMIN_PASSWORD, Pair, p99, start_pair, wait_ready  # the same processes, one pair

from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.agents.v1 import agent_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack import bench
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer
from agentmesh_devstack.lean_http import LeanHttp
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys

Call = Callable[[], Awaitable[None]]
# One at a time, REST and the direct call alternate in blocks of this many requests.
BLOCK = 10
LABELS = ("rest", "httpx", "direct")


async def one_at_a_time(call: Call, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies


async def paired(ours: Call, theirs: Call, count: int, block: int = BLOCK) -> tuple[list[float], list[float]]:
    """Both calls one at a time, in alternating blocks of `block` (each first in every other pair of blocks).

    Returns each call's latencies, and per pair of blocks the difference of their medians.
    """
    latencies: dict[Call, list[float]] = {ours: [], theirs: []}
    differences = []
    for index in range(count // block):
        medians = {}
        for call in (ours, theirs) if index % 2 == 0 else (theirs, ours):
            taken = await one_at_a_time(call, block)
            latencies[call] += taken
            medians[call] = statistics.median(taken)
        differences.append(medians[ours] - medians[theirs])
    return latencies[ours], latencies[theirs], differences


async def in_flight(call: Call, count: int, parallel: int) -> float:
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return count / (time.perf_counter() - started)


def start_relay(agents_addr: str, user_id: str, log_dir: Path) -> tuple[str, ManagedProcess]:
    """The bare FastAPI relay (the framework's floor) as a process; its URL and the process."""
    port = free_port()
    argv = [sys.executable, str(Path(__file__).with_name("bare_relay.py")), agents_addr, user_id, str(port)]
    relay = ManagedProcess("bare-relay", argv, log_dir / "bare-relay.log")
    relay.start()
    return f"http://127.0.0.1:{port}", relay


async def wait_serving(process: ManagedProcess, client: LeanHttp, path: str) -> None:
    """Until the process answers GET path with 200 (RuntimeError if it exits first)."""

    async def serving() -> bool:
        if not process.running:
            raise RuntimeError(f"{process.name} exited:\n" + process.tail())
        try:
            return (await client.get(path))[0] == 200
        except ConnectionError:
            return False

    await eventually(serving, timeout=60, what=f"{process.name} serving {path}")


async def measure(args: argparse.Namespace, pair: Pair, log_dir: Path) -> None:
    agents_addr = pair.agents.env["AGENTMESH_AGENTS_LISTEN_ADDR"] if pair.agents.env else ""
    # Idle connections are retired before uvicorn's 5 s keep-alive closes them (httpx's default is the same
    # 5 s): a request sent just as the server closes its connection fails with RemoteProtocolError.
    limits = httpx.Limits(max_connections=64, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=pair.url, timeout=60, limits=limits) as client:
        await wait_ready(client, pair, "/healthz", {})
        login = await client.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await wait_ready(client, pair, "/projects", headers)
        project = (await client.post("/projects", headers=headers, json={"name": "bench"})).json()["id"]
        path = f"/projects/{project}/agents"
        await wait_ready(client, pair, path, headers)  # the agents service serves
        for index in range(5):
            body = {"name": f"a{index}", "purpose": "bench", "system_prompt": "-", "model_config": {}}
            assert (await client.post(path, headers=headers, json=body)).status_code == 201

        async def through_httpx() -> None:
            response = await client.get(path, headers=headers)
            if response.status_code != 200 or len(response.json()["items"]) != 5:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")

        lean = LeanHttp(pair.url, headers)

        async def rest() -> None:
            status, body = await lean.get(path)
            if status != 200 or len(json.loads(body)["items"]) != 5:
                raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")

        channel = create_channel(agents_addr, ServiceKeys.local("gateway").signer)
        stub = pb_grpc.AgentServiceStub(channel)
        me = (await client.get("/auth/me", headers=headers)).json()
        caller = Identity(me["id"], GlobalRole.SUPERADMIN, project, ProjectRole.ADMIN)

        async def direct() -> None:
            with acting_as(caller):
                response = await stub.ListAgents(pb.ListAgentsRequest(project_id=project, page_size=50))
            if len(response.agents) != 5:
                raise RuntimeError("ListAgents did not list the 5 agents")

        relay_url, relay = start_relay(agents_addr, me["id"], log_dir)
        bare = LeanHttp(relay_url, {})
        await wait_serving(relay, bare, path)

        async def relayed() -> None:
            status, body = await bare.get(path)
            if status != 200 or len(json.loads(body)["items"]) != 5:
                raise RuntimeError(f"the bare relay answered {status}: {body[:200]!r}")

        calls = {"rest": rest, "httpx": through_httpx, "direct": direct}
        for call in (*calls.values(), relayed):  # warm: connections, lazy imports
            await one_at_a_time(call, 50)
        results: dict[str, dict[str, list[float]]] = {label: {"p50": [], "p99": [], "rps": []} for label in calls}
        added: list[float] = []  # per round: the median of (REST - direct) over the pairs of blocks
        floor: list[float] = []  # per round: the same for the bare relay (bare - direct)
        load = os.getloadavg()[0]
        print(f"agent list, REST through the gateway vs ListAgents directly; {args.requests} each one at a time "
              f"(in alternating blocks of {BLOCK}), then {args.requests} with {args.parallel} in flight, "
              f"per phase; load {load:.1f}")  # fmt: skip
        for round_ in range(args.rounds):
            latencies: dict[str, list[float]] = {}
            latencies["rest"], latencies["direct"], differences = await paired(rest, direct, args.requests)
            latencies["httpx"] = await one_at_a_time(through_httpx, args.requests)
            added.append(statistics.median(differences))
            floor.append(statistics.median((await paired(relayed, direct, args.requests))[2]))
            for label in LABELS[round_ % 3 :] + LABELS[: round_ % 3]:  # each goes first in turn
                results[label]["p50"].append(statistics.median(latencies[label]) * 1000)
                results[label]["p99"].append(p99(latencies[label]) * 1000)
                results[label]["rps"].append(await in_flight(calls[label], args.requests, args.parallel))
            r, h, d = results["rest"], results["httpx"], results["direct"]
            print(f"  round {round_ + 1}: p50 REST {r['p50'][-1]:5.2f} ms (httpx {h['p50'][-1]:5.2f}), "
                  f"direct {d['p50'][-1]:5.2f} ms (blocks: +{added[-1] * 1000:4.2f} ms; "
                  f"bare relay +{floor[-1] * 1000:4.2f} ms) "
                  f"| p99 {r['p99'][-1]:5.2f} / {d['p99'][-1]:5.2f} ms | {args.parallel} in flight: "
                  f"REST {r['rps'][-1]:5.0f} req/s (httpx {h['rps'][-1]:5.0f}), direct {d['rps'][-1]:5.0f} req/s "
                  f"({r['rps'][-1] / d['rps'][-1]:4.2f}x)")  # fmt: skip
        medians = {label: {key: statistics.median(values) for key, values in results[label].items()} for label in calls}
        mr, mh, md = medians["rest"], medians["httpx"], medians["direct"]
        added_ms, floor_ms = statistics.median(added) * 1000, statistics.median(floor) * 1000
        print(f"medians of {args.rounds} rounds: added latency {added_ms:.2f} ms p50 (goal <= 1 ms; "
              f"the bare FastAPI relay adds {floor_ms:.2f} ms, the gateway's own work {added_ms - floor_ms:.2f} ms), "
              f"REST/direct throughput at {args.parallel} in flight {mr['rps'] / md['rps']:.2f}x (goal >= 0.5); "
              f"through httpx: +{mh['p50'] - md['p50']:.2f} ms, {mh['rps'] / md['rps']:.2f}x; "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        bench.record(
            f"REST / direct, p50 one at a time (added {added_ms:.2f} ms, alternating blocks; "
            f"a bare FastAPI relay adds {floor_ms:.2f} ms)",
            mr["p50"] / md["p50"],
            bench.Rounds("REST (lean client)", "ms", results["rest"]["p50"]),
            bench.Rounds("ListAgents direct", "ms", results["direct"]["p50"]),
            "added p50 <= 1 ms",
        )
        bench.record(
            "added latency, gateway / bare FastAPI relay (both over the direct call, alternating blocks)",
            added_ms / floor_ms,
            bench.Rounds("gateway added", "ms", [value * 1000 for value in added]),
            bench.Rounds("bare relay added", "ms", [value * 1000 for value in floor]),
        )
        bench.record(
            f"REST / direct, throughput at {args.parallel} in flight",
            mr["rps"] / md["rps"],
            bench.Rounds("REST (lean client)", "req/s", results["rest"]["rps"]),
            bench.Rounds("ListAgents direct", "req/s", results["direct"]["rps"]),
            ">= 0.5",
        )
        await lean.close()
        await bare.close()
        relay.stop()
        await channel.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="agentmesh-bench-") as name:
        tmp = Path(name)
        postgres = EmbeddedPostgres(tmp / "postgres")
        postgres.start()
        nats = NatsServer("127.0.0.1", free_port(), tmp / "nats", tmp)
        nats.start()
        try:
            pair = start_pair("hop", tmp, postgres.database_url("bench_hop"), nats.url_for("agents"), {})
            pair.agents.start()
            pair.gateway.start()
            try:
                await measure(args, pair, tmp)
            finally:
                pair.gateway.stop()
                pair.agents.stop()
        finally:
            nats.stop()
            postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=32)
    asyncio.run(main(parser.parse_args()))
