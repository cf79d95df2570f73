"""Auth, users, projects and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.enums import MemberRole, UserRole
from agentmesh_gateway.schemas.values import JsonObject, Text

Username = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
Password = Field(min_length=8, max_length=256)


class LoginIn(Strict):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserIn(Strict):
    username: Text = Username
    password: Text = Password
    role: UserRole = "user"


class UserPatch(Strict):
    password: Text | None = Field(default=None, min_length=8, max_length=256)
    role: UserRole | None = None
    # Strict: {"is_active": 0} or "no" is a mistake to report, not false.
    is_active: StrictBool | None = None


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
    name: Text = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=5000)
    settings: JsonObject = Field(default_factory=dict)


class ProjectPatch(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)
    settings: JsonObject | None = None


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str
    owner_id: str | None
    settings: dict[str, Any]
    created_at: datetime
    role: str | None = None


class MemberIn(Strict):
    user_id: Text = Field(min_length=1, max_length=64)
    role: MemberRole = "user"


class MemberOut(BaseModel):
    project_id: str
    user_id: str
    username: str = ""
    role: str
