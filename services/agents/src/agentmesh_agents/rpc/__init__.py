"""The gRPC face of the service: the AgentService servicer and proto<->domain mapping."""
