"""Outbound adapters: the vLLM engine."""
