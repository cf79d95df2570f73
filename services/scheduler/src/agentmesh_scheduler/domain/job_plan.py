"""A job's plan: checks on its steps (ids, dependencies, cycles, references, limits) and
the `{{steps.<id>.output}}` references a step's input may hold.

Every refusal is an InvalidInput whose message names the offending step. The
rendering is pure and deterministic: the job's workflow calls it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from agentmesh_core.errors import InvalidInput, NotFound
from agentmesh_core.ids import parse_id
from agentmesh_core.text import check_text
from agentmesh_scheduler.domain import validation
from agentmesh_scheduler.domain.jobs import JobDraft, JobTemplate, StepDraft, StepSpec
from agentmesh_scheduler.domain.models import JsonValue
from agentmesh_scheduler.domain.ports import AgentDirectory

MAX_STEPS = 50
NAME_MAX_LENGTH = 200
IDEMPOTENCY_KEY_MAX_LENGTH = 200
STEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_ATTEMPTS_MAX = 10
BACKOFF_SECONDS_MAX = 3600.0
TIMEOUT_SECONDS_MIN = 1.0
TIMEOUT_SECONDS_MAX = 24 * 3600.0
DEFAULT_MAX_ATTEMPTS = 1
DEFAULT_BACKOFF_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 600.0

_STEP_ID = re.compile(STEP_ID_PATTERN)
# {{steps.<id>.output}}, spaces allowed inside the braces.
REFERENCE = re.compile(r"\{\{\s*steps\.([A-Za-z0-9_-]+)\.output\s*\}\}")


def plan(draft: JobDraft | None) -> tuple[str, str, tuple[StepSpec, ...]]:
    """(name, idempotency key, steps) of a valid job; InvalidInput naming the step otherwise."""
    if draft is None:
        raise InvalidInput("job is required")
    name = check_text(draft.name.strip(), "name")
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"name must be 1 to {NAME_MAX_LENGTH} characters")
    key = check_text(draft.idempotency_key, "idempotency_key")
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidInput(f"idempotency_key must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters")
    if not draft.steps:
        raise InvalidInput("a job needs at least one step")
    if len(draft.steps) > MAX_STEPS:
        raise InvalidInput(f"a job has at most {MAX_STEPS} steps (got {len(draft.steps)})")
    steps: list[StepSpec] = []
    for raw in draft.steps:
        spec = _step(raw)
        if any(seen.id == spec.id for seen in steps):
            raise InvalidInput(f"step {spec.id!r}: duplicate step id")
        steps.append(spec)
    by_id = {step.id: step for step in steps}
    for step in steps:
        for dependency in step.depends_on:
            if dependency not in by_id:
                raise InvalidInput(f"step {step.id!r}: depends on unknown step {dependency!r}")
    _refuse_cycles(steps)
    for step in steps:
        ancestors = _ancestors(step.id, by_id)
        for referenced in references(step.input):
            if referenced not in by_id:
                raise InvalidInput(f"step {step.id!r}: input references unknown step {referenced!r}")
            if referenced not in ancestors:
                raise InvalidInput(
                    f"step {step.id!r}: input references step {referenced!r}, which it does not depend on"
                )
    return name, key, tuple(steps)


def template(draft: JobDraft) -> JobTemplate:
    """A schedule's job: checked as a job is, without an idempotency key (each firing derives its own)."""
    if draft.idempotency_key:
        raise InvalidInput("job.idempotency_key is not allowed on a schedule: each firing derives its own")
    name, _, steps = plan(draft)
    return JobTemplate(name, steps)


async def require_agents(agents: AgentDirectory, project_id: str, steps: tuple[StepSpec, ...]) -> None:
    """InvalidInput naming the first step whose agent is not in the project."""
    for agent_id in dict.fromkeys(step.agent_id for step in steps):
        try:
            await agents.require_agent(project_id, agent_id)
        except NotFound:
            step = next(step for step in steps if step.agent_id == agent_id)
            raise InvalidInput(f"step {step.id!r}: agent {agent_id} not found in this project") from None


