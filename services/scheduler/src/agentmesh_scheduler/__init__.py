"""agentmesh scheduler: schedules on Temporal that send payloads to agents."""
