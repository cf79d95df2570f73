"""JSON <-> protobuf helpers shared by the stub wrappers."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh_grpc.errors import from_rpc_error

T = TypeVar("T")


async def rpc(call: Awaitable[T]) -> T:
    """Await a unary call, re-raising failures as domain errors."""
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None


def to_value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(data, value)
    return value


def from_value(value: struct_pb2.Value) -> Any:
    return json_format.MessageToDict(value) if value.WhichOneof("kind") else None


def to_struct(data: dict | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if data:
        struct.update(data)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(struct)


def to_timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> str | None:
    """ISO 8601 in UTC, or None for an unset timestamp."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToJsonString()


def enum_name(enum_type: Any, number: int, prefix: str) -> str:
    """AGENT_STATUS_ACTIVE -> "active"."""
    return enum_type.Name(number).removeprefix(prefix).lower()
