"""Scripted agents in a running mesh: an agent whose system prompt holds a script follows it.

The scripted LLM (scripted_inference.py) tests agent logic in-process; end-to-end
tests drive the real processes over REST only, so the script travels in the one
place REST sets: the agent's system prompt. With AGENTMESH_PROMPT_SCRIPTS
on (test meshes only; refused in production), a system prompt holding a line

    agentmesh-script: ["first output", "second output", ...]

makes that agent's model answer from the script instead of the inference
service; every other agent still gets the real model. Which output comes is
stateless, so restarts and redeliveries replay it: the number of the model's
own outputs since the last user message that is not a tool observation (0 for
a plain reply or a turn's first step, 1 after one tool step, ...). The last
output repeats when the script runs out. In an output, `{{observations}}`
stands for the turn's observations so far, JSON-string escaped, one per line,
so a final answer can show what the tools (or other agents) said.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn, Generation, Inference

SCRIPT_MARKER = "agentmesh-script:"
OBSERVATIONS = "{{observations}}"
# How react_prompt.py presents a tool's result to the model.
OBSERVATION_PREFIX = "Observation: "


def script_of(turns: Sequence[ChatTurn]) -> list[str] | None:
    """The script in the system prompt, or None when the agent is not scripted."""
    if not turns or turns[0].role != "system":
        return None
    for line in turns[0].content.splitlines():
        if line.startswith(SCRIPT_MARKER):
            try:
                script = json.loads(line.removeprefix(SCRIPT_MARKER))
            except ValueError:
                return None
            if isinstance(script, list) and script and all(isinstance(step, str) for step in script):
                return script
            return None
    return None


def _current_turn(turns: Sequence[ChatTurn]) -> tuple[int, list[str]]:
    """The model's outputs and the observations since the last real user message."""
    outputs, observations = 0, []
    for turn in reversed(turns):
        if turn.role == "assistant":
            outputs += 1
        elif turn.role == "user" and turn.content.startswith(OBSERVATION_PREFIX):
            observations.append(turn.content.removeprefix(OBSERVATION_PREFIX))
        else:
            break
    return outputs, observations[::-1]


def scripted_output(script: Sequence[str], turns: Sequence[ChatTurn]) -> str:
    """The script's next output for this prompt."""
    done, observations = _current_turn(turns)
    output = script[min(done, len(script) - 1)]
    return output.replace(OBSERVATIONS, json.dumps("\n".join(observations))[1:-1])


class PromptScriptedInference:
    """Inference that answers scripted agents from their script and the rest from `model`."""

    def __init__(self, model: Inference) -> None:
        self._model = model

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        script = script_of(turns)
        if script is None:
            async for chunk in self._model.stream_chat(turns, sampling, request_id):
                yield chunk
            return
        output = scripted_output(script, turns)
        # In a few chunks, as a model streams.
        for start in range(0, len(output), 16):
            yield output[start : start + 16]

    async def generate(
        self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str, json_schema: str
    ) -> Generation:
        script = script_of(turns)
        if script is None:
            return await self._model.generate(turns, sampling, request_id, json_schema)
        output = scripted_output(script, turns)
        prompt_chars = sum(len(turn.content) for turn in turns)
        return Generation(output, prompt_tokens=-(-prompt_chars // 4), completion_tokens=-(-len(output) // 4))
