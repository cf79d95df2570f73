"""Project API keys for OpenAI clients (project admins): list, create (the key is shown once), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from agentmesh_gateway.accounts.api_keys import ApiKey
from agentmesh_gateway.deps import AdminScope, path_id
from agentmesh_gateway.routers.api_caller import ApiKeysDep
from agentmesh_gateway.schemas.api_keys import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from agentmesh_gateway.schemas.common import Page

router = APIRouter(prefix="/projects/{project_id}/api-keys", tags=["api keys"])


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        created_by=key.created_by,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )


@router.get("", response_model=Page[ApiKeyOut])
async def list_keys(scope: AdminScope, keys: ApiKeysDep) -> Page[ApiKeyOut]:
    """The project's keys that are not revoked, newest first (at most 100: no paging needed)."""
    return Page(items=[key_out(k) for k in await keys.list(scope.project.id)])


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_key(body: ApiKeyIn, scope: AdminScope, keys: ApiKeysDep) -> ApiKeyCreated:
    """A new key; `key` is the secret, shown in this answer only (the gateway keeps its hash)."""
    issued = await keys.create(scope.project.id, scope.user.id, body.name, body.expires_at)
    return ApiKeyCreated(**key_out(issued.key).model_dump(), key=issued.secret)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, scope: AdminScope, keys: ApiKeysDep) -> Response:
    """Revoke a key: calls with it get 401 from now on."""
    await keys.revoke(scope.project.id, path_id(key_id, "API key"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
