"""Proto <-> domain conversions for MemoryService (no decisions, no validation).

Validation happens in the domain, after the project scope check, so nothing
here raises: a non-member must learn nothing from a malformed request.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh_grpc.struct_values import struct_to_json
from agentmesh_grpc.well_known import timestamp_proto
from agentmesh_memory.domain.models import Document, JsonObject, MemoryEntry, SearchHit


def struct_to_dict(value: struct_pb2.Struct) -> JsonObject:
    """A Struct as a JSON object ({} when unset), whole numbers as ints (3 stays 3 in filters).

    Not json_format.MessageToDict: it raises on NaN and infinities, which the
    domain must see (and reject) only after the caller's scope is checked.
    """
    return struct_to_json(value, whole_as_int=True)


def dict_to_struct(value: JsonObject) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def documents_from_proto(docs: Any) -> list[Document]:
    """The request's documents, as the domain reads them (not yet validated)."""
    return [Document(content=d.content, metadata=struct_to_dict(d.metadata)) for d in docs]


def entry_to_proto(entry: MemoryEntry) -> pb.MemoryEntry:
    """A domain entry as the API shows it."""
    return pb.MemoryEntry(
        id=entry.id,
        project_id=entry.project_id,
        agent_id=entry.agent_id or "",
        content=entry.content,
        metadata=dict_to_struct(entry.metadata),
        embedding_model=entry.embedding_model,
        create_time=timestamp_proto(entry.created_at),
    )


def hit_to_proto(hit: SearchHit) -> pb.SearchHit:
    return pb.SearchHit(entry=entry_to_proto(hit.entry), score=hit.score)


def embedding_to_proto(vector: list[float]) -> pb.Embedding:
    return pb.Embedding(values=vector)
