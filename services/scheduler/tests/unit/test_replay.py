"""Every workflow replays its recorded histories deterministically (no server needed), and a
change that breaks determinism is caught.

The histories were recorded by tests/adapters/test_workflows.py (a scheduled run
whose first send failed transiently), tests/adapters/test_schedule_job_target.py
(a job schedule's firing, which starts a job) and tests/adapters/test_job_workflow.py (a
diamond job, a job whose step failed every retry, a cancelled job); refresh
them with AGENTMESH_RECORD_HISTORIES=1 after an intended workflow change, and
keep the old ones while runs recorded with the old code may still be open:
`scheduled_*_activity_*.json` are scheduled runs from before the first action
became a local activity.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from agentmesh_scheduler.activities import ScheduleActivities, SendMessageInput
from agentmesh_scheduler.worker import WORKFLOWS
from agentmesh_scheduler.workflows import (
    JOB_WORKFLOW_NAME,
    WORKFLOW_NAME,
    JobInput,
    JobWorkflow,
    ScheduledMessageInput,
    ScheduledMessageWorkflow,
)

HISTORIES = Path(__file__).parent / "histories"
RECORDED = sorted(HISTORIES.glob("*.json"))


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())


def test_every_workflow_has_a_recorded_history() -> None:
    names = {path.stem.split("_")[0] for path in RECORDED}
    assert {"scheduled", "job"} <= names
    assert len(WORKFLOWS) == 2


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
async def test_recorded_history_replays(path: Path) -> None:
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(_history(path))
    assert result.replay_failure is None


@workflow.defn(name=JOB_WORKFLOW_NAME, sandboxed=False)
class JobWorkflowThatWaitsFirst(JobWorkflow):
    """A plausible-looking change: wait a moment before the first report (unsandboxed: it lives in a test)."""

    @workflow.run
    async def run(self, input: JobInput) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await JobWorkflow.run(self, input)


async def test_a_change_that_breaks_determinism_fails_the_replay() -> None:
    replayer = Replayer(workflows=[JobWorkflowThatWaitsFirst])
    result = await replayer.replay_workflow(_history(HISTORIES / "job_diamond.json"), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class ScheduledRunThatAlwaysSends(ScheduledMessageWorkflow):
    """The scheduled run before job targets: it sends a message whatever its input says."""

    @workflow.run
    async def run(self, input: ScheduledMessageInput) -> str:
        return await ScheduledMessageWorkflow.run(self, dataclasses.replace(input, job=False))


async def test_a_job_firing_history_takes_the_job_branch() -> None:
    """The recorded job-schedule firing starts a job: replayed as a message send, it no longer matches."""
    history = _history(HISTORIES / "scheduled_job.json")
    assert (await Replayer(workflows=WORKFLOWS).replay_workflow(history)).replay_failure is None
    replayer = Replayer(workflows=[ScheduledRunThatAlwaysSends])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class ScheduledRunWithoutThePatch(ScheduledMessageWorkflow):
    """The first action as a regular activity again, with no patch to tell old runs from new ones."""

    @workflow.run
    async def run(self, input: ScheduledMessageInput) -> str:
        return await ScheduledMessageWorkflow.run(self, input)

    async def _first_action(self, input: ScheduledMessageInput, idempotency_key: str) -> str:
        return await workflow.execute_activity_method(
            ScheduleActivities.send_scheduled_message,
            SendMessageInput(input.project_id, input.schedule_id, input.agent_id, input.payload_json, idempotency_key),
            start_to_close_timeout=timedelta(seconds=30),
        )


async def test_the_local_send_is_gated_by_its_patch() -> None:
    """Both kinds of recorded run replay; dropping the patch breaks the runs that sent locally."""
    old = _history(HISTORIES / "scheduled_message_with_retry_activity_send.json")
    new = _history(HISTORIES / "scheduled_message_with_retry.json")
    for history in (old, new):
        assert (await Replayer(workflows=WORKFLOWS).replay_workflow(history)).replay_failure is None
    assert (await Replayer(workflows=[ScheduledRunWithoutThePatch]).replay_workflow(old)).replay_failure is None
    result = await Replayer(workflows=[ScheduledRunWithoutThePatch]).replay_workflow(new, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError)
