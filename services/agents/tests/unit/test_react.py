"""The ReAct loop with a scripted model: tool steps, enforcement, budgets, the log and the stream."""

from __future__ import annotations

import json

import pytest

from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.domain.models import EventType, MessageStatus, ParticipantType
from agentmesh_agents.domain.ports import Generation
from agentmesh_agents.domain.tool_models import Grant, ToolCallFilter, ToolCallOutcome
from agentmesh_core.errors import Unavailable

from .conftest import ADMIN, PROJECT, ROOT, World


def call(tool: str, **arguments) -> list[str]:
    return [json.dumps({"tool": tool, "arguments": arguments})]


def final(text: str) -> list[str]:
    return [json.dumps({"final": text})]


def observations(turns) -> list[str]:
    return [t.content.removeprefix("Observation: ") for t in turns if t.content.startswith("Observation: ")]


async def audit(world: World, **filters) -> list:
    page = await world.audit.list(ADMIN, PROJECT, ToolCallFilter(**filters), 100, "")
    return sorted(page.items, key=lambda c: c.step)


def answer_from_observations(turns) -> list[str]:
    seen = observations(turns)
    return final(f"6*7={seen[0]}; memory says: {seen[1].removeprefix('1. ')}")


async def test_a_three_step_turn_calls_two_tools_and_answers(world: World) -> None:
    world.memory.entries = ["Paris is the capital of France."]
    world.inference.script = [
        call("calculator", expression="6*7"),
        call("memory_search", query="capital of France", k=1),
        answer_from_observations,
    ]
    agent = await world.agent(model_config={"max_tokens": 64})
    await world.grant(agent, "calculator", "memory_search")
    request = await world.send(agent, "What is 6*7, and what is the capital of France?")

    outcome = await world.process(request)

    assert outcome.done
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    reply = world.messages.reply_to(request)
    assert reply.content == "6*7=42; memory says: Paris is the capital of France."
    # The steps are in the log: tool_call under the request, tool_result under its call.
    steps = sorted(
        (m for m in world.messages.messages.values() if m.performative in ("tool_call", "tool_result")),
        key=lambda m: m.created_at,
    )
    assert [m.performative for m in steps] == ["tool_call", "tool_result"] * 2
    for call_message, result in zip(steps[::2], steps[1::2], strict=True):
        assert call_message.parent_id == request.id and result.parent_id == call_message.id
        assert call_message.sender.id == agent.id and call_message.receiver.type is ParticipantType.SYSTEM
    assert steps[1].content["observation"] == "42"
    # ...and on the stream, in order.
    kinds = [e.type for e in world.events.of(request.conversation_id)]
    assert kinds == [
        EventType.STATUS,
        EventType.TOOL_CALL,
        EventType.TOOL_RESULT,
        EventType.TOOL_CALL,
        EventType.TOOL_RESULT,
        EventType.TOKEN,
        EventType.REPLY,
    ]
    results = [e for e in world.events.of(request.conversation_id) if e.type is EventType.TOOL_RESULT]
    assert [e.text for e in results] == ["42", "1. Paris is the capital of France."]
    # Every call is audited; memory was searched in the agent's own project.
    calls = await audit(world, message_id=request.id)
    assert [(c.tool, c.outcome, c.step) for c in calls] == [
        ("calculator", ToolCallOutcome.ALLOWED, 1),
        ("memory_search", ToolCallOutcome.ALLOWED, 2),
    ]
    assert world.memory.queries[-1] == (PROJECT, agent.id, "capital of France", 1)
    # Each step was constrained to the granted tools, and saw the observations so far.
    schemas = [json.loads(c.json_schema) for c in world.inference.calls]
    names = {branch["properties"].get("tool", {}).get("const") for branch in schemas[0]["anyOf"]}
    assert names == {"calculator", "memory_search", None}
    assert observations(world.inference.calls[1].turns) == ["42"]
    granted = {g.tool.name: g.grant for g in await world.grants.for_agent(PROJECT, agent.id)}
    assert granted["calculator"].last_used is not None


