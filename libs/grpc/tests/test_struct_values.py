"""Value/Struct -> JSON: MessageToDict's answers, except that non-finite numbers reach the domain."""

from __future__ import annotations

import math

from google.protobuf import json_format, struct_pb2

from agentmesh_grpc.struct_values import struct_to_json, value_to_json


def test_same_as_message_to_dict_for_json() -> None:
    data = {"s": "é", "n": 3, "f": 0.5, "b": False, "z": None, "l": [1, {"k": []}], "o": {}}
    struct = struct_pb2.Struct()
    struct.update(data)
    assert struct_to_json(struct) == json_format.MessageToDict(struct) == data
    for item in ("x", 2.5, True, None, [1, "a"], {"a": {"b": 1}}):
        value = json_format.ParseDict(item, struct_pb2.Value())  # type: ignore[arg-type]
        assert value_to_json(value) == json_format.MessageToDict(value)
    assert value_to_json(struct_pb2.Value()) is None and struct_to_json(struct_pb2.Struct()) == {}


def test_non_finite_numbers_come_through() -> None:
    struct = struct_pb2.Struct()
    struct.update({"nan": math.nan, "l": [math.inf]})
    converted = struct_to_json(struct)
    assert math.isnan(converted["nan"]) and converted["l"] == [math.inf]
    assert value_to_json(struct_pb2.Value(number_value=-math.inf)) == -math.inf


def test_whole_numbers_as_ints_on_request() -> None:
    struct = struct_pb2.Struct()
    struct.update({"n": 3, "f": 0.5, "big": 2.0**60, "l": [1, {"m": -2}], "nan": math.nan})
    converted = struct_to_json(struct, whole_as_int=True)
    assert converted["n"] == 3 and isinstance(converted["n"], int)
    assert converted["l"] == [1, {"m": -2}] and all(
        isinstance(n, int) for n in (converted["l"][0], converted["l"][1]["m"])
    )
    assert converted["f"] == 0.5 and converted["big"] == 2.0**60 and isinstance(converted["big"], float)
    assert math.isnan(converted["nan"])
    assert isinstance(struct_to_json(struct)["n"], float)  # numbers stay floats unless asked
    assert value_to_json(struct_pb2.Value(number_value=7.0), whole_as_int=True) == 7
