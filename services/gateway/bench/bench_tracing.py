"""What tracing costs: a gateway -> agents round trip with tracing off and on (100% sampled).

    python services/gateway/bench/bench_tracing.py [--rounds 8] [--requests 150] [--parallel 16]

Starts a throwaway PostgreSQL and NATS, then two pairs of real processes (gateway and
agents service, as they run in production): one with tracing off (the default), one
with the standard variables turning it on (`OTEL_EXPORTER_OTLP_ENDPOINT` to a small
OTLP collector in this process that counts and drops the spans,
`OTEL_TRACES_SAMPLER=always_on`). The round trip is `GET /projects/{p}/agents/{a}`:
the HTTP span, the gRPC client and server spans, the agents' database read.

Rounds alternate off/on (which goes first alternates too): one at a time (p50, p99)
and `--parallel` at a time (requests/s). The ratios on/off per round and their
median are printed; the goal is <= 1.10. Timings are noisy on a shared machine:
compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import psutil
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from agentmesh_devstack import bench
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess

ADMIN_PASSWORD = "bench-admin-password"


class CountingCollector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that counts the spans it is sent and keeps none."""

    def __init__(self) -> None:
        self.spans = 0

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext) -> object:
        self.spans += sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@dataclass
class Pair:
    """A gateway and the agents service it calls."""

    label: str
    gateway: ManagedProcess
    agents: ManagedProcess
    url: str


def start_pair(label: str, tmp: Path, database_url: str, nats_url: str, tracing_env: dict[str, str]) -> Pair:
    agents_addr, http_port = f"127.0.0.1:{free_port()}", free_port()
    common = {
        **os.environ,
        **tracing_env,
        "AGENTMESH_DATABASE_URL": database_url,
        "AGENTMESH_NATS_URL": nats_url,
        "AGENTMESH_RUN_DIR": str(tmp),
        "AGENTMESH_LOG_LEVEL": "WARNING",
    }
    agents_env = {**common, "AGENTMESH_AGENTS_LISTEN_ADDR": agents_addr, "OTEL_SERVICE_NAME": f"agents-{label}"}
    agents = ManagedProcess(f"agents-{label}", [sys.executable, "-m", "agentmesh_agents"], tmp / f"agents-{label}.log",
                            agents_env)  # fmt: skip
    gateway_env = {
        **common,
        "AGENTMESH_AGENTS_SERVICE_ADDR": agents_addr,
        "AGENTMESH_GATEWAY_PORT": str(http_port),
        "AGENTMESH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "OTEL_SERVICE_NAME": f"gateway-{label}",
    }
    gateway = ManagedProcess(f"gateway-{label}", [sys.executable, "-m", "agentmesh_gateway"],
                             tmp / f"gateway-{label}.log", gateway_env)  # fmt: skip
    return Pair(label, gateway, agents, f"http://127.0.0.1:{http_port}")


