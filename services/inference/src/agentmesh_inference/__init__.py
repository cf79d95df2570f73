"""agentmesh InferenceService: vLLM's async engine behind gRPC."""
