"""A Memory port that answers from a fixed list (or fails), for tests and memory-less runs."""

from __future__ import annotations

from agentmesh_core.errors import AgentmeshError


class StaticMemory:
    """Returns the same entries for every search; set `error` to make searches fail."""

    def __init__(self, entries: list[str] | None = None, error: AgentmeshError | None = None) -> None:
        self.entries = list(entries or [])
        self.error = error
        self.queries: list[tuple[str, str, str, int]] = []

    async def search(self, project_id: str, agent_id: str, query: str, k: int) -> list[str]:
        self.queries.append((project_id, agent_id, query, k))
        if self.error is not None:
            raise self.error
        return self.entries[:k]
