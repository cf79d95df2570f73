"""Superadmin user management."""

from __future__ import annotations

from fastapi import APIRouter, status

from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole
from agentmesh_core.pagination import decode_cursor, next_cursor
from agentmesh_gateway.accounts.models import User
from agentmesh_gateway.accounts.passwords import hash_password
from agentmesh_gateway.deps import State, Superadmin, path_id
from agentmesh_gateway.schemas.accounts import UserIn, UserOut, UserPatch
from agentmesh_gateway.schemas.common import Cursor, Limit, Page

router = APIRouter(prefix="/users", tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role.value,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login=user.last_login,
    )


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserIn, state: State, _: Superadmin) -> UserOut:
    user = await state.accounts.create_user(body.username, await hash_password(body.password), GlobalRole(body.role))
    return user_out(user)


@router.get("", response_model=Page[UserOut])
async def list_users(state: State, _: Superadmin, limit: Limit = 50, cursor: Cursor = None) -> Page[UserOut]:
    offset = decode_cursor(cursor or "")
    users = await state.accounts.list_users(offset, limit)
    return Page(items=[user_out(u) for u in users], next_cursor=next_cursor(offset, len(users), limit) or None)


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(user_id: str, body: UserPatch, state: State, _: Superadmin) -> UserOut:
    values = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        values["password_hash"] = await hash_password(body.password)
    user_id = path_id(user_id, "user")
    user = await (state.accounts.update_user(user_id, values) if values else state.accounts.get_user(user_id))
    if user is None:
        raise NotFound("user not found")
    return user_out(user)
