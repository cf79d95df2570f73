"""`python -m agentmesh_memory` runs the MemoryService gRPC server."""

from agentmesh_memory.main import run

if __name__ == "__main__":
    run()
