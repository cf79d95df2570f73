"""agentmesh memory: project knowledge as chunks in PostgreSQL and vectors in Qdrant."""
