"""google.protobuf.Value/Struct as Python JSON values, for servicers to hand to their domain.

Like json_format.MessageToDict, except that NaN and infinities (which a Value
can hold and JSON cannot) come through as floats instead of a ValueError: the
domain refuses them with its own message (agentmesh_core.json_values), after
the caller's scope is checked, rather than the call failing as INTERNAL. Depth
needs no guard here: protobuf's decoder already bounded the message.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2


def value_to_json(value: struct_pb2.Value, whole_as_int: bool = False) -> Any:
    """A Value as a JSON value (None when unset or null).

    Numbers stay floats, or with `whole_as_int` whole ones (below 2**53) become ints:
    a Value holds every number as a double, and 3 should stay 3 in JSON and filters.
    """
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_json(value.struct_value, whole_as_int)
    if kind == "list_value":
        return [value_to_json(item, whole_as_int) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if whole_as_int and number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def struct_to_json(struct: struct_pb2.Struct, whole_as_int: bool = False) -> dict[str, Any]:
    """A Struct as a JSON object ({} when unset); `whole_as_int` as for value_to_json."""
    return {key: value_to_json(item, whole_as_int) for key, item in struct.fields.items()}
