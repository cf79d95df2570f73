"""An agent's model configuration: what keys it may hold, and the sampling it implies."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agentmesh_agents.domain.limits import Limits
from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import check_json
from agentmesh_core.text import text_problem

_MODEL_NAME_MAX = 200
_STOP_MAX_CHARS = 64
KNOWN_KEYS = (
    "model",
    "temperature",
    "max_tokens",
    "top_p",
    "seed",
    "stop",
    "max_steps",
    "token_budget",
    "time_budget_seconds",
    # A monitoring agent's (agent_type "monitor"): the project lets the monitor pause offending agents.
    "pause_offenders",
)


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings for one generation; None means the server default."""

    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


def _number(config: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"model_config.{key} must be a number")
    if not low <= value <= high:
        raise InvalidInput(f"model_config.{key} must be between {low:g} and {high:g}")
    return float(value)


def _integer(config: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = _number(config, key, low, high)
    if value is None:
        return None
    if not value.is_integer():
        raise InvalidInput(f"model_config.{key} must be a whole number")
    return int(value)


def validate_model_config(raw: dict[str, Any] | None, limits: Limits) -> dict[str, Any]:
    """Check a client's model_config and return it normalised.

    The value keeps the platform's JSON rule first (depth, NUL, finite numbers).
    Unknown keys are refused so that a typo ("temprature") is an error rather
    than a setting silently ignored. JSON numbers arrive as floats; whole-number
    settings are stored as ints.
    """
    config = dict(check_json(raw or {}, "model_config"))
    unknown = sorted(set(config) - set(KNOWN_KEYS))
    if unknown:
        raise InvalidInput(f"unknown model_config key {unknown[0]!r}; known keys: {', '.join(KNOWN_KEYS)}")
    normalised: dict[str, Any] = {}
    model = config.get("model")
    if model is not None:
        if not isinstance(model, str) or len(model) > _MODEL_NAME_MAX or text_problem(model):
            raise InvalidInput(f"model_config.model must be a string of at most {_MODEL_NAME_MAX} characters")
        normalised["model"] = model
    for key, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = _number(config, key, low, high)
        if value is not None:
            normalised[key] = value
    if "top_p" in normalised and normalised["top_p"] == 0:
        raise InvalidInput("model_config.top_p must be greater than 0")
    for key, low, high in (("max_tokens", 1, limits.max_tokens_cap), ("seed", 0, 2**63 - 1)):
        value = _integer(config, key, low, high)
        if value is not None:
            normalised[key] = value
    # The ReAct loop's budgets per turn (see turn_budget), each within the service's cap.
    for key, low, high in (
        ("max_steps", 1, limits.react_max_steps_cap),
        ("token_budget", 1, limits.react_token_budget_cap),
    ):
        value = _integer(config, key, low, high)
        if value is not None:
            normalised[key] = value
    seconds = _number(config, "time_budget_seconds", 1.0, limits.react_time_budget_cap_seconds)
    if seconds is not None:
        normalised["time_budget_seconds"] = seconds
    pause = config.get("pause_offenders")
    if pause is not None:
        if not isinstance(pause, bool):
            raise InvalidInput("model_config.pause_offenders must be true or false")
        normalised["pause_offenders"] = pause
    stop = config.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if (
            not isinstance(stop, list)
            or len(stop) > limits.stop_strings_max
            or not all(isinstance(s, str) and 0 < len(s) <= _STOP_MAX_CHARS and not text_problem(s) for s in stop)
        ):
            raise InvalidInput(
                f"model_config.stop must be up to {limits.stop_strings_max} non-empty strings "
                f"of at most {_STOP_MAX_CHARS} characters"
            )
        normalised["stop"] = list(stop)
    return normalised


def sampling_for(config: dict[str, Any], limits: Limits) -> Sampling:
    """The sampling an agent's (validated) model_config asks for."""
    max_tokens = config.get("max_tokens") or limits.default_max_tokens
    return Sampling(
        max_tokens=min(int(max_tokens), limits.max_tokens_cap),
        temperature=config.get("temperature"),
        top_p=config.get("top_p"),
        seed=config.get("seed"),
        stop=tuple(config.get("stop") or ()),
    )
