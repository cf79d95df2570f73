"""The heap a service builds while it starts, kept out of the garbage collector's full passes.

A service imports and builds hundreds of thousands of long-lived objects before it
serves (vLLM, torch and transformers in the inference service; grpc, SQLAlchemy and
pydantic models everywhere). CPython's oldest-generation collection walks all of them
every time, and it runs on the event loop: measured in the inference service on this
machine, ~700,000 tracked objects and full collections of 370-680 ms, each one a stall
of every stream it serves (time to first token jumped from ~80 ms to 580-1,040 ms in
the runs it hit). vLLM's own OpenAI server freezes its start-up heap for the same
reason (vllm.utils.gc_utils.freeze_gc_heap).
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move every object alive now to the permanent generation: later collections skip it.

    Called once per process, when the service is about to serve. Objects created
    afterwards are collected as usual; a frozen object that becomes garbage is still
    freed by reference counting (only a cycle among frozen objects would stay).
    """
    gc.collect()
    gc.freeze()
