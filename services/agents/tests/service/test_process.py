"""`python -m agentmesh_agents` as a real process: migrates, serves, answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid

import pytest

from agentmesh.agents.v1 import agent_pb2, agent_service_pb2_grpc
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys


async def test_process_serves_and_stops_cleanly(database_url, nats_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "AGENTMESH_DATABASE_URL": database_url,
        "AGENTMESH_NATS_URL": nats_url,
        "AGENTMESH_AGENTS_LISTEN_ADDR": f"127.0.0.1:{port}",
        "AGENTMESH_INBOX_PARTITIONS": "2",
        # Nothing listens here: the process must still start and serve.
        "AGENTMESH_MEMORY_SERVICE_ADDR": f"127.0.0.1:{free_port()}",
        "AGENTMESH_INFERENCE_SERVICE_ADDR": f"127.0.0.1:{free_port()}",
    }
    log_path = tmp_path / "agents.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentmesh_agents", env=env, stdout=log_file, stderr=log_file
        )
    channel = create_channel(f"127.0.0.1:{port}", ServiceKeys.local("gateway").signer)

    async def serving() -> bool:
        if process.returncode is not None:
            pytest.fail(f"the agents process exited:\n{log_path.read_text()}")
        return await check_health(channel, timeout=0.5)

    try:
        await eventually(serving, timeout=30, interval=0.2, what="the agents process to serve")
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        project = str(uuid.uuid4())
        with acting_as(Identity("root", GlobalRole.SUPERADMIN)):
            created = await stub.CreateAgent(
                pb.CreateAgentRequest(project_id=project, agent=agent_pb2.Agent(name="proc"))
            )
        assert created.agent.name == "proc"
    finally:
        await channel.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)

    assert code == 0, log_path.read_text()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert "agents is SERVING" in messages
    assert "agents stopped" in messages
    assert all(line["service"] == "agents" for line in lines)
