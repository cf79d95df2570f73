"""Stub wrappers: one per service. They map proto <-> plain dicts/schemas, set
deadlines, and turn failed calls into agentmesh_core errors."""
