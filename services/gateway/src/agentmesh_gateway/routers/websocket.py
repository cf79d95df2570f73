"""WS /projects/{p}/ws: a conversation's events over WebSocket, and messages sent on it
(the protocol is in ws_session.py)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from agentmesh_gateway.ws_session import WsSession

router = APIRouter(tags=["conversations"])


@router.websocket("/projects/{project_id}/ws")
async def project_socket(websocket: WebSocket, project_id: str) -> None:
    """Members only (a non-member's socket closes with 4404); authenticate by ?ticket= or the first frame."""
    await WsSession(websocket, websocket.app.state.gateway, project_id).run()
