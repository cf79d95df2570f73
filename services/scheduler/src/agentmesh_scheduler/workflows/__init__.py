"""The scheduler's workflows: a schedule's run (scheduled_message.py) and a multi-step job (job.py).

The worker's sandbox re-imports these modules: no side effects at import time.
"""

from agentmesh_scheduler.workflows.job import JOB_WORKFLOW_NAME, JobInput, JobStepInput, JobWorkflow
from agentmesh_scheduler.workflows.scheduled_message import (
    WORKFLOW_NAME,
    ScheduledMessageInput,
    ScheduledMessageWorkflow,
)

__all__ = [
    "JOB_WORKFLOW_NAME",
    "WORKFLOW_NAME",
    "JobInput",
    "JobStepInput",
    "JobWorkflow",
    "ScheduledMessageInput",
    "ScheduledMessageWorkflow",
]
