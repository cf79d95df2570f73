"""Continuous batching pays: N requests one at a time vs the same N submitted together.

    python services/inference/bench/bench_batching.py [--n 32] [--max-tokens 64] [--model PATH]

Loads the engine once (the tiny random model unless --model is given) and runs,
side by side in one process, the same N greedy requests (each produces exactly
max_tokens tokens on the random model) sequentially and concurrently, through the
service's Inference use case and vLLM adapter. Prints tokens/s, TTFT p50 and the ratio.
Timings are noisy: compare the ratio within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agentmesh_devstack import bench
from agentmesh_inference.adapters.engine_config import EngineConfig
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits
from agentmesh_inference.domain.models import GenerationRequest, Sampling
from agentmesh_inference.tiny_model import ensure_tiny_model, is_random_model


async def one(inference: Inference, index: int, max_tokens: int) -> tuple[float, int]:
    """Run one request; return (time to first token, tokens produced)."""
    request = GenerationRequest(
        prompt=f"Request {index}: write the daily report for the team.",
        sampling=Sampling(max_tokens=max_tokens, temperature=0.0),
    )
    started = time.perf_counter()
    ttft, tokens = 0.0, 0
    async for chunk in inference.generate(request):
        if not ttft and chunk.token_ids:
            ttft = time.perf_counter() - started
        tokens += len(chunk.token_ids)
    return ttft, tokens


def report(label: str, results: list[tuple[float, int]], elapsed: float) -> float:
    tokens = sum(t for _, t in results)
    rate = tokens / elapsed
    ttft_ms = statistics.median(t for t, _ in results) * 1000
    print(f"{label:<14} {len(results):>3} requests  {tokens:>6} tokens  {elapsed:6.2f} s  "
          f"{rate:9.0f} tokens/s  TTFT p50 {ttft_ms:7.1f} ms")  # fmt: skip
    return rate


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The engine for this run: --model, or the tiny random model in the temp dir."""
    model = args.model or str(ensure_tiny_model(Path(tempfile.gettempdir()) / "agentmesh-bench" / "tiny-llama"))
    return EngineConfig(
        model=model,
        max_num_seqs=max(args.n, 1),
        dtype=args.dtype,
        random_weights=Path(model).is_dir() and is_random_model(Path(model)),
    )


async def main(args: argparse.Namespace, config: EngineConfig) -> None:
    from agentmesh_inference.adapters.vllm_engine import VllmEngine

    started = time.perf_counter()
    engine = await VllmEngine.start(config)
    print(f"engine loaded in {time.perf_counter() - started:.1f} s ({config.model}, dtype {args.dtype})")
    inference = Inference(Limits(max_tokens_cap=max(args.max_tokens, 1)), engine)
    try:
        await asyncio.gather(*(one(inference, i, 8) for i in range(4)))  # warm-up

        started = time.perf_counter()
        sequential = [await one(inference, i, args.max_tokens) for i in range(args.n)]
        seq_rate = report("one at a time", sequential, time.perf_counter() - started)

        started = time.perf_counter()
        concurrent = await asyncio.gather(*(one(inference, i, args.max_tokens) for i in range(args.n)))
        conc_rate = report("concurrent", list(concurrent), time.perf_counter() - started)

        print(f"continuous batching: {conc_rate / seq_rate:.1f}x the tokens/s of one request at a time")
        bench.record(
            f"{args.n} requests together / one at a time, tokens/s",
            conc_rate / seq_rate,
            bench.Rounds("together", "tokens/s", [conc_rate]),
            bench.Rounds("one at a time", "tokens/s", [seq_rate]),
        )
    finally:
        engine.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="requests in each run")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens each request produces")
    parser.add_argument("--model", default="", help="model path or id (default: the tiny random model)")
    parser.add_argument("--dtype", default="auto", help="engine dtype (auto, bfloat16, float32)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments, engine_config(arguments)))
