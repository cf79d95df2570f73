"""The framework's floor for the gateway hop: one FastAPI route relaying ListAgents, nothing else.

    python services/gateway/bench/bare_relay.py AGENTS_ADDR USER_ID PORT

No middleware, no token check, no access lookup, no response model: the route acts
as the given superadmin (a signed identity, as the gateway's calls carry), calls
`AgentService.ListAgents` and returns the agents' ids and names as JSON. It runs on
the gateway's server (uvicorn, uvloop, httptools), so what the gateway hop adds
over this relay is the gateway's own work; what this relay adds over the direct
call is FastAPI's and uvicorn's (bench_gateway_hop.py prints both).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request

from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.agents.v1 import agent_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys


def relay_app(agents_addr: str, user_id: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        channel = create_channel(agents_addr, ServiceKeys.local("gateway").signer)  # on the server's event loop
        app.state.agents = pb_grpc.AgentServiceStub(channel)
        yield
        await channel.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/projects/{project_id}/agents")
    async def list_agents(project_id: str, request: Request) -> dict:
        asked = pb.ListAgentsRequest(project_id=project_id, page_size=50)
        with acting_as(Identity(user_id, GlobalRole.SUPERADMIN, project_id, ProjectRole.ADMIN)):
            listed = await request.app.state.agents.ListAgents(asked)
        return {"items": [{"id": agent.id, "name": agent.name} for agent in listed.agents], "next_cursor": None}

    return app


if __name__ == "__main__":
    agents, user, port = sys.argv[1:4]
    uvicorn.run(relay_app(agents, user), host="127.0.0.1", port=int(port), log_level="warning", access_log=False,
                loop="uvloop", http="httptools")  # fmt: skip
