"""Per-project limits on the memory service's expensive calls, so one tenant cannot starve the rest.

Adds are the expensive call (every chunk is embedded on the one model thread):
a project may have `adds_in_flight` of them running and start `add_rate` of
them per window. Searches are cheap but not free: `search_rate` per project.
Past a limit the call is refused at once with ResourceExhausted (the gateway
answers 429 with Retry-After) rather than queued, so waiting work never piles
up behind a noisy project. The embedder then shares its thread fairly between
what was admitted (adapters/embedding_batcher.py): searches first, adds by turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from agentmesh_core.quotas import ConcurrencyLimit, RateLimit


@dataclass(frozen=True, slots=True)
class ProjectQuotas:
    """The numbers (settings): rates are `limits` specs such as "20/second;600/minute"."""

    adds_in_flight: int = 1
    add_rate: str = "60/minute"
    search_rate: str = "20/second;600/minute"


class ProjectAdmission:
    """Admits or refuses a project's adds and searches (counts are this replica's)."""

    def __init__(self, quotas: ProjectQuotas) -> None:
        self._adds = ConcurrencyLimit(quotas.adds_in_flight, "memory adds")
        self._add_rate = RateLimit(quotas.add_rate, "memory adds")
        self._search_rate = RateLimit(quotas.search_rate, "memory searches")

    @contextmanager
    def adding(self, project_id: str) -> Iterator[None]:
        """Hold one of the project's add slots for the block; ResourceExhausted when refused."""
        with self._adds.slot(project_id):
            self._add_rate.acquire(project_id)
            yield

    def searching(self, project_id: str) -> None:
        """Count one search of the project; ResourceExhausted when over its rate."""
        self._search_rate.acquire(project_id)


class Unlimited(ProjectAdmission):
    """Admits everything (unit tests that are not about limits)."""

    def __init__(self) -> None:
        pass

    @contextmanager
    def adding(self, project_id: str) -> Iterator[None]:
        yield

    def searching(self, project_id: str) -> None:
        return None
