"""Approvals: a human decides on a parked tool call, and the turn goes on.

Deciding writes the decision, the wake on the parked turn and the request's
return to `queued` in one transaction, then posts the request to its agent's
mailbox (the same path as a new message, so the agent's order holds): the
runtime picks the turn up from its stored state. A pending approval that
nobody decides in time expires (the recovery sweep calls `expire_due`), and its
turn ends with a clear error.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.models import Page, utcnow
from agentmesh_agents.domain.ports import ApprovalRepository
from agentmesh_agents.domain.steps import has_surrogate
from agentmesh_agents.domain.tool_models import Approval, ApprovalStatus, ToolCallOutcome
from agentmesh_agents.domain.turns import Wake, WakeOutcome
from agentmesh_core import pagination
from agentmesh_core.errors import FailedPrecondition, InvalidInput, NotFound
from agentmesh_core.identity import Identity, project_in_scope
from agentmesh_core.ids import parse_id

log = logging.getLogger(__name__)


class Decision(StrEnum):
    """A project admin's answer."""

    APPROVE = "approve"
    DENY = "deny"


class Approvals:
    """ListApprovals, DecideApproval, and the expiry of approvals nobody decided."""

    def __init__(
        self,
        approvals: ApprovalRepository,
        messaging: Messaging,
        events: EventPublisher,
        limits: Limits,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._approvals = approvals
        self._messaging = messaging
        self._events = events
        self._limits = limits
        self._clock = clock

    async def list(
        self, identity: Identity, project_id: str, status: ApprovalStatus | None, page_size: int, page_token: str
    ) -> Page[Approval]:
        """One page of the project's approvals (in that status), newest first; members may read."""
        project_id = project_in_scope(identity, project_id)
        limit = pagination.page_size(page_size)
        items = await self._approvals.list(project_id, status, pagination.decode_time_key(page_token), limit)
        return Page(items, pagination.next_time_key(items, limit, lambda approval: (approval.created_at, approval.id)))

    async def decide(
        self, identity: Identity, project_id: str, approval_id: str, decision: Decision | None, comment: str = ""
    ) -> Approval:
        """Approve or deny a pending approval (project admin); the parked turn goes on."""
        project_id = project_in_scope(identity, project_id, admin=True)
        approval_id = parse_id(approval_id, "approval_id")
        if not isinstance(decision, Decision):
            raise InvalidInput("decision must be approve or deny")
        comment = self._comment(comment)
        current = await self._approvals.get(project_id, approval_id)
        if current is None:
            raise NotFound("approval not found")
        if current.status is not ApprovalStatus.PENDING:
            raise FailedPrecondition(f"the approval is already {current.status.value}")
        now = self._clock()
        if current.expires_at <= now:
            raise FailedPrecondition("the approval expired")
        approved = decision is Decision.APPROVE
        decided = dataclasses.replace(
            current,
            status=ApprovalStatus.APPROVED if approved else ApprovalStatus.DENIED,
            decided_by=identity.subject,
            comment=comment,
            decided_at=now,
        )
        wake = Wake(decided.id, WakeOutcome.APPROVED if approved else WakeOutcome.DENIED, comment, identity.subject)
        if not await self._settle(decided, wake, None if approved else ToolCallOutcome.DENIED):
            raise FailedPrecondition("the approval is already decided")
        log.info("approval %s %s by %s", decided.id, decided.status.value, identity.subject)
        return decided

    async def expire_due(self) -> int:
        """Expire pending approvals whose time ran out; returns how many."""
        now = self._clock()
        expired = 0
        for approval in await self._approvals.expiring(now, self._limits.approval_expiry_batch):
            decided = dataclasses.replace(approval, status=ApprovalStatus.EXPIRED, decided_at=now)
            if await self._settle(decided, Wake(approval.id, WakeOutcome.EXPIRED), ToolCallOutcome.EXPIRED):
                expired += 1
        if expired:
            log.info("%d approvals expired", expired)
        return expired

    async def _settle(self, decided: Approval, wake: Wake, outcome: ToolCallOutcome | None) -> bool:
        pending, request = await self._approvals.decide(decided, wake, outcome)
        if not pending:
            return False
        if request is None:
            log.info("approval %s settled; no turn waits on it any more", decided.id)
            return True
        await self._events.approval_decided(request, decided.agent_id, decided)
        # A dedup id of its own: the request's id was used by its first post, maybe moments ago.
        await self._messaging.post(request, dedup_id=f"{request.id}.{decided.id}")
        return True

    def _comment(self, comment: str) -> str:
        if not isinstance(comment, str):
            raise InvalidInput("comment must be a string")
        if len(comment) > self._limits.approval_comment_max_length or "\x00" in comment or has_surrogate(comment):
            raise InvalidInput(f"comment must be at most {self._limits.approval_comment_max_length} characters, no NUL")
        return comment.strip()
