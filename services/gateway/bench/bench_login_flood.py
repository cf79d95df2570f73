"""Login floods: how many guesses reach the password hasher, and what a flood costs everyone else.

    python services/gateway/bench/bench_login_flood.py [--guesses 1000] [--flood 16] [--rounds 3] [--requests 40]

Starts a throwaway PostgreSQL and the gateway as it runs in production (a uvicorn
process, default settings), then over real HTTP:

1. Guessing: `--guesses` wrong passwords for one account, `--flood` at a time, from one
   address. A 401 means the guess reached argon2; a 429 means the throttle refused it
   first (each refusal answered after the backoff pause, so 1,000 guesses take about a
   minute, and the account's 5-a-minute window lets a few more through meanwhile).
   Then the real user logs in from another address: at once (refused while the
   account's window is full: the policy), and again after the Retry-After it was given.
2. Neighbours: the median of an authenticated request (GET /auth/me) one at a time,
   quiet and under a `--flood`-way login flood built to reach the hasher every time
   (a fresh username from a fresh address per attempt, as a botnet would send; uvicorn
   trusts X-Forwarded-For from 127.0.0.1), and for reference under a flood of the
   cheapest route (GET /healthz): what any flood costs on this machine. The floods run
   in a process of their own. Phases alternate; ratios are printed per round and
   overall (the goal: the login flood within 2x of quiet).

Timings are noisy on a shared machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

from agentmesh_devstack.bench import Rounds, p50_ms, ratio
from agentmesh_devstack.infra import EmbeddedPostgres
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess

ADMIN_PASSWORD = "bench-admin-password"
_addresses = itertools.count(1)


def fresh_address() -> str:
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


async def wait_ready(client: httpx.AsyncClient, gateway: ManagedProcess) -> None:
    for _ in range(600):
        if not gateway.running:
            raise RuntimeError("the gateway exited:\n" + gateway.tail())
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the gateway did not start:\n" + gateway.tail())


async def login(client: httpx.AsyncClient, username: str, password: str, address: str) -> httpx.Response:
    return await client.post(
        "/auth/login", json={"username": username, "password": password}, headers={"X-Forwarded-For": address}
    )


async def guessing(client: httpx.AsyncClient, guesses: int, parallel: int, wait_for_owner: bool) -> None:
    statuses: Counter[int] = Counter()
    queue = iter(range(guesses))
    started = time.perf_counter()

    async def guesser() -> None:
        for i in queue:
            statuses[(await login(client, "admin", f"guess-{i}", "203.0.113.7")).status_code] += 1

    await asyncio.gather(*(guesser() for _ in range(parallel)))
    elapsed = time.perf_counter() - started
    print(f"\n{guesses} wrong passwords for one account, {parallel} at a time, in {elapsed:.1f} s:")
    print(f"  reached the password hasher (401): {statuses[401]}")
    print(f"  refused before it (429):           {statuses[429]}")
    others = {code: n for code, n in statuses.items() if code not in (401, 429)}
    if others:
        print(f"  other answers: {others}")

    owner = await login(client, "admin", ADMIN_PASSWORD, "198.51.100.9")
    retry_after = int(owner.headers.get("retry-after", "0"))
    print(f"the real user, from another address, right after: {owner.status_code} (Retry-After {retry_after} s)")
    if owner.status_code == 429 and wait_for_owner:
        await asyncio.sleep(retry_after + 0.5)
        owner = await login(client, "admin", ADMIN_PASSWORD, "198.51.100.9")
        print(f"the real user after waiting {retry_after} s: {owner.status_code}")


async def me_latencies(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.get("/auth/me", headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET /auth/me answered {response.status_code}: {response.text}")
    return latencies


async def _flood(base_url: str, parallel: int, stop: Event, logins: bool) -> Counter[int]:
    statuses: Counter[int] = Counter()

    async def attacker(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            if logins:
                name = f"ghost-{random.getrandbits(48):x}"
                response = await login(client, name, "wrong-password", fresh_address())
            else:
                response = await client.get("/healthz")
            statuses[response.status_code] += 1

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await asyncio.gather(*(attacker(client) for _ in range(parallel)))
    return statuses


def flood_process(base_url: str, parallel: int, stop: Event, results: Queue, logins: bool) -> None:
    """The flood runs in a process of its own, so it never delays the measuring client's loop."""
    results.put(dict(asyncio.run(_flood(base_url, parallel, stop, logins))))