async def test_an_ungranted_tool_is_refused_audited_and_never_runs(world: World) -> None:
    world.inference.script = [call("memory_store", content="remember me"), final("ok")]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    request = await world.send(agent, "store something")

    await world.process(request)

    assert world.memory.stored == []
    assert (await world.stored(request)).status is MessageStatus.COMPLETE
    (refused,) = await audit(world)
    assert (refused.tool, refused.outcome, refused.error) == (
        "memory_store",
        ToolCallOutcome.REFUSED,
        "tool not permitted",
    )
    assert observations(world.inference.calls[1].turns) == ["tool not permitted"]


async def test_unknown_and_disabled_tools_are_refused(world: World) -> None:
    world.inference.script = [call("rm_rf", path="/"), call("calculator", expression="1+1"), final("done")]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    await world.catalog.update(ROOT, "calculator", {"enabled": False})
    request = await world.send(agent, "go")

    await world.process(request)

    calls = await audit(world)
    assert [(c.tool, c.outcome) for c in calls] == [
        ("rm_rf", ToolCallOutcome.REFUSED),
        ("calculator", ToolCallOutcome.REFUSED),
    ]
    assert observations(world.inference.calls[2].turns) == ["tool not permitted", "tool not permitted"]
    # A disabled tool is not offered either: only the final answer is allowed.
    assert "anyOf" not in json.loads(world.inference.calls[0].json_schema)


async def test_schema_breaking_arguments_are_refused_before_running(world: World) -> None:
    world.inference.script = [
        call("calculator", expression=5),
        call("calculator", expression="1", extra="x"),
        [json.dumps({"tool": "calculator", "arguments": [1, 2]})],
        final("gave up"),
    ]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    request = await world.send(agent, "compute")

    await world.process(request)

    calls = await audit(world)
    assert [c.outcome for c in calls] == [ToolCallOutcome.REFUSED] * 3
    assert all(c.error.startswith("invalid arguments") for c in calls)
    assert calls[2].arguments == {"_raw": "[1,2]"}
    assert (await world.stored(request)).status is MessageStatus.COMPLETE


async def test_invalid_steps_are_fed_back_and_count_as_steps(world: World) -> None:
    world.inference.script = [["not json at all"], ['{"neither": 1}'], final("fine")]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    request = await world.send(agent, "hi")

    await world.process(request)

    assert world.messages.reply_to(request).content == "fine"
    assert observations(world.inference.calls[2].turns) == [
        "invalid step: the step is not valid JSON",
        'invalid step: the step must have "tool" and "arguments", or "final"',
    ]
    assert await audit(world) == []


async def test_a_step_cut_off_by_max_tokens_says_so(world: World) -> None:
    world.inference.script = [Generation('{"final": "a very long', truncated=True), final("short")]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    request = await world.send(agent, "hi")

    await world.process(request)

    assert observations(world.inference.calls[1].turns) == ["invalid step: the step was cut off (too long)"]
    assert world.messages.reply_to(request).content == "short"


async def test_running_out_of_steps_ends_the_turn_with_a_clear_error(world: World) -> None:
    world.inference.script = [call("calculator", expression="1+1")]
    agent = await world.agent(model_config={"max_steps": 3})
    await world.grant(agent, "calculator")
    request = await world.send(agent, "loop forever")

    assert (await world.process(request)).done

    stored = await world.stored(request)
    assert stored.status is MessageStatus.ERROR
    assert stored.error == "the turn used all 3 steps without a final answer"
    assert len(world.inference.calls) == 3
    assert world.events.of(request.conversation_id)[-1].type is EventType.ERROR


