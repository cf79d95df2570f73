"""The inference front door against vLLM alone, side by side in one run on one model.

    python services/inference/bench/bench_front_door.py [--streams 64] [--max-tokens 64] [--rounds 11] [--model PATH]
        [--paths gateway,vllm,grpc,grpc-call,raw] [--stream-interval 1]

Starts PostgreSQL, the inference service and the gateway (devstack, free ports),
vLLM's own OpenAI server (`python -m vllm.entrypoints.openai.api_server`, what
`vllm serve` runs), and a raw AsyncLLM in this process, all on the same model
(the tiny random one unless --model); this process runs on uvloop, as vLLM's server
and the inference service do. Then, for --rounds rounds, each in turn:

- `/v1/chat/completions` through the gateway (API key, quota, usage accounting,
  gRPC to the service) vs the same request to vLLM's server: `streams` concurrent
  streamed chat completions of `max_tokens` greedy tokens;
- the inference service over gRPC the way the gateway and the agents service call it
  (GenerateMultiplexed, agentmesh_grpc.generations_client) vs the same prompts on the
  raw AsyncLLM; and, for reference, one `InferenceService.Generate` call per stream
  (`grpc-call`).

Prints each run, then the medians' ratios: throughput (tokens/s, goal >= 0.9 for
the gateway, >= 0.95 for gRPC) and TTFT p50 (goal <= 1.2). Every request's TTFT is
timed from the moment its run issues all of its requests (`timed`). The three engines idle
while another runs, but share the machine: compare ratios within one run. On a
busy machine wall-clock figures swing (and vLLM's CPU workers spin while they wait
for a core, so even the engines' CPU time inflates). What each serving path costs
on top of the engine is steadier: the CPU seconds per 1,000 tokens of the serving
processes, engine processes (VLLM::*) left out: the gateway plus the inference
service, vs vLLM's API server; the inference service alone for gRPC.

`--paths grpc,raw` (say) measures only those paths and starts only what they need
(here the inference service: no PostgreSQL, gateway or vLLM server), for quick
iterations; a ratio is printed when both of its paths ran. `--stream-interval N` sets
vLLM's stream interval (tokens per streamed chunk after the first) on all three engines
alike: the service's (AGENTMESH_STREAM_INTERVAL), vLLM's server's and the raw one's.

A run's TTFT p50 falls on one of a few steps: a burst of 64 requests reaches the engine
over its first steps, so their first tokens come in waves one engine step apart, and the
32nd request is in one wave or the next (raw AsyncLLM's p50 was 56, 107, 147, 140 and 78 ms
in five runs of one bench, its runs' throughput within 1.21x). Eleven rounds, not five, so
that the median of the runs' p50s (and of their rates) says more than which wave won.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import uvloop

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh.inference.v1 import inference_service_pb2_grpc as pb_grpc
from agentmesh_core.gc_heap import freeze_startup_heap
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack import bench
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_devstack.stack import DATABASE_NAME, Stack, StackConfig
from agentmesh_devstack.waiting import eventually
from agentmesh_gateway.clients.inference import served_name
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.generations_client import Generations
from agentmesh_grpc.identity import acting_as
from agentmesh_inference.adapters.engine_config import EngineConfig, engine_environment, prepare_environment
from agentmesh_inference.tiny_model import ensure_tiny_model, is_random_model

ADMIN_PASSWORD = "bench-admin-password"
SERVED_NAME = ["tiny-llama"]  # the model's name on both OpenAI servers: the gateway's, set in main()
BENCH = Identity(subject="bench", role=GlobalRole.SERVICE)


@dataclass
class Run:
    """One run of `streams` concurrent requests."""

    tokens: int
    seconds: float
    ttfts: list[float]
    cpu_seconds: float = 0.0  # of the server's process tree, when measured

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds

    @property
    def ttft_p50(self) -> float:
        return statistics.median(self.ttfts)


def prompt(index: int) -> str:
    return f"Request {index}: write the daily report for the team."


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these processes and their children, engine processes (VLLM::*) left out."""
    return sum(bench.tree_cpu_seconds(pid, leave_out="VLLM::") for pid in pids)


async def timed(calls: list[Callable[[], Awaitable[tuple[float, int]]]], pids: list[int]) -> Run:
    """Run the calls at once; each returns when its first token came (perf_counter) and its token count.

    Every request's TTFT is timed from this one start, when they are all issued: a path
    whose requests wait for each other's admission (the raw engine's, in this process,
    as much as a server's) shows that wait in its TTFT.
    """
    cpu, started = tree_cpu(pids), time.perf_counter()
    results = await asyncio.gather(*(call() for call in calls))
    elapsed = time.perf_counter() - started
    if not all(first for first, _ in results):
        raise RuntimeError("a stream ended without a token: its TTFT would be meaningless")
    return Run(sum(t for _, t in results), elapsed, [f - started for f, _ in results], tree_cpu(pids) - cpu)