async def wait_ready(client: httpx.AsyncClient, pair: Pair, path: str, headers: dict[str, str]) -> None:
    for _ in range(1200):
        for process in (pair.gateway, pair.agents):
            if not process.running:
                raise RuntimeError(f"{process.name} exited:\n" + process.tail())
        try:
            if (await client.get(path, headers=headers)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError(f"{pair.label} did not get ready:\n" + pair.gateway.tail() + pair.agents.tail())


async def sequential(client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text}")
    return latencies


async def throughput(client: httpx.AsyncClient, path: str, headers: dict[str, str], count: int, parallel: int) -> float:
    remaining = iter(range(count))

    async def worker() -> None:
        for _ in remaining:
            response = await client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return count / (time.perf_counter() - started)


def serving_cpu(pair: Pair) -> float:
    """CPU seconds used so far by the pair's gateway and agents processes."""
    total = 0.0
    for process in (pair.gateway, pair.agents):
        assert process.proc is not None
        times = psutil.Process(process.proc.pid).cpu_times()
        total += times.user + times.system
    return total


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def measure(args: argparse.Namespace, pairs: dict[str, Pair], collector: CountingCollector) -> None:
    # Idle connections are retired before uvicorn's 5 s keep-alive closes them (httpx's default is the same
    # 5 s): a request sent just as the server closes its connection fails with ReadError.
    limits = httpx.Limits(keepalive_expiry=2.0)
    clients = {label: httpx.AsyncClient(base_url=pair.url, timeout=60, limits=limits) for label, pair in pairs.items()}
    try:
        # One project and agent, made through the first gateway; both read the same database.
        off = clients["off"]
        await wait_ready(off, pairs["off"], "/healthz", {})
        login = await off.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        await wait_ready(off, pairs["off"], "/projects", headers)
        project = (await off.post("/projects", headers=headers, json={"name": "bench"})).json()["id"]
        await wait_ready(off, pairs["off"], f"/projects/{project}/agents", headers)  # the agents service serves
        agent = await off.post(
            f"/projects/{project}/agents",
            headers=headers,
            json={"name": "bench", "purpose": "bench", "system_prompt": "-", "model_config": {}},
        )
        path = f"/projects/{project}/agents/{agent.json()['id']}"
        await wait_ready(clients["on"], pairs["on"], path, headers)
        for client in clients.values():  # warm both: connections, caches, JIT-free but lazy imports
            await sequential(client, path, headers, 50)
        spans_before = collector.spans
        results: dict[str, dict[str, list[float]]] = {label: {"p50": [], "p99": [], "rps": []} for label in pairs}
        # CPU seconds of each pair's two processes at every round's end: steadier than wall time on a busy machine.
        cpu_marks = {label: [serving_cpu(pair)] for label, pair in pairs.items()}
        print(f"GET /projects/{{p}}/agents/{{a}} through gateway -> agents; {args.requests} one at a time, "
              f"then {args.requests} with {args.parallel} in flight, per phase")  # fmt: skip
        for round_ in range(args.rounds):
            order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
            for label in order:
                latencies = await sequential(clients[label], path, headers, args.requests)
                rps = await throughput(clients[label], path, headers, args.requests, args.parallel)
                results[label]["p50"].append(statistics.median(latencies) * 1000)
                results[label]["p99"].append(p99(latencies) * 1000)
                results[label]["rps"].append(rps)
            on, off_ = results["on"], results["off"]
            print(f"  round {round_ + 1}: p50 off {off_['p50'][-1]:5.2f} ms, on {on['p50'][-1]:5.2f} ms "
                  f"({on['p50'][-1] / off_['p50'][-1]:4.2f}x) | p99 off {off_['p99'][-1]:5.2f}, "
                  f"on {on['p99'][-1]:5.2f} "
                  f"| {args.parallel} in flight: off {off_['rps'][-1]:6.0f} req/s, on {on['rps'][-1]:6.0f} req/s "
                  f"({off_['rps'][-1] / on['rps'][-1]:4.2f}x time per request)")  # fmt: skip
            for label, pair in pairs.items():
                cpu_marks[label].append(serving_cpu(pair))
        # Spans are exported in batches (every 5 s): wait for the last ones, and count their export's CPU.
        await asyncio.sleep(6)
        for label, pair in pairs.items():
            cpu_marks[label][-1] = serving_cpu(pair)
        cpu = {label: bench.Rounds(f"tracing {label}", "ms CPU/request",
                                   [(b - a) * 1000 / (2 * args.requests) for a, b in itertools.pairwise(marks)])
               for label, marks in cpu_marks.items()}  # fmt: skip
        on, off_ = results["on"], results["off"]

        def ratio(key: str, invert: bool = False) -> float:
            """The median of the per-round ratios: each round's two phases ran side by side."""
            pairs = zip(on[key], off_[key], strict=True)
            return statistics.median((b / a) if invert else (a / b) for a, b in pairs)

        sent = args.rounds * args.requests * 2
        print(f"tracing on / off, median of {args.rounds} rounds' ratios: p50 {ratio('p50'):.2f}x, "
              f"p99 {ratio('p99'):.2f}x, time per request at {args.parallel} in flight "
              f"{ratio('rps', invert=True):.2f}x (goal <= 1.10)")  # fmt: skip
        bench.record("tracing on / off, p50 (median of the rounds' ratios)", ratio("p50"),
                     bench.Rounds("tracing on", "ms", on["p50"]), bench.Rounds("tracing off", "ms", off_["p50"]),
                     "goal <= 1.10")  # fmt: skip
        bench.ratio("tracing on / off, CPU per request of the gateway and agents processes (spans' export included)",
                    cpu["on"], cpu["off"], "goal <= 1.10")  # fmt: skip
        received = collector.spans - spans_before
        print(f"spans received by the collector while measuring: {received} for {sent} traced requests "
              "(3 each: HTTP, gRPC client, gRPC server; the untraced pair's would double it)")  # fmt: skip
    finally:
        for client in clients.values():
            await client.aclose()


async def main(args: argparse.Namespace) -> None:
    collector = CountingCollector()
    receiver = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, receiver)
    otlp_port = receiver.add_insecure_port("127.0.0.1:0")
    receiver.start()
    tracing_on = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_SAMPLER": "always_on",
    }
    with tempfile.TemporaryDirectory(prefix="agentmesh-bench-") as name:
        tmp = Path(name)
        postgres = EmbeddedPostgres(tmp / "postgres")
        postgres.start()
        nats = NatsServer("127.0.0.1", free_port(), tmp / "nats", tmp)
        nats.start()
        database_url = postgres.database_url("bench_tracing")
        pairs: dict[str, Pair] = {}
        try:
            # One pair at a time: each process migrates its schema at start.
            for label, env in (("off", {}), ("on", tracing_on)):
                pair = start_pair(label, tmp, database_url, nats.url_for("agents"), env)
                pairs[label] = pair
                pair.agents.start()
                pair.gateway.start()
                async with httpx.AsyncClient(base_url=pair.url, timeout=10) as client:
                    await wait_ready(client, pair, "/healthz", {})
            await measure(args, pairs, collector)
        finally:
            for pair in pairs.values():
                pair.gateway.stop()
                pair.agents.stop()
            nats.stop()
            postgres.stop()
            receiver.stop(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="off/on round pairs")
    parser.add_argument("--requests", type=int, default=150, help="requests per phase")
    parser.add_argument("--parallel", type=int, default=16, help="requests in flight in the throughput phase")
    asyncio.run(main(parser.parse_args()))
