"""The records of the accounts domain: users, projects, memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from agentmesh_core.identity import GlobalRole, ProjectRole


@dataclass(frozen=True, slots=True)
class User:
    """An account; password_hash is argon2id and never leaves the gateway."""

    id: str
    username: str
    role: GlobalRole
    is_active: bool
    created_at: datetime
    last_login: datetime | None
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class Project:
    """A tenant: everything agents, memory and schedules own lives in one."""

    id: str
    name: str
    description: str
    owner_id: str | None
    settings: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's role in a project (with the names that lists show)."""

    project_id: str
    user_id: str
    role: ProjectRole
    joined_at: datetime
    project_name: str = ""
    username: str = ""


class RotationOutcome(Enum):
    """What presenting a refresh token did."""

    ROTATED = "rotated"  # exchanged for a new one
    REUSED = "reused"  # it had been exchanged before: its session is now revoked
    INVALID = "invalid"  # unknown, expired, or its session was revoked


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of a refresh, with the session's user when there is one."""

    outcome: RotationOutcome
    session_id: str = ""
    user: User | None = None


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """What a login or a refresh hands out."""

    access_token: str
    refresh_token: str
    expires_in: int
