"""Proto <-> domain round trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from google.protobuf import struct_pb2

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh_core.ids import new_id
from agentmesh_memory.domain.models import MemoryEntry
from agentmesh_memory.rpc import mapping


def test_struct_numbers_become_ints_when_whole() -> None:
    struct = struct_pb2.Struct()
    struct.update({"page": 3, "ratio": 0.5, "tags": ["a", 2], "nested": {"n": 1}, "flag": True})
    assert mapping.struct_to_dict(struct) == {
        "page": 3,
        "ratio": 0.5,
        "tags": ["a", 2],
        "nested": {"n": 1},
        "flag": True,
    }
    assert mapping.struct_to_dict(struct_pb2.Struct()) == {}


def test_documents_from_proto() -> None:
    request = pb.AddMemoriesRequest(documents=[pb.Document(content="hello")])
    request.documents[0].metadata.update({"source": "x"})
    [doc] = mapping.documents_from_proto(request.documents)
    assert doc.content == "hello" and doc.metadata == {"source": "x"}


def test_entry_to_proto() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    entry = MemoryEntry(new_id(), new_id(), None, "text", {"a": 1}, "model", created)
    message = mapping.entry_to_proto(entry)
    assert message.id == entry.id and message.agent_id == "" and message.content == "text"
    assert mapping.struct_to_dict(message.metadata) == {"a": 1}
    assert message.create_time.ToDatetime(tzinfo=UTC) == created


def test_struct_with_non_finite_numbers_and_nulls_converts_without_raising() -> None:
    struct = struct_pb2.Struct()
    struct.update({"nan": math.nan, "inf": [math.inf], "none": None, "big": 2.0**60})
    value = mapping.struct_to_dict(struct)
    assert math.isnan(value["nan"]) and value["inf"] == [math.inf]
    assert value["none"] is None and value["big"] == 2.0**60
