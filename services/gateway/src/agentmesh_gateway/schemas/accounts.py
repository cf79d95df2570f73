"""Auth, users, projects and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.enums import MemberRole, UserRole

Username = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
Password = Field(min_length=8, max_length=256)


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserIn(Strict):
    username: str = Username
    password: str = Password
    role: UserRole = "user"


class UserPatch(Strict):
    password: str | None = Field(default=None, min_length=8, max_length=256)
    role: UserRole | None = None
    is_active: bool | None = None


class UserOut(BaseModel):
    id: str
    username: str
    role: str
    is_active: bool
    created_at: datetime
    last_login: datetime | None


class MembershipOut(BaseModel):
    project_id: str
    project_name: str
    role: str


class MeOut(UserOut):
    memberships: list[MembershipOut]


class ProjectIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    settings: dict[str, Any] = Field(default_factory=dict)


class ProjectPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    settings: dict[str, Any] | None = None


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str
    owner_id: str | None
    settings: dict[str, Any]
    created_at: datetime
    role: str | None = None


class MemberIn(Strict):
    user_id: str = Field(min_length=1, max_length=64)
    role: MemberRole = "user"


class MemberOut(BaseModel):
    project_id: str
    user_id: str
    username: str = ""
    role: str
