"""`python -m agentmesh_inference` starts the InferenceService."""

from agentmesh_inference.main import run

if __name__ == "__main__":
    run()