async def test_running_out_of_tokens_ends_the_turn(world: World) -> None:
    world.inference.script = [call("calculator", expression="1+1")]
    agent = await world.agent(model_config={"token_budget": 300})
    await world.grant(agent, "calculator")
    request = await world.send(agent, "loop")

    await world.process(request)

    stored = await world.stored(request)
    assert stored.error == "the turn used its budget of 300 tokens without a final answer"
    # Each step asked for no more tokens than were left.
    assert all(c.sampling.max_tokens <= 300 for c in world.inference.calls)


async def test_running_out_of_time_ends_the_turn(world: World) -> None:
    now = [0.0]

    def slow_step(turns):
        now[0] += 0.7  # each model step takes 0.7 s of a 1 s budget
        return call("calculator", expression="2")

    world.inference.script = [slow_step]
    world.monotonic = lambda: now[0]
    world.rewire()
    agent = await world.agent(model_config={"time_budget_seconds": 1})
    await world.grant(agent, "calculator")
    request = await world.send(agent, "slow")

    await world.process(request)

    assert (await world.stored(request)).error == "the turn used its 1 seconds without a final answer"
    assert len(world.inference.calls) == 2


async def test_tool_output_is_capped_before_it_enters_the_prompt(world: World) -> None:
    world.memory.entries = ["x" * 10_000]
    world.inference.script = [call("memory_search", query="x"), final("read it")]
    agent = await world.agent()
    await world.grant(agent, "memory_search")
    request = await world.send(agent, "read")

    await world.process(request)

    (seen,) = observations(world.inference.calls[1].turns)
    cap = world.limits.tool_output_max_chars
    assert seen.startswith("1. " + "x" * (cap - 3)) and seen.endswith(" more characters cut]")
    assert len(seen) < cap + 50


async def test_a_failing_tool_is_an_error_observation_not_a_failed_turn(world: World) -> None:
    world.memory.error = Unavailable("memory service unavailable")
    world.inference.script = [call("memory_search", query="x"), final("no memory")]
    agent = await world.agent()
    await world.grant(agent, "memory_search")
    request = await world.send(agent, "read")

    await world.process(request)

    (failed,) = await audit(world)
    assert failed.outcome is ToolCallOutcome.ERROR and "unavailable" in failed.error
    assert observations(world.inference.calls[1].turns) == ["error: memory service unavailable"]
    assert (await world.stored(request)).status is MessageStatus.COMPLETE


async def test_an_agent_without_tools_keeps_the_streamed_chat(world: World) -> None:
    world.inference = ScriptedInference.echo()
    world.rewire()
    agent = await world.agent()
    request = await world.send(agent, "ping")

    await world.process(request)

    assert world.messages.reply_to(request).content == "echo: ping"
    assert world.inference.calls[0].json_schema == ""


class ProcessCrash(BaseException):
    """Stands for the process dying mid-turn: nothing in the runtime handles it."""


async def test_a_redelivered_turn_goes_on_from_its_last_recorded_step(world: World) -> None:
    # The runtime dies after the tool step (here: the process is cut off in the model call);
    # the message comes back, and the turn goes on from its stored state.
    world.inference.script = [call("calculator", expression="2+2"), ProcessCrash("killed"), final("4")]
    agent = await world.agent()
    await world.grant(agent, "calculator")
    request = await world.send(agent, "2+2?")

    with pytest.raises(ProcessCrash):
        await world.process(request)
    await world.process(request, attempt=2)

    assert world.messages.reply_to(request).content == "4"
    # The calculator ran once: the second delivery started from the stored step.
    assert len(await audit(world)) == 1
    assert observations(world.inference.calls[2].turns) == ["4"]


async def test_grant_config_reaches_the_tool(world: World) -> None:
    world.inference.script = [call("current_time"), final("it is late")]
    agent = await world.agent()
    await world.grant(agent, Grant("current_time", {"default_timezone": "Asia/Tokyo"}))
    request = await world.send(agent, "time?")

    await world.process(request)

    (seen,) = observations(world.inference.calls[1].turns)
    assert seen.endswith("Asia/Tokyo)") and "+09:00" in seen
