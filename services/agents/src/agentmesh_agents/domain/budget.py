"""What one ReAct turn may spend, and what it has spent: steps, tokens, active seconds.

The budget comes from the agent's model_config (`max_steps`, `token_budget`,
`time_budget_seconds`) within the service's caps. Time counts only while the
turn is worked on: a turn parked for a human does not spend it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentmesh_agents.domain.limits import Limits


@dataclass(frozen=True, slots=True)
class TurnBudget:
    """The most a turn may spend."""

    max_steps: int
    tokens: int  # prompt + completion tokens over all steps
    seconds: float


def turn_budget(config: dict[str, Any], limits: Limits) -> TurnBudget:
    """The budget an agent's (validated) model_config asks for, within the service's caps."""
    return TurnBudget(
        max_steps=min(int(config.get("max_steps") or limits.react_max_steps), limits.react_max_steps_cap),
        tokens=min(int(config.get("token_budget") or limits.react_token_budget), limits.react_token_budget_cap),
        seconds=min(
            float(config.get("time_budget_seconds") or limits.react_time_budget_seconds),
            limits.react_time_budget_cap_seconds,
        ),
    )


class Spending:
    """Steps, tokens and active time of a turn: what earlier deliveries spent plus this one."""

    def __init__(
        self,
        budget: TurnBudget,
        steps: int,
        tokens: int,
        active_ms: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.steps = steps
        self.tokens = tokens
        self._earlier_ms = active_ms
        self._monotonic = monotonic
        self._started = monotonic()

    @property
    def active_ms(self) -> int:
        """Milliseconds the turn has been worked on, over every delivery."""
        return self._earlier_ms + int((self._monotonic() - self._started) * 1000)

    @property
    def seconds_left(self) -> float:
        return self.budget.seconds - self.active_ms / 1000

    @property
    def tokens_left(self) -> int:
        return self.budget.tokens - self.tokens

    def exhausted(self) -> str | None:
        """Why the turn may not take another step (a text for the sender), or None."""
        budget = self.budget
        if self.steps >= budget.max_steps:
            return f"the turn used all {budget.max_steps} steps without a final answer"
        if self.tokens_left <= 0:
            return f"the turn used its budget of {budget.tokens} tokens without a final answer"
        if self.seconds_left <= 0:
            return self.out_of_time()
        return None

    def out_of_time(self) -> str:
        return f"the turn used its {self.budget.seconds:g} seconds without a final answer"
