from agentmesh_gateway.main import run

run()
