"""The scheduler's Temporal activities: a schedule's run (schedule.py) and a job's steps (jobs.py)."""

from agentmesh_scheduler.activities.jobs import (
    STEP_FAILED,
    STILL_WAITING,
    AwaitReplyInput,
    JobActivities,
    ProgressInput,
    SentStep,
    StartStepInput,
    StepProgressInput,
)
from agentmesh_scheduler.activities.schedule import (
    ERROR_TYPE_PREFIX,
    SCHEDULER_IDENTITY,
    RecordRunInput,
    ScheduleActivities,
    SendMessageInput,
    StartJobInput,
    application_error,
)

__all__ = [
    "ERROR_TYPE_PREFIX",
    "SCHEDULER_IDENTITY",
    "STEP_FAILED",
    "STILL_WAITING",
    "AwaitReplyInput",
    "JobActivities",
    "ProgressInput",
    "RecordRunInput",
    "ScheduleActivities",
    "SendMessageInput",
    "SentStep",
    "StartJobInput",
    "StartStepInput",
    "StepProgressInput",
    "application_error",
]
