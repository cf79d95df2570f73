"""Accounts management: superadmins only."""

from __future__ import annotations

from fastapi import APIRouter, status

from agentmesh_core.identity import GlobalRole
from agentmesh_gateway.accounts.models import User
from agentmesh_gateway.deps import AccountsDep, Superadmin
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
async def create_user(body: UserIn, accounts: AccountsDep, _: Superadmin) -> UserOut:
    """Create an account; 409 when the username is taken."""
    return user_out(await accounts.create_user(body.username, body.password, GlobalRole(body.role)))


@router.get("", response_model=Page[UserOut])
async def list_users(accounts: AccountsDep, _: Superadmin, limit: Limit = 50, cursor: Cursor = None) -> Page[UserOut]:
    """Every account, oldest first."""
    users, after = await accounts.list_users(cursor or "", limit)
    return Page(items=[user_out(u) for u in users], next_cursor=after or None)


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(user_id: str, body: UserPatch, accounts: AccountsDep, actor: Superadmin) -> UserOut:
    """Reset a password, change the role, or (de)activate an account."""
    user = await accounts.update_user(
        actor,
        user_id,
        password=body.password,
        role=GlobalRole(body.role) if body.role else None,
        is_active=body.is_active,
    )
    return user_out(user)
