"""One suite over both Engine adapters (scripted and vLLM), so the scripted one stays honest."""

from __future__ import annotations

import pytest

from agentmesh_inference.adapters.scripted_engine import ScriptedEngine
from agentmesh_inference.domain.limits import Limits, validate
from agentmesh_inference.domain.models import ChatMessage, FinishReason, GenerationRequest, Sampling

LIMITS = Limits(max_tokens_cap=1024)
LONG_REPLY = " ".join(f"word{i}" for i in range(2000))


@pytest.fixture(params=["scripted", "vllm"])
def engine(request: pytest.FixtureRequest):
    if request.param == "scripted":
        return ScriptedEngine([LONG_REPLY], delay=0.001)
    return request.getfixturevalue("vllm_engine")


def greedy(max_tokens: int, **fields) -> GenerationRequest:
    # Greedy decoding on the random model never picks end-of-sequence: it runs to max_tokens.
    fields.setdefault("prompt", "Hello")
    return GenerationRequest(sampling=Sampling(max_tokens=max_tokens, temperature=0.0), **fields)


async def test_info_describes_the_model(engine):
    info = engine.info()
    assert info.model and info.max_model_len > 0


@pytest.mark.parametrize("shape", ["prompt", "messages"])
async def test_stream_ends_with_finish_reason_and_usage(engine, shape):
    fields = {"prompt": "", "messages": (ChatMessage("user", "Hello"),)} if shape == "messages" else {}
    chunks = [c async for c in engine.generate(validate(greedy(12, **fields), LIMITS))]
    assert len(chunks) > 1
    assert all(c.finish_reason is None and c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.finish_reason is FinishReason.LENGTH
    assert last.usage is not None and last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens == sum(len(c.token_ids) for c in chunks) == 12


async def test_abort_ends_the_stream_with_abort(engine):
    request = validate(greedy(1000), LIMITS)
    stream = engine.generate(request)
    first = await anext(stream)
    assert first.finish_reason is None
    assert engine.unfinished_requests == 1
    await engine.abort(request.request_id)
    rest = [c async for c in stream]
    assert rest and rest[-1].finish_reason is FinishReason.ABORT
    assert rest[-1].usage is not None and rest[-1].usage.completion_tokens < 1000
    assert engine.unfinished_requests == 0


async def test_stats_show_the_running_batch_while_a_request_streams(engine):
    idle = engine.stats()
    assert idle.running_requests == 0 and idle.max_batch_size > 0
    request = validate(greedy(1000), LIMITS)
    stream = engine.generate(request)
    for _ in range(3):  # a few steps, so the engine has reported its figures
        await anext(stream)
    busy = engine.stats()
    assert busy.running_requests == 1
    assert 0.0 <= busy.kv_cache_usage <= 1.0
    await engine.abort(request.request_id)
    _ = [c async for c in stream]
    assert engine.stats().running_requests == 0
