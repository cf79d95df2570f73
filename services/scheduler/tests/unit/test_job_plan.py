"""A job's plan: every refusal names the offending step; references render outputs."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_core.ids import new_id
from agentmesh_scheduler.domain.job_plan import MAX_STEPS, plan, references, render
from agentmesh_scheduler.domain.jobs import JobDraft, StepDraft

AGENT = new_id()


def _step(step_id: str, *depends_on: str, **changes: object) -> StepDraft:
    values: dict[str, object] = {"id": step_id, "agent_id": AGENT, "input": f"do {step_id}", "depends_on": depends_on}
    values.update(changes)
    return StepDraft(**values)  # type: ignore[arg-type]


def _plan(*steps: StepDraft, **changes: object):
    values: dict[str, object] = {"name": "daily report", "steps": steps}
    values.update(changes)
    return plan(JobDraft(**values))  # type: ignore[arg-type]


def test_a_diamond_with_references_and_defaults() -> None:
    name, key, steps = _plan(
        _step("data"),
        _step("analysis"),
        _step("compose", "data", "analysis", input="{{steps.data.output}} and {{ steps.analysis.output }}"),
        _step("send", "compose", input={"report": "{{steps.compose.output}}"}, max_attempts=3, timeout_seconds=30),
    )
    assert (name, key) == ("daily report", "")
    assert [s.id for s in steps] == ["data", "analysis", "compose", "send"]
    assert steps[2].depends_on == ("data", "analysis")
    assert (steps[0].max_attempts, steps[0].backoff_seconds, steps[0].timeout_seconds) == (1, 5.0, 600.0)
    assert (steps[3].max_attempts, steps[3].timeout_seconds) == (3, 30.0)


def test_a_reference_to_a_transitive_dependency_is_fine() -> None:
    _plan(_step("a"), _step("b", "a"), _step("c", "b", input="{{steps.a.output}}"))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((_step("a"), _step("a")), "step 'a': duplicate step id"),
        ((_step("a", "b"), _step("b", "a")), "step 'a': dependency cycle a -> b -> a"),
        ((_step("a"), _step("b", "c"), _step("c", "d"), _step("d", "b")), "dependency cycle b -> c -> d -> b"),
        ((_step("a", "a"),), "step 'a': a step cannot depend on itself"),
        ((_step("a", "ghost"),), "step 'a': depends on unknown step 'ghost'"),
        ((_step("a", input="{{steps.ghost.output}}"),), "step 'a': input references unknown step 'ghost'"),
        ((_step("a"), _step("b", input="{{steps.a.output}}")), "step 'b': input references step 'a', which it"),
        ((_step("a", "a-b"), _step("a-b", input={"k": ["{{steps.a.output}}"]})), "step 'a-b': input references"),
        ((_step("bad id!"),), "step 'bad id!': id must match"),
        ((_step("a", agent_id="not-a-uuid"),), "step 'a': agent_id"),
        ((_step("a", input=""),), "step 'a': input must not be empty"),
        ((_step("a", input=None),), "step 'a': input is required"),
        ((_step("a", input={"x": float("nan")}),), "step 'a': "),
        ((_step("a", max_attempts=11),), "step 'a': retry.max_attempts"),
        ((_step("a", backoff_seconds=-1),), "step 'a': retry.backoff_s"),
        ((_step("a", timeout_seconds=0.5),), "step 'a': timeout_s"),
        ((_step("a", depends_on=("b", "b")), _step("b")), "step 'a': depends_on lists a step twice"),
    ],
)
def test_bad_plans_name_the_step(steps: tuple[StepDraft, ...], message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(*steps)
    assert message in info.value.message


def test_job_level_limits() -> None:
    with pytest.raises(InvalidInput, match="at least one step"):
        _plan()
    with pytest.raises(InvalidInput, match=f"at most {MAX_STEPS} steps"):
        _plan(*(_step(f"s{i}") for i in range(MAX_STEPS + 1)))
    _plan(*(_step(f"s{i}") for i in range(MAX_STEPS)))
    with pytest.raises(InvalidInput, match="name"):
        _plan(_step("a"), name="  ")
    with pytest.raises(InvalidInput, match="idempotency_key"):
        _plan(_step("a"), idempotency_key="k" * 201)
    with pytest.raises(InvalidInput, match="job is required"):
        plan(None)


def test_render_replaces_references() -> None:
    outputs = {"a": "alpha", "b": {"n": 2}}
    assert render("{{steps.a.output}}", outputs) == "alpha"
    assert render(" {{steps.b.output}} ", outputs) == {"n": 2}
    assert render("a={{steps.a.output}}; b={{steps.b.output}}", outputs) == 'a=alpha; b={"n": 2}'
    assert render({"x": ["{{steps.a.output}}", 3], "{{steps.a.output}}": True}, outputs) == {
        "x": ["alpha", 3],
        "alpha": True,
    }
    assert references({"k": ["{{steps.a.output}}", "{{steps.b.output}}"]}) == ["a", "b"]
