"""Proto <-> domain conversions for MemoryService (no decisions, no validation).

Validation happens in the domain, after the project scope check, so nothing
here raises: a non-member must learn nothing from a malformed request.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh_memory.domain.models import Document, JsonObject, MemoryEntry, SearchHit


def _number(value: float) -> int | float:
    """Struct numbers are doubles: whole ones become ints, so 3 stays 3 in JSON and filters."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _from_value(value: struct_pb2.Value) -> Any:
    # Not json_format.MessageToDict: it raises on NaN and infinities, which the
    # domain must see (and reject) only after the caller's scope is checked.
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_from_value(item) for item in value.list_value.values]
    if kind == "number_value":
        return _number(value.number_value)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def struct_to_dict(value: struct_pb2.Struct) -> JsonObject:
    """A Struct as a JSON object ({} when unset)."""
    return {key: _from_value(item) for key, item in value.fields.items()}


def dict_to_struct(value: JsonObject) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def documents_from_proto(docs: Any) -> list[Document]:
    """The request's documents, as the domain reads them (not yet validated)."""
    return [Document(content=d.content, metadata=struct_to_dict(d.metadata)) for d in docs]


def entry_to_proto(entry: MemoryEntry) -> pb.MemoryEntry:
    """A domain entry as the API shows it."""
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(entry.created_at)
    return pb.MemoryEntry(
        id=entry.id,
        project_id=entry.project_id,
        agent_id=entry.agent_id or "",
        content=entry.content,
        metadata=dict_to_struct(entry.metadata),
        embedding_model=entry.embedding_model,
        create_time=created,
    )


def hit_to_proto(hit: SearchHit) -> pb.SearchHit:
    return pb.SearchHit(entry=entry_to_proto(hit.entry), score=hit.score)


def embedding_to_proto(vector: list[float]) -> pb.Embedding:
    return pb.Embedding(values=vector)
