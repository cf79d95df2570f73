"""ScheduledMessageWorkflow replays a recorded history deterministically (no server needed).

The history (a run whose first send failed transiently and was retried) was
recorded by tests/adapters/test_workflows.py; refresh it with
AGENTMESH_RECORD_HISTORIES=1 after an intended change to the workflow.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from agentmesh_scheduler.worker import WORKFLOWS

HISTORY = Path(__file__).parent / "histories" / "scheduled_message_with_retry.json"


async def test_recorded_history_replays() -> None:
    history = WorkflowHistory.from_json("recorded-scheduled-message", HISTORY.read_text())
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(history)
    assert result.replay_failure is None