async def under_flood(
    client: httpx.AsyncClient, headers: dict[str, str], parallel: int, requests: int, logins: bool
) -> tuple[list[float], dict[int, int]]:
    """Latencies of `requests` authenticated requests while `parallel` clients flood the gateway."""
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    args = (str(client.base_url), parallel, stop, results, logins)
    flooder = multiprocessing.Process(target=flood_process, args=args)
    flooder.start()
    await asyncio.sleep(1.5)  # let the flood build up
    latencies = await me_latencies(client, headers, requests)
    stop.set()
    statuses = await asyncio.to_thread(results.get, True, 60)
    await asyncio.to_thread(flooder.join, 60)
    return latencies, statuses


async def neighbours(client: httpx.AsyncClient, parallel: int, rounds: int, requests: int) -> None:
    tokens = (await login(client, "admin", ADMIN_PASSWORD, "192.0.2.1")).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    await me_latencies(client, headers, 10)  # warm-up
    phases: dict[str, list[float]] = {"quiet": [], "logins": [], "healthz": []}
    quiet_p50s, flooded_p50s = Rounds("quiet", "ms"), Rounds(f"{parallel}-way login flood", "ms")
    statuses: Counter[int] = Counter()
    print(f"GET /auth/me one at a time: quiet, under a {parallel}-way login flood that reaches the hasher,")
    print(f"and (for reference: what any flood costs on this machine) under a {parallel}-way GET /healthz flood:")
    for round_ in range(1, rounds + 1):
        quiet = await me_latencies(client, headers, requests)
        flooded, answers = await under_flood(client, headers, parallel, requests, logins=True)
        reference, _ = await under_flood(client, headers, parallel, requests, logins=False)
        statuses.update(answers)
        for name, values in (("quiet", quiet), ("logins", flooded), ("healthz", reference)):
            phases[name] += values
        _report(f"round {round_}", quiet, flooded, reference)
        quiet_p50s.values.append(p50_ms(quiet))
        flooded_p50s.values.append(p50_ms(flooded))
    _report("all", phases["quiet"], phases["logins"], phases["healthz"])
    ratio("GET /auth/me p50 under a login flood / quiet (medians of the rounds' p50s)", flooded_p50s, quiet_p50s,
          "goal <= 2")  # fmt: skip
    print(f"  login flood answers: {dict(statuses)} (401: reached the hasher; 429: refused, hasher busy or throttled)")


def _report(label: str, quiet: list[float], flooded: list[float], reference: list[float]) -> None:
    q, f, r = (statistics.median(v) * 1000 for v in (quiet, flooded, reference))
    print(f"  {label:<8} quiet p50 {q:6.1f} ms | login flood p50 {f:6.1f} ms ({f / q:4.2f}x) "
          f"| healthz flood p50 {r:6.1f} ms ({r / q:4.2f}x)")  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="agentmesh-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "postgres")
        postgres.start()
        port = free_port()
        env = {
            **os.environ,
            "AGENTMESH_DATABASE_URL": postgres.database_url("bench_gateway"),
            "AGENTMESH_GATEWAY_PORT": str(port),
            "AGENTMESH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AGENTMESH_LOG_LEVEL": "WARNING",
        }
        gateway = ManagedProcess("gateway", [sys.executable, "-m", "agentmesh_gateway"], Path(tmp) / "gateway.log", env)
        gateway.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                await wait_ready(client, gateway)
                # Neighbours first: the guessing leaves the admin account throttled for a while.
                await neighbours(client, args.flood, args.rounds, args.requests)
                await guessing(client, args.guesses, args.flood, not args.no_wait)
        finally:
            gateway.stop()
            postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=1000, help="wrong passwords for one account")
    parser.add_argument("--flood", type=int, default=16, help="concurrent logins")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/flooded round pairs")
    parser.add_argument("--requests", type=int, default=40, help="authenticated requests per phase")
    parser.add_argument("--no-wait", action="store_true", help="do not wait out the account's Retry-After")
    asyncio.run(main(parser.parse_args()))
