"""Payloads and filters for the embedded engine (qdrant-edge), as the service uses them.

Same semantics as qdrant-client's (adapters/qdrant_index.py) and the fake's: the
adapter suites hold all three to the same answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qdrant_edge import FieldCondition, Filter, MatchValue, RangeFloat

from agentmesh_memory.domain.models import Scalar, VectorPoint, VectorQuery

if TYPE_CHECKING:
    from qdrant_edge import ConditionType


def payload(point: VectorPoint) -> dict[str, object]:
    """What a point carries besides its vector ("" for a project-wide entry's agent)."""
    return {"project_id": point.project_id, "agent_id": point.agent_id or "", "metadata": point.metadata}


def match(key: str, value: Scalar) -> FieldCondition:
    """key equals value (a float by range: the engine matches only integers and strings exactly)."""
    if isinstance(value, bool):
        # The binding reads a Python bool as an integer (True matches 1, not true);
        # numpy's bool reaches the engine as a boolean.
        return FieldCondition(key, match=MatchValue(np.bool_(value)))  # type: ignore[arg-type]
    if isinstance(value, float):
        return FieldCondition(key, range=RangeFloat(gte=value, lte=value))
    return FieldCondition(key, match=MatchValue(value))


def build_filter(query: VectorQuery) -> Filter:
    """Project (must), then agent-or-project-wide, then exact metadata matches."""
    must: list[ConditionType] = [match("project_id", query.project_id)]
    if query.agent_id is not None:
        must.append(Filter(should=[match("agent_id", query.agent_id), match("agent_id", "")]))
    must.extend(match(f"metadata.{key}", value) for key, value in query.metadata_equals.items())
    return Filter(must=must)
