"""The agentmesh gateway: REST/JSON for the web frontend, gRPC behind it."""
