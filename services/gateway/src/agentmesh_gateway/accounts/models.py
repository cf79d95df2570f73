"""The records of the accounts domain: users, projects, memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    project_name: str = ""
    username: str = ""
