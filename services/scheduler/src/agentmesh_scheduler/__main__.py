"""`python -m agentmesh_scheduler` runs the gRPC server and the Temporal worker."""

from agentmesh_scheduler.main import run

if __name__ == "__main__":
    run()
