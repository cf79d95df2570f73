#!/usr/bin/env bash
# Regenerates the Python stubs in libs/contracts/src from protos/ (never hand-edit them).
# Type stubs come from mypy-protobuf rather than protoc's --pyi_out (both write *_pb2.pyi):
# its stubs type HasField/WhichOneof arguments and enum values, and it also types the
# gRPC stubs and servicer bases (*_pb2_grpc.pyi). `only_async` because every service and
# client here uses grpc.aio: stubs take an aio.Channel and servicer methods are awaitables.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
OUT=${1:-libs/contracts/src}
rm -rf "$OUT/agentmesh"
mkdir -p "$OUT"
# shellcheck disable=SC2046
"$PY" -m grpc_tools.protoc -I protos \
  --plugin=protoc-gen-mypy="$BIN/protoc-gen-mypy" --plugin=protoc-gen-mypy_grpc="$BIN/protoc-gen-mypy_grpc" \
  --python_out="$OUT" --grpc_python_out="$OUT" \
  --mypy_out=quiet:"$OUT" --mypy_grpc_out=only_async,quiet:"$OUT" \
  $(find protos -name '*.proto' | sort)
touch "$OUT/agentmesh/py.typed"
