"""The Inference use case with the scripted engine: loading state, streaming, aborts."""

from __future__ import annotations

import contextlib

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, ResourceExhausted, Unavailable
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_inference.adapters.scripted_engine import ScriptedEngine
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits
from agentmesh_inference.domain.models import FinishReason, GenerationRequest, Sampling
from agentmesh_inference.domain.ports import InMemoryQuotaStore
from agentmesh_inference.domain.quotas import ProjectQuotas, Quota

SERVICE = Identity("agents", GlobalRole.SERVICE)


class RecordingMetrics:
    def __init__(self) -> None:
        self.rejections: list[tuple[str, str]] = []
        self.finished_calls: list[tuple[str, int, int, bool]] = []

    def rejected(self, project_id: str, reason: str) -> None:
        self.rejections.append((project_id, reason))

    def finished(self, project_id, prompt_tokens, completion_tokens, ttft, duration) -> None:
        self.finished_calls.append((project_id, prompt_tokens, completion_tokens, ttft is not None))


async def collect(inference: Inference, request: GenerationRequest):
    return [chunk async for chunk in inference.generate(request)]


async def test_unavailable_until_an_engine_is_attached():
    inference = Inference(Limits(), model="/models/m", random_weights=True)
    assert not inference.ready
    status = inference.status()
    assert (status.ready, status.model, status.random_weights, status.info) == (False, "/models/m", True, None)
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


async def test_work_is_accounted_to_the_project_and_over_quota_is_refused_before_the_engine():
    engine = ScriptedEngine(["one two three"])
    metrics = RecordingMetrics()
    quotas = ProjectQuotas(Quota(tokens_per_minute=5, max_concurrent=4), InMemoryQuotaStore())
    inference = Inference(Limits(), engine, quotas=quotas, metrics=metrics)
    await collect_as(inference, GenerationRequest(prompt="a b", project_id="p1"), SERVICE)
    assert metrics.finished_calls == [("p1", 2, 3, True)]
    assert quotas.state(SERVICE, "p1").tokens_last_minute == 5
    with pytest.raises(ResourceExhausted) as refused:
        await collect_as(inference, GenerationRequest(prompt="a b", project_id="p1"), SERVICE)
    assert refused.value.retry_after and refused.value.retry_after > 50
    assert metrics.rejections == [("p1", "tokens")]
    assert len(engine.requests) == 1
    # Another project still gets its answer.
    await collect_as(inference, GenerationRequest(prompt="x", project_id="p2"), SERVICE)
    status = inference.status()
    assert status.ready and status.prompt_tokens_total == 3 and status.completion_tokens_total == 6
    assert quotas.state(SERVICE, "p1").in_flight == 0


async def test_a_member_cannot_charge_another_project():
    member = Identity("u", GlobalRole.USER, project_id="p1", project_role=ProjectRole.USER)
    engine = ScriptedEngine()
    with pytest.raises(NotFound):
        await collect_as(Inference(Limits(), engine), GenerationRequest(prompt="x", project_id="p2"), member)
    assert engine.requests == []


async def test_an_aborted_stream_gives_back_its_slot_and_counts_its_output():
    engine = ScriptedEngine(["a b c d e f"], delay=0.01)
    quotas = ProjectQuotas(Quota(tokens_per_minute=1000, max_concurrent=1), InMemoryQuotaStore())
    inference = Inference(Limits(), engine, quotas=quotas)
    stream = inference.generate(GenerationRequest(prompt="hi", project_id="p"), SERVICE)
    async with contextlib.aclosing(stream):
        await anext(stream)
        assert quotas.state(SERVICE, "p").in_flight == 1
    state = quotas.state(SERVICE, "p")
    assert state.in_flight == 0 and state.totals.completion_tokens == 1
    assert inference.queue.active == 0


async def collect_as(inference: Inference, request: GenerationRequest, caller: Identity):
    return [chunk async for chunk in inference.generate(request, caller)]