async def chat_stream(http: httpx.AsyncClient, url: str, headers: dict[str, str], index: int, max_tokens: int):
    body = {"model": SERVED_NAME[0], "messages": [{"role": "user", "content": prompt(index)}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}  # fmt: skip
    try:
        async with http.stream("POST", url, headers=headers, json=body) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {(await response.aread())[:300]!r}")
            tokens, first = await read_events(response)
    except httpx.HTTPError as error:
        raise RuntimeError(f"{url}: {error!r}") from error
    return first, tokens


async def read_events(response: httpx.Response) -> tuple[int, float]:
    """Completion tokens (from the usage chunk) and when the first content came (perf_counter)."""
    first, tokens = 0.0, 0
    async for line in response.aiter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if "error" in chunk:
            raise RuntimeError(f"error event: {chunk['error']}")
        if not first and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            first = time.perf_counter()
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
    return tokens, first


async def grpc_stream(
    start: Callable[..., AsyncIterable[pb.GenerateResponse]], index: int, max_tokens: int
) -> tuple[float, int]:
    request = pb.GenerateRequest(prompt=prompt(index), sampling=pb.SamplingParams(max_tokens=max_tokens, temperature=0))
    first, tokens = 0.0, 0
    with acting_as(BENCH):
        call = start(request, timeout=300)
    async for response in call:
        if not first and response.token_ids:
            first = time.perf_counter()
        tokens += len(response.token_ids)
    return first, tokens


async def raw_stream(llm, index: int, max_tokens: int, counter: list[int]) -> tuple[float, int]:
    """The raw AsyncLLM, prompts tokenized and rendered, and sampling parameters made, the way the
    service's adapter does it (a request's own SamplingParams, copied shallowly: skip_clone)."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    counter[0] += 1
    # From the prompt's text, as the other paths are (their servers tokenize it too).
    first, tokens = 0.0, 0
    ids = llm.get_tokenizer().encode(prompt(index))
    (engine_input,) = llm.renderer.render_cmpl([{"prompt_token_ids": ids}], llm.renderer.default_cmpl_tok_params)
    params = SamplingParams(max_tokens=max_tokens, temperature=0, output_kind=RequestOutputKind.DELTA, skip_clone=True)
    async for output in llm.generate(engine_input, params, f"raw-{counter[0]}"):
        if not first and output.outputs[0].token_ids:
            first = time.perf_counter()
        tokens += len(output.outputs[0].token_ids)
    return first, tokens


async def wait_http(url: str, what: str, headers: dict[str, str] | None = None, timeout: float = 600) -> None:
    async def ok() -> bool:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                return (await http.get(url, headers=headers)).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ok, timeout=timeout, interval=1.0, what=what)


async def api_key(gateway: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        login = await http.post("/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        project = (await http.post("/projects", headers=admin, json={"name": "bench"})).json()["id"]
        key = (await http.post(f"/projects/{project}/api-keys", headers=admin, json={"name": "bench"})).json()
    return {"Authorization": f"Bearer {key['key']}"}


def record_ratio(label: str, ours: list[Run], theirs: list[Run], rate_goal: str, ttft_goal: str) -> None:
    """Both ratios of one pair of paths, for the bench report (medians over the rounds)."""
    rates = [
        bench.Rounds(label.split(" / ")[i], "tokens/s", [r.rate for r in side]) for i, side in enumerate((ours, theirs))
    ]
    ttfts = [
        bench.Rounds(label.split(" / ")[i], "ms", [r.ttft_p50 * 1000 for r in side])
        for i, side in enumerate((ours, theirs))
    ]
    bench.record(f"{label}, throughput", rates[0].median / rates[1].median, *rates, rate_goal)
    bench.record(f"{label}, TTFT p50", ttfts[0].median / ttfts[1].median, *ttfts, ttft_goal)


def report(label: str, runs: list[Run]) -> tuple[float, float, float]:
    rate = statistics.median(r.rate for r in runs)
    ttft = statistics.median(r.ttft_p50 for r in runs) * 1000
    cpu = statistics.median(r.cpu_seconds / r.tokens * 1000 for r in runs)
    rates = ", ".join(f"{r.rate:.0f}" for r in runs)
    ttfts = ", ".join(f"{r.ttft_p50 * 1000:.0f}" for r in runs)
    cost = f"   serving CPU s/1k tokens {cpu:5.3f}" if cpu else ""
    print(f"{label:<26} tokens/s {rate:8.0f} (runs: {rates})   TTFT p50 {ttft:7.1f} ms (runs: {ttfts}){cost}")
    return rate, ttft, cpu


PATHS = ("gateway", "vllm", "grpc", "grpc-call", "raw")
# How long an engine keeps polling after its last step, with a margin: vLLM's worker process spins on its
# shared-memory queue for a second (SpinCondition's busy_loop_s). Not on CPU with engine_environment (no worker
# process); kept for the builds and settings that have one.
ENGINE_SPIN_SECONDS = 1.5


async def measure(args: argparse.Namespace, model: str, stack: Stack, vllm_url: str, vllm_pid: int) -> None:
    from vllm.v1.engine.async_llm import AsyncLLM

    paths: list[str] = args.paths
    gateway = stack.config.gateway_url
    headers: dict[str, str] = {}
    if "vllm" in paths:
        await wait_http(f"{vllm_url}/v1/models", "vLLM's OpenAI server")
    if "gateway" in paths:
        await wait_http(f"{gateway}/healthz", "the gateway")
        headers = await api_key(gateway)
        await wait_http(f"{gateway}/v1/models", "the inference service to load", headers)
    channel = create_channel(stack.config.addr("inference"), stack.signer())
    stub = pb_grpc.InferenceServiceStub(channel)
    generations = Generations(channel, stack.signer())
    if "grpc" in paths or "grpc-call" in paths:
        await wait_grpc(stub)
    config = EngineConfig(model=model, max_num_seqs=args.streams, random_weights=is_random_model(Path(model)),
                          gpu_memory_utilization=args.gpu_memory_utilization,
                          stream_interval=args.stream_interval)  # fmt: skip
    prepare_environment(config)
    # Held only in this list, so that it can be released before the interpreter exits.
    engines = [AsyncLLM.from_engine_args(config.engine_args())] if "raw" in paths else []
    # This process hosts the raw engine's front end: its start-up heap is frozen, as vLLM's own
    # server and the inference service freeze theirs (agentmesh_core.gc_heap).
    freeze_startup_heap()
    counter, n, tokens = [0], args.streams, args.max_tokens
    runs: dict[str, list[Run]] = {k: [] for k in paths}
    pid = {name: process.proc.pid for name, process in stack.services.items() if process.proc}
    trees = {"gateway": [pid[k] for k in ("gateway", "inference") if k in pid], "vllm": [vllm_pid],
             "grpc": [pid["inference"]] if "inference" in pid else [], "raw": []}  # fmt: skip
    trees["grpc-call"] = trees["grpc"]
    try:
        targets = {
            "gateway": lambda http, i: chat_stream(http, f"{gateway}/v1/chat/completions", headers, i, tokens),
            "vllm": lambda http, i: chat_stream(http, f"{vllm_url}/v1/chat/completions", {}, i, tokens),
            "grpc": lambda _, i: grpc_stream(generations.generate, i, tokens),
            "grpc-call": lambda _, i: grpc_stream(stub.Generate, i, tokens),
            "raw": lambda _, i: raw_stream(engines[0], i, tokens, counter),
        }
        for round_ in range(args.rounds + 1):  # round 0 warms up every path
            order = paths if round_ % 2 else paths[::-1]
            for name in order:
                # The engine that ran last may busy-poll its queues for a second after its last step
                # (ENGINE_SPIN_SECONDS): wait that out, so that it does not take the cores of the next run.
                await asyncio.sleep(ENGINE_SPIN_SECONDS)
                # New connections for every run, for both HTTP servers alike. Over reused keep-alive
                # connections a burst of 64 reached the gateway's app up to seconds late (seen with
                # a fake inference too: an HTTP-layer effect, not yet understood); see the README.
                async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=2 * n)) as http:
                    run = await timed([lambda i=i, f=targets[name]: f(http, i) for i in range(n)], trees[name])
                if round_:
                    runs[name].append(run)
        print(f"\n{n} concurrent streams x {tokens} tokens, {args.rounds} rounds, stream interval "
              f"{args.stream_interval}, model {model}, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
        if engines:
            print(f"device: {engines[0].vllm_config.device_config.device_type} (the same engine build for all)")
        labels = {"gateway": "gateway /v1 (agentmesh)", "vllm": "vLLM OpenAI server",
                  "grpc": "InferenceService gRPC", "grpc-call": "  one Generate call each",
                  "raw": "raw AsyncLLM"}  # fmt: skip
        figures = {name: report(labels[name], runs[name]) for name in paths}
        if "gateway" in figures and "vllm" in figures:
            (g_rate, g_ttft, g_cpu), (v_rate, v_ttft, v_cpu) = figures["gateway"], figures["vllm"]
            record_ratio("gateway /v1 / vLLM OpenAI server", runs["gateway"], runs["vllm"], ">= 0.9", "<= 1.2")
            print(f"gateway / vLLM server: throughput {g_rate / v_rate:.2f} (goal >= 0.9), TTFT p50 "
                  f"{g_ttft / v_ttft:.2f} (goal <= 1.2), serving CPU per token {g_cpu / v_cpu:.2f}")  # fmt: skip
        if "grpc" in figures and "raw" in figures:
            (s_rate, s_ttft, _), (r_rate, r_ttft, _) = figures["grpc"], figures["raw"]
            record_ratio("InferenceService gRPC / raw AsyncLLM", runs["grpc"], runs["raw"], ">= 0.95", "<= 1.10")
            print(f"gRPC service / raw AsyncLLM: throughput {s_rate / r_rate:.2f} (goal >= 0.95), "
                  f"TTFT p50 {s_ttft / r_ttft:.2f} (goal <= 1.10)")  # fmt: skip
    finally:
        await generations.close()
        await channel.close()
        # Released now, not at interpreter exit (where AsyncLLM.__del__ fails on torn-down modules).
        while engines:
            engines.pop().shutdown()
        gc.collect()


async def wait_grpc(stub: pb_grpc.InferenceServiceStub) -> None:
    async def ready() -> bool:
        with acting_as(BENCH):
            status = await stub.GetEngineStatus(pb.GetEngineStatusRequest(), timeout=5)
        return status.state == pb.ENGINE_STATE_READY

    async def loaded() -> bool:
        try:
            return await ready()
        except grpc.aio.AioRpcError:
            return False

    await eventually(loaded, timeout=600, interval=1.0, what="the inference service to load")


def main(args: argparse.Namespace) -> None:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # the raw AsyncLLM's per-step lines
    run_dir = Path(tempfile.mkdtemp(prefix="agentmesh-bench-"))
    model = args.model or str(ensure_tiny_model(Path(tempfile.gettempdir()) / "agentmesh-bench" / "tiny-llama"))
    SERVED_NAME[0] = served_name(model)
    env = {"AGENTMESH_MODEL": model, "AGENTMESH_LOG_LEVEL": "WARNING", "AGENTMESH_MAX_NUM_SEQS": str(args.streams),
           "AGENTMESH_GPU_MEMORY_UTILIZATION": str(args.gpu_memory_utilization),
           "AGENTMESH_STREAM_INTERVAL": str(args.stream_interval)}  # fmt: skip
    # No Temporal here (see StackConfig.ephemeral): the services' ports can be chosen at once.
    stack = Stack(StackConfig.ephemeral(run_dir, admin_password=ADMIN_PASSWORD, extra_env=env).with_service_ports())
    vllm_port = free_port()
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--host", "127.0.0.1",
            "--port", str(vllm_port), "--served-model-name", SERVED_NAME[0], "--max-model-len", "2048",
            "--max-num-seqs", str(args.streams), "--enforce-eager", "--seed", "0",
            "--gpu-memory-utilization", str(args.gpu_memory_utilization),
            "--uvicorn-log-level", "warning"]  # fmt: skip
    if args.stream_interval > 1:
        argv += ["--stream-interval", str(args.stream_interval)]
    # The engine processes as the inference service runs them (engine_environment: on CPU, no worker process).
    engine = engine_environment(EngineConfig(model=model))
    vllm_env = {**os.environ, **engine, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    vllm_server = ManagedProcess("vllm-openai", argv, run_dir / "logs" / "vllm-openai.log", vllm_env)
    paths = args.paths
    try:
        if "gateway" in paths:
            stack.postgres.start()
            stack.database_url = stack.postgres.database_url(DATABASE_NAME)
        if {"gateway", "grpc", "grpc-call"} & set(paths):
            stack.start_service("inference")
        if "gateway" in paths:
            stack.start_service("gateway")
        vllm_pid = 0
        if "vllm" in paths:
            vllm_server.start()
            assert vllm_server.proc is not None
            vllm_pid = vllm_server.proc.pid
        uvloop.run(measure(args, model, stack, f"http://127.0.0.1:{vllm_port}", vllm_pid))
    finally:
        vllm_server.stop(grace=15)
        for name in ("gateway", "inference"):
            stack.stop_service(name)
        if "gateway" in paths:
            stack.postgres.stop()
    print(f"logs in {run_dir / 'logs'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=64, help="concurrent streams in each run")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens each stream produces")
    parser.add_argument("--rounds", type=int, default=11, help="measured rounds (after one warm-up round)")
    parser.add_argument("--model", default="", help="model path (default: the tiny random model)")
    # Three engines share one GPU (the service's, vLLM's server's, the raw one): a quarter each.
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.25, help="each engine's share (GPU only)")
    parser.add_argument("--stream-interval", type=int, default=1, help="tokens per streamed chunk after the first")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"which of {','.join(PATHS)} to measure")
    parsed = parser.parse_args()
    parsed.paths = [name for name in PATHS if name in parsed.paths.split(",")]
    main(parsed)
