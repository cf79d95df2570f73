"""ScriptedInference: an LLM that follows a script, to test agent logic deterministically.

The one sanctioned test double for the model (STYLE.md section 6): each call to
`stream_chat` (or `generate`) takes the next step of the script; a step is a
list of chunks to yield, an exception to raise, a callable that turns the
prompt into chunks, or a whole Generation (e.g. one cut off by max_tokens).
When the script runs out, the last step repeats.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn, Generation

Step = Sequence[str] | BaseException | Callable[[Sequence[ChatTurn]], Sequence[str]] | Generation


@dataclass
class ScriptedCall:
    """What the runtime asked the model."""

    turns: list[ChatTurn]
    sampling: Sampling
    request_id: str
    json_schema: str = ""


@dataclass
class ScriptedInference:
    """Inference that replays a script; `calls` records every prompt it was given."""

    script: list[Step] = field(default_factory=lambda: [["Hello", " there", "!"]])
    chunk_delay: float = 0.0
    calls: list[ScriptedCall] = field(default_factory=list)

    @classmethod
    def echo(cls, chunk_delay: float = 0.0) -> ScriptedInference:
        """A model that answers "echo: <last user turn>" in two chunks."""
        return cls(script=[lambda turns: ["echo: ", turns[-1].content]], chunk_delay=chunk_delay)

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str) -> AsyncIterator[str]:
        step = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append(ScriptedCall(list(turns), sampling, request_id))
        if isinstance(step, BaseException):
            raise step
        chunks = [step.text] if isinstance(step, Generation) else step(turns) if callable(step) else step
        for chunk in chunks:
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk

    async def generate(
        self, turns: Sequence[ChatTurn], sampling: Sampling, request_id: str, json_schema: str
    ) -> Generation:
        """The next step, whole; tokens are counted as about four characters each."""
        step = self.script[min(len(self.calls), len(self.script) - 1)]
        self.calls.append(ScriptedCall(list(turns), sampling, request_id, json_schema))
        if isinstance(step, BaseException):
            raise step
        if self.chunk_delay:
            await asyncio.sleep(self.chunk_delay)
        if isinstance(step, Generation):
            return step
        text = "".join(step(turns) if callable(step) else step)
        prompt = sum(len(turn.content) for turn in turns)
        return Generation(text, prompt_tokens=-(-prompt // 4), completion_tokens=-(-len(text) // 4))
