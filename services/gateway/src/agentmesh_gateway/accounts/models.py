"""Plain records the accounts repository returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentmesh_core.identity import GlobalRole, ProjectRole


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: GlobalRole
    is_active: bool
    created_at: datetime
    last_login: datetime | None
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    description: str
    owner_id: str | None
    settings: dict
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    project_id: str
    user_id: str
    role: ProjectRole
    project_name: str = ""
    username: str = ""
