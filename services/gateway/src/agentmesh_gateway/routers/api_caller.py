"""Who calls the OpenAI-compatible routes, and which project pays.

Two kinds of bearer token are accepted: a project API key (`amk_...`), which acts
for its own project only, or a user's access JWT, with the project named by the
`X-Agentmesh-Project` header (members only; anyone else gets 404, as everywhere).
A header naming another project than the key's is refused the same way, so a
key of project A can never spend project B's quota or see its data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from agentmesh_core.errors import InvalidInput, NotFound, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_gateway.accounts.api_keys import ApiKeys, looks_like_api_key
from agentmesh_gateway.accounts.usage import UsageLedger
from agentmesh_gateway.clients.ports import InferenceApi
from agentmesh_gateway.deps import AccountsDep, BearerToken, State
from agentmesh_grpc.identity import acting_as
from agentmesh_observability import context

PROJECT_HEADER = "X-Agentmesh-Project"


async def get_inference(state: State) -> InferenceApi:
    return state.inference


async def get_api_keys(state: State) -> ApiKeys:
    return state.api_keys


async def get_usage(state: State) -> UsageLedger:
    return state.usage


InferenceDep = Annotated[InferenceApi, Depends(get_inference)]
ApiKeysDep = Annotated[ApiKeys, Depends(get_api_keys)]
UsageDep = Annotated[UsageLedger, Depends(get_usage)]


@dataclass(frozen=True)
class ApiCaller:
    """The caller of an OpenAI-compatible route: a key or a user, and the project it acts in."""

    identity: Identity
    key_id: str | None = None
    user_id: str | None = None

    @property
    def project_id(self) -> str:
        """The project the call is accounted to; InvalidInput when a JWT caller named none."""
        if not self.identity.project_id:
            raise InvalidInput(f"{PROJECT_HEADER} header required: the project this call is accounted to")
        return self.identity.project_id

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Bind the caller for the gRPC calls made inside (and the project for logs)."""
        with acting_as(self.identity), context.bind(project_id=self.identity.project_id):
            yield


async def api_caller(
    state: State,
    accounts: AccountsDep,
    token: BearerToken,
    project: Annotated[str | None, Header(alias=PROJECT_HEADER, max_length=64)] = None,
) -> ApiCaller:
    """The caller behind the bearer token (401 for anything invalid, revoked or expired)."""
    if not token:
        raise Unauthenticated("missing bearer token: send a project API key or a user access token")
    if looks_like_api_key(token):
        key = await state.api_keys.authenticate(token)
        if project and project != key.project_id:
            raise NotFound("project not found")
        identity = Identity(
            subject=f"api-key:{key.id}", role=GlobalRole.USER, project_id=key.project_id, project_role=ProjectRole.USER
        )
        return ApiCaller(identity, key_id=key.id)
    user = await accounts.authenticate(token)
    if not project:
        return ApiCaller(Identity(subject=user.id, role=user.role), user_id=user.id)
    found, role = await accounts.project_for(user, project)
    return ApiCaller(Identity(subject=user.id, role=user.role, project_id=found.id, project_role=role), user_id=user.id)


Caller = Annotated[ApiCaller, Depends(api_caller)]
