"""The Inference use case with the scripted engine: loading state, streaming, aborts."""

from __future__ import annotations

import contextlib

import pytest

from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_inference.adapters.scripted_engine import ScriptedEngine
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits
from agentmesh_inference.domain.models import FinishReason, GenerationRequest, Sampling


async def collect(inference: Inference, request: GenerationRequest):
    return [chunk async for chunk in inference.generate(request)]


async def test_unavailable_until_an_engine_is_attached():
    inference = Inference(Limits())
    assert not inference.ready
    with pytest.raises(Unavailable, match="model loading"):
        await collect(inference, GenerationRequest(prompt="hi"))
    with pytest.raises(Unavailable):
        inference.model_info()
    inference.attach(ScriptedEngine())
    assert inference.ready
    assert inference.model_info().model == "scripted"


async def test_streams_chunks_and_ends_with_finish_reason_and_usage():
    engine = ScriptedEngine(["one two three"])
    chunks = await collect(Inference(Limits(), engine), GenerationRequest(prompt="a b"))
    assert "".join(c.text for c in chunks) == "one two three"
    assert [c.is_last for c in chunks] == [False, False, True]
    assert chunks[-1].finish_reason is FinishReason.STOP
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert engine.aborted == []


async def test_server_default_max_tokens_applies():
    engine = ScriptedEngine(["w " * 50])
    request = GenerationRequest(prompt="hi", sampling=Sampling(max_tokens=0))
    chunks = await collect(Inference(Limits(default_max_tokens=4), engine), request)
    assert len(chunks) == 4 and chunks[-1].finish_reason is FinishReason.LENGTH
    assert engine.requests[0].max_tokens == 4


async def test_invalid_input_never_reaches_the_engine():
    engine = ScriptedEngine()
    with pytest.raises(InvalidInput):
        await collect(Inference(Limits(), engine), GenerationRequest(prompt="hi", json_schema="nope"))
    assert engine.requests == []


async def test_a_consumer_that_stops_early_aborts_the_engine_request():
    engine = ScriptedEngine(["a b c d e f"], delay=0.01)
    stream = Inference(Limits(), engine).generate(GenerationRequest(prompt="hi"))
    async with contextlib.aclosing(stream):
        first = await anext(stream)
    assert first.text == "a"
    assert engine.aborted == [engine.requests[0].request_id]
    assert engine.unfinished_requests == 0
