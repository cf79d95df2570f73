"""Helpers shared by the stub wrappers: calls with error mapping, JSON <-> protobuf."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentmesh_core.errors import AgentmeshError, DeadlineExceeded, Unavailable
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.struct_values import struct_to_json, value_to_json
from agentmesh_grpc.well_known import datetime_of

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

T = TypeVar("T")
# A generated enum's value type (mypy-protobuf makes one int NewType per enum).
E = TypeVar("E", bound=int)

# Deadlines, in seconds, by kind of call: reads are cheap, some writes embed or
# talk to Temporal, purges walk a whole project.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 15.0
SLOW_TIMEOUT = 60.0


def rpc_error(error: grpc.aio.AioRpcError, service: str) -> AgentmeshError:
    """A failed call as a domain error (the gateway maps those to HTTP once).

    Transport failures get a message of our own: gRPC's names peer addresses.
    """
    code = error.code()
    mapped = from_rpc_error(error)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return Unavailable(f"the {service} service is unavailable")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceeded(f"the {service} service did not answer in time")
    return mapped


async def rpc(service: str, call: Awaitable[T]) -> T:
    """Await a unary call to `service`, re-raising failures as domain errors."""
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        raise rpc_error(error, service) from None


def to_value(data: Any) -> struct_pb2.Value:
    """Any JSON value as a google.protobuf.Value."""
    value = struct_pb2.Value()
    json_format.ParseDict(data, value)
    return value


def from_value(value: struct_pb2.Value) -> Any:
    """A google.protobuf.Value as JSON (None when unset), whole numbers as ints (1.0 -> 1)."""
    return value_to_json(value, whole_as_int=True)


def to_struct(data: dict[str, Any] | None) -> struct_pb2.Struct:
    """A JSON object as a google.protobuf.Struct."""
    struct = struct_pb2.Struct()
    if data:
        json_format.ParseDict(data, struct)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A google.protobuf.Struct as a JSON object, whole numbers as ints (1.0 -> 1)."""
    return struct_to_json(struct, whole_as_int=True)


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime | None:
    """An aware UTC datetime, or None for an unset timestamp."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return datetime_of(stamp)


def enum_name(enum_type: _EnumTypeWrapper[E], number: E, prefix: str) -> str:
    """AGENT_STATUS_ACTIVE -> "active"; unknown numbers (newer peers) -> "unspecified"."""
    try:
        return enum_type.Name(number).removeprefix(prefix).lower()
    except ValueError:
        return "unspecified"


def enum_number(enum_type: _EnumTypeWrapper[E], name: str, prefix: str) -> E:
    """ "active" -> AGENT_STATUS_ACTIVE's number."""
    return enum_type.Value(prefix + name.upper())
