"""The shard's HNSW index, built in a child process on a copy of the shard, then swapped in.

qdrant-edge builds HNSW only inside `optimize()`, which holds the GIL until it
is done (26 s for 20,000 points here): called in the service it would stop
every search and RPC for that long. So the index (adapters/edge_index.py) copies
its flushed shard to `<shard>.build`, runs `python -m
agentmesh_memory.adapters.edge_build <copy>` (niced: it competes with the model
for the cores), keeps a journal of what it writes meanwhile, replays the journal
into the built copy and swaps directories: the live shard becomes
`<shard>.old`, the copy becomes `<shard>`, and `.old` is removed. A swap cut
short by a crash is undone at the next open (`recover`); leftovers are removed.

The file moves and the child's entry point live here; the orchestration (when
to build, the journal, the swap on the shard's thread) lives in edge_index.py.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

log = logging.getLogger(__name__)

BUILD_COMMAND = (sys.executable, "-m", "agentmesh_memory.adapters.edge_build")


def build_dir(shard: Path) -> Path:
    """Where the copy being built lives."""
    return shard.with_name(shard.name + ".build")


def old_dir(shard: Path) -> Path:
    """Where the replaced shard waits during a swap."""
    return shard.with_name(shard.name + ".old")


def copy_for_build(shard: Path) -> Path:
    """Copy a flushed shard (nothing may write to it meanwhile) for a build."""
    copy = build_dir(shard)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(shard, copy)
    return copy


def swap_in(shard: Path) -> None:
    """Put the built copy in the shard's place (both closed); the old shard is removed."""
    old = old_dir(shard)
    shutil.rmtree(old, ignore_errors=True)
    os.rename(shard, old)
    os.rename(build_dir(shard), shard)
    shutil.rmtree(old, ignore_errors=True)


def recover(shard: Path) -> None:
    """Undo a swap cut short (the old shard back in place) and remove leftovers."""
    old = old_dir(shard)
    if not shard.exists() and old.exists():
        log.warning("vector shard swap was cut short: restoring %s", shard)
        os.rename(old, shard)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(build_dir(shard), ignore_errors=True)


def main(argv: list[str]) -> int:
    """Optimize (build HNSW for) the shard copy at argv[0], then flush and close it."""
    from qdrant_edge import EdgeShard

    [path] = argv
    os.nice(10)  # the service's model and searches come first
    shard = EdgeShard.load(path)
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
