"""HTTP schemas (pydantic); never proto types."""
