"""The prompt of a ReAct step: the tools offered, the step format, the steps so far.

The inference service renders chat turns with the model's chat template but
has no `tools` field yet, so the tools are described in the system turn; each
earlier step comes back as the assistant's JSON and a user turn holding the
observation (the roles every chat template knows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_agents.domain.tool_models import ToolDefinition
from agentmesh_agents.domain.turns import Step

_FORMAT = (
    "Work in steps. Reply to each step with exactly one JSON object: "
    '{"tool": "<tool name>", "arguments": {...}} to call a tool (its result comes back as an observation), '
    'or {"final": "<your answer>"} when you can answer.'
)
_FORMAT_NO_TOOLS = 'Reply with exactly one JSON object: {"final": "<your answer>"}.'


def tools_section(tools: Sequence[ToolDefinition]) -> str:
    """The part of the system turn that offers the tools and sets the step format."""
    if not tools:
        return _FORMAT_NO_TOOLS
    listed = "\n".join(
        f"- {tool.name}: {tool.description} Arguments: {json.dumps(tool.parameters, separators=(',', ':'))}"
        for tool in tools
    )
    return f"{_FORMAT}\nTools:\n{listed}"


def step_turns(base: Sequence[ChatTurn], tools: Sequence[ToolDefinition], transcript: Sequence[Step]) -> list[ChatTurn]:
    """The turns of the next step: the plain prompt with the tools added to its system turn,
    then every earlier step and its observation."""
    system, *rest = base
    turns = [ChatTurn("system", f"{system.content}\n\n{tools_section(tools)}"), *rest]
    for step in transcript:
        turns.append(ChatTurn("assistant", step.said))
        turns.append(ChatTurn("user", f"Observation: {step.observation}"))
    return turns


def capped(text: str, max_chars: int) -> str:
    """Tool output cut to max_chars before it enters the prompt (saying how much was cut)."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}... [{len(text) - max_chars} more characters cut]"
