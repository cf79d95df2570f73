"""What signing and checking a caller identity costs per call: the shared HS256 secret (before) vs per-service EdDSA.

Per call, a client signs the bound identity and the server checks it. Measured side
by side, interleaved, repeated (median of rounds), in microseconds per call:

- `hs256`: the former scheme (one HMAC secret for every service): sign + verify each call;
- `eddsa raw`: Ed25519 sign + verify each call (the cost without the caches);
- `eddsa as used`: `IdentitySigner.issue` + `Trust.admit` as the interceptors call them:
  a token is reused for its identity and receiver, a verified token remembered until it
  expires, and the grant check runs on every call.

    python libs/grpc/bench/bench_identity.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jwt

from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_devstack import bench
from agentmesh_grpc.trust import ServiceKeys

CALLER = Identity("user-1", GlobalRole.USER, "project-1", ProjectRole.ADMIN)
METHOD = "/agentmesh.agents.v1.AgentService/GetAgent"
SECRET = "x" * 48


def hs256() -> None:
    now = int(time.time())
    claims = {"sub": CALLER.subject, "role": CALLER.role.value, "pid": CALLER.project_id, "prole": "admin",
              "iat": now, "exp": now + 300, "aud": "agentmesh-internal"}  # fmt: skip
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    jwt.decode(token, SECRET, algorithms=["HS256"], audience="agentmesh-internal",
               options={"require": ["exp", "iat", "sub", "aud"]})  # fmt: skip


GATEWAY, AGENTS = ServiceKeys.local("gateway"), ServiceKeys.local("agents")


def eddsa_raw() -> None:
    token = GATEWAY.signer._sign(CALLER, "agents", int(time.time()))  # the uncached cost
    AGENTS.trust._verifier._check(token)


def eddsa_as_used() -> None:
    AGENTS.trust.admit(GATEWAY.signer.issue(CALLER, "agents"), METHOD)


def per_call_us(work: Callable[[], None], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = {"hs256 (before)": hs256, "eddsa raw": eddsa_raw, "eddsa as used": eddsa_as_used}
    runs = {name: bench.Rounds(name, "us/call") for name in cases}
    for _ in range(args.rounds):
        for name, work in cases.items():  # interleaved: each round runs every case once
            runs[name].values.append(per_call_us(work, args.calls))
    bench.header(f"identity sign + check per call, {args.calls} calls x {args.rounds} rounds, {bench.load()}")
    for rounds in runs.values():
        print(rounds.line())
    before = runs["hs256 (before)"]
    bench.ratio("identity per call: EdDSA uncached / shared HS256", runs["eddsa raw"], before)
    bench.ratio("identity per call: EdDSA as the interceptors use it / shared HS256", runs["eddsa as used"], before)


if __name__ == "__main__":
    main()