def _step(raw: StepDraft) -> StepSpec:
    step_id = raw.id
    if not isinstance(step_id, str) or not _STEP_ID.match(step_id):
        raise InvalidInput(f"step {step_id!r}: id must match {STEP_ID_PATTERN}")
    try:
        agent_id = parse_id(raw.agent_id, "agent_id")
        content = validation.payload(raw.input)
    except InvalidInput as error:
        raise InvalidInput(f"step {step_id!r}: {error.message.replace('payload', 'input')}") from None
    depends_on = tuple(raw.depends_on)
    if step_id in depends_on:
        raise InvalidInput(f"step {step_id!r}: a step cannot depend on itself")
    if len(set(depends_on)) != len(depends_on):
        raise InvalidInput(f"step {step_id!r}: depends_on lists a step twice")
    attempts = DEFAULT_MAX_ATTEMPTS if raw.max_attempts is None else raw.max_attempts
    if not 1 <= attempts <= MAX_ATTEMPTS_MAX:
        raise InvalidInput(f"step {step_id!r}: retry.max_attempts must be between 1 and {MAX_ATTEMPTS_MAX}")
    backoff = DEFAULT_BACKOFF_SECONDS if raw.backoff_seconds is None else raw.backoff_seconds
    if not 0 <= backoff <= BACKOFF_SECONDS_MAX:
        raise InvalidInput(f"step {step_id!r}: retry.backoff_s must be between 0 and {BACKOFF_SECONDS_MAX:g}")
    timeout = DEFAULT_TIMEOUT_SECONDS if raw.timeout_seconds is None else raw.timeout_seconds
    if not TIMEOUT_SECONDS_MIN <= timeout <= TIMEOUT_SECONDS_MAX:
        raise InvalidInput(
            f"step {step_id!r}: timeout_s must be between {TIMEOUT_SECONDS_MIN:g} and {TIMEOUT_SECONDS_MAX:g}"
        )
    return StepSpec(step_id, agent_id, content, depends_on, attempts, float(backoff), float(timeout))


def _refuse_cycles(steps: list[StepSpec]) -> None:
    """Kahn's algorithm: whatever cannot be ordered sits on (or behind) a cycle."""
    remaining = {step.id: set(step.depends_on) for step in steps}
    while True:
        ready = [step_id for step_id, deps in remaining.items() if not deps]
        if not ready:
            break
        for step_id in ready:
            del remaining[step_id]
        for deps in remaining.values():
            deps.difference_update(ready)
    if remaining:
        # Name a step that is on the cycle: follow dependencies until one repeats.
        current, seen = next(iter(remaining)), []
        while current not in seen:
            seen.append(current)
            current = sorted(remaining[current])[0]
        cycle = [*seen[seen.index(current) :], current]
        raise InvalidInput(f"step {current!r}: dependency cycle {' -> '.join(cycle)}")


def _ancestors(step_id: str, by_id: Mapping[str, StepSpec]) -> set[str]:
    found: set[str] = set()
    stack = list(by_id[step_id].depends_on)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(by_id[current].depends_on)
    return found


def references(value: JsonValue) -> list[str]:
    """The step ids a value's strings reference, in order of appearance."""
    found: list[str] = []
    if isinstance(value, str):
        found += REFERENCE.findall(value)
    elif isinstance(value, list):
        for item in value:
            found += references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += references(key) + references(item)
    return found


def render(value: JsonValue, outputs: Mapping[str, JsonValue]) -> JsonValue:
    """The value with every reference replaced by that step's output.

    A string that is exactly one reference becomes the output itself (which may
    be any JSON value); a reference inside longer text becomes the output's text
    (JSON for non-strings).
    """
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return outputs.get(whole.group(1))
        return REFERENCE.sub(lambda match: _as_text(outputs.get(match.group(1))), value)
    if isinstance(value, list):
        return [render(item, outputs) for item in value]
    if isinstance(value, dict):
        return {render_key(key, outputs): render(item, outputs) for key, item in value.items()}
    return value


def render_key(key: str, outputs: Mapping[str, JsonValue]) -> str:
    return REFERENCE.sub(lambda match: _as_text(outputs.get(match.group(1))), key)


def _as_text(output: JsonValue) -> str:
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
