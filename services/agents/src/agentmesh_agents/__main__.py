"""`python -m agentmesh_agents` runs the AgentService gRPC server and the mailbox runtime."""

from agentmesh_agents.main import run

if __name__ == "__main__":
    run()
