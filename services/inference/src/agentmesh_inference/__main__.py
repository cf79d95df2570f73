"""`python -m agentmesh_inference` runs the InferenceService gRPC server."""

from agentmesh_inference.main import run

if __name__ == "__main__":
    run()
