"""`python -m agentmesh_agents` starts the service."""

from agentmesh_agents.main import run

run()
