#!/usr/bin/env bash
# Regenerates the Python stubs in libs/contracts/src from protos/ (never hand-edit them).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-libs/contracts/src}
rm -rf "$OUT/agentmesh"
mkdir -p "$OUT"
# shellcheck disable=SC2046
"$PY" -m grpc_tools.protoc -I protos \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" \
  $(find protos -name '*.proto' | sort)
touch "$OUT/agentmesh/py.typed"
