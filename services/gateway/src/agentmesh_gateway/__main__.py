"""`python -m agentmesh_gateway` serves the REST API (see main.py for its commands)."""

from agentmesh_gateway.main import run

if __name__ == "__main__":
    run()
