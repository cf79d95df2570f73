"""Debug routes on the model (superadmins): `POST /llm/generate`, `POST /llm/embed`, `GET /llm/health`.

They answer 503 with Retry-After while the model loads (health says so in its
body too) or a service is down. A generation may name a `project_id` to be
accounted to (its quota, and the usage report as the superadmin's call).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agentmesh_core.identity import Identity
from agentmesh_gateway.accounts.models import User
from agentmesh_gateway.clients.inference import collect
from agentmesh_gateway.deps import AccountsDep, MemoryDep, Superadmin
from agentmesh_gateway.routers.api_caller import InferenceDep, UsageDep
from agentmesh_gateway.routers.openai_errors import UNAVAILABLE_RETRY_SECONDS, RetryAfterRoute
from agentmesh_gateway.schemas.llm import EmbedIn, EmbedOut, GenerateIn, GenerateOut, LlmHealthOut, TokenUsage
from agentmesh_grpc.identity import acting_as

router = APIRouter(prefix="/llm", tags=["llm"], route_class=RetryAfterRoute)


def _identity(user: User) -> Identity:
    return Identity(subject=user.id, role=user.role)


@router.post("/generate", response_model=GenerateOut)
async def generate(
    body: GenerateIn, user: Superadmin, accounts: AccountsDep, inference: InferenceDep, usage: UsageDep
) -> GenerateOut:
    """The whole completion of a prompt or of chat messages (the design document's `{"completion"}`)."""
    project_id = ""
    if body.project_id is not None:
        project, _ = await accounts.project_for(user, str(body.project_id))
        project_id = project.id
    with acting_as(_identity(user)):
        model = await inference.model()
        chunks = await inference.open_generation(body, project_id, f"llm-{uuid.uuid4().hex}")
        completion = await collect(chunks)
    if project_id:
        usage.record(project_id, None, user.id, completion.prompt_tokens, completion.completion_tokens)
    return GenerateOut(
        completion=completion.text,
        finish_reason=completion.finish_reason,
        model=model.id,
        usage=TokenUsage(
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            total_tokens=completion.prompt_tokens + completion.completion_tokens,
        ),
    )


@router.post("/embed", response_model=EmbedOut)
async def embed(body: EmbedIn, user: Superadmin, memory: MemoryDep) -> EmbedOut:
    """Embeddings from the memory service's model: `embedding` for `text`, `embeddings` for `texts`."""
    texts = [body.text] if body.text is not None else list(body.texts or [])
    with acting_as(_identity(user)):
        model, vectors = await memory.embed_texts(texts)
    dimensions = len(vectors[0]) if vectors else 0
    if body.text is not None:
        return EmbedOut(model=model, dimensions=dimensions, embedding=vectors[0])
    return EmbedOut(model=model, dimensions=dimensions, embeddings=vectors)


@router.get("/health", response_model=LlmHealthOut, responses={503: {"model": LlmHealthOut}})
async def health(user: Superadmin, inference: InferenceDep) -> JSONResponse:
    """The model, whether it is loaded (503 + Retry-After while it loads), and engine statistics."""
    with acting_as(_identity(user)):
        status = await inference.status()
    if status.state == "loading":
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)}
        return JSONResponse(status.model_dump(mode="json"), status_code=503, headers=headers)
    return JSONResponse(status.model_dump(mode="json"))
