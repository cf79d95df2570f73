"""Start-up repair of drift between schedule rows and Temporal Schedules (the row is the truth).

Drift comes from a crash or a failed undo between the two writes of a create,
update or delete: a row without its Temporal Schedule (created), a Temporal
Schedule at another revision or in the wrong paused state (rewritten), or a
Temporal Schedule of this worker's task queue whose row is gone (deleted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agentmesh_core.errors import AgentmeshError, NotFound
from agentmesh_scheduler.domain.models import Schedule, parse_temporal_schedule_id, pause_note
from agentmesh_scheduler.domain.ports import ScheduleEngine, ScheduleRepository

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class ReconcileReport:
    """What a reconcile pass changed."""

    checked: int = 0
    created: int = 0
    rewritten: int = 0
    repaused: int = 0
    orphans_deleted: int = 0
    failed: int = 0


class ScheduleReconciler:
    """Makes every Temporal Schedule match its row."""

    def __init__(self, repository: ScheduleRepository, engine: ScheduleEngine) -> None:
        self._repository = repository
        self._engine = engine

    async def reconcile(self) -> ReconcileReport:
        """One pass over every row, then over the engine's schedules; errors are counted, not raised."""
        report = ReconcileReport()
        after = ""
        while batch := await self._repository.list_all(after, BATCH):
            for schedule in batch:
                report.checked += 1
                try:
                    await self._repair(schedule, report)
                except AgentmeshError as error:
                    report.failed += 1
                    log.warning("could not reconcile schedule %s: %s", schedule.id, error.message)
            after = batch[-1].id
        try:
            await self._delete_orphans(report)
        except AgentmeshError as error:
            report.failed += 1
            log.warning("could not look for orphaned temporal schedules: %s", error.message)
        log.info(
            "reconciled %d schedules: %d created, %d rewritten, %d re-paused, %d orphans deleted, %d failed",
            report.checked, report.created, report.rewritten, report.repaused, report.orphans_deleted, report.failed,
        )  # fmt: skip
        return report

    async def _repair(self, schedule: Schedule, report: ReconcileReport) -> None:
        try:
            described = await self._engine.describe(schedule.temporal_schedule_id)
        except NotFound:
            await self._engine.create(schedule)
            report.created += 1
            log.info("recreated missing temporal schedule %s", schedule.temporal_schedule_id)
            return
        wrongly_paused = described.paused == schedule.enabled
        if described.revision != schedule.revision:
            await self._engine.update(schedule, rearm=False)  # the paused state comes with it
            report.rewritten += 1
            log.info("rewrote temporal schedule %s at revision %d", schedule.temporal_schedule_id, schedule.revision)
        elif wrongly_paused:
            note = pause_note(schedule.enabled, reconciled=True)
            await self._engine.set_paused(schedule.temporal_schedule_id, not schedule.enabled, note)
        report.repaused += wrongly_paused

    async def _delete_orphans(self, report: ReconcileReport) -> None:
        for temporal_id in await self._engine.schedule_ids():
            ids = parse_temporal_schedule_id(temporal_id)
            # A create writes its row before its Temporal Schedule, so a row read
            # now exists for every Temporal Schedule that is not an orphan.
            if ids is None or await self._repository.get(*ids) is not None:
                continue
            await self._engine.delete(temporal_id)
            report.orphans_deleted += 1
            log.info("deleted orphaned temporal schedule %s", temporal_id)
