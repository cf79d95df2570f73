"""Scripting a team of agents in one World: prompts that dispatch the scripted model, and a hand-run mailbox."""

from __future__ import annotations

import json

from agentmesh_agents.domain.models import Message

from .conftest import World

DELEGATE = "send_message_to_agent"


def observations(turns) -> list[str]:
    return [t.content.removeprefix("Observation: ") for t in turns if t.content.startswith("Observation: ")]


def ask(agent: str, content: str, wait: bool = True) -> str:
    return json.dumps({"tool": DELEGATE, "arguments": {"agent": agent, "content": content, "wait_for_reply": wait}})


def final(text: str) -> str:
    return json.dumps({"final": text})


def manager_script(turns) -> list[str]:
    """Ask data, then analysis (without waiting in between), then compose from both replies."""
    seen = observations(turns)
    if not seen:
        return [ask("data", "numbers for today")]
    if len(seen) == 1:
        return [ask("analysis", "trends for today")]
    return [final("report: " + " + ".join(seen))]


def scripts(**by_prompt):
    """One model for every agent: the step comes from the script named by the agent's system prompt."""

    def step(turns) -> list[str]:
        persona = turns[0].content.split("\n", 1)[0]
        part = by_prompt[persona]
        return part(turns) if callable(part) else [part]

    return [step]


async def pump(world: World, limit: int = 50) -> list[Message]:
    """Deliver whatever the mailboxes hold (and what that posts), in order; the deliveries made."""
    delivered: list[Message] = []
    while posted := world.mailbox.take():
        for message in posted:
            delivered.append(message)
            assert len(delivered) <= limit, "the agents never settle"
            await world.process(message)
    return delivered


async def team(world: World, **extra) -> dict:
    agents = {
        "manager": await world.agent("manager", system_prompt="manager"),
        "data": await world.agent("data", system_prompt="data"),
        "analysis": await world.agent("analysis", system_prompt="analysis"),
    }
    for name, agent in extra.items():
        agents[name] = agent
    await world.grant(agents["manager"], DELEGATE)
    world.inference.script = scripts(manager=manager_script, data="42 rows", analysis="up 3%")
    return agents


def parked_turns(world: World) -> list:
    return [turn for turn in world.tool_state.turns.values() if turn.parked is not None]
