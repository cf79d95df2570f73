"""agentmesh agents service: agent registry, message log, mailboxes and the agent runtime."""
