"""Use cases and models of inference; no grpc, proto or vLLM imports here."""
