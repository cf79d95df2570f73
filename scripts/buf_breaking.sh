#!/usr/bin/env bash
# buf breaking against a previous revision: BUF_AGAINST, else the commit before HEAD.
set -euo pipefail
cd "$(dirname "$0")/.."
against=${BUF_AGAINST:-}
if [ -z "$against" ]; then
  against=$(git rev-parse -q --verify HEAD~1 2>/dev/null || true)
fi
if [ -z "$against" ] || ! git cat-file -e "$against:buf.yaml" 2>/dev/null; then
  echo "buf-breaking: no earlier revision with buf.yaml; skipped"
  exit 0
fi
.venv/bin/buf breaking --against ".git#ref=$against"
echo "buf-breaking: no breaking change against $(git rev-parse --short "$against")"
