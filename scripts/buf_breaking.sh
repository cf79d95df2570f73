#!/usr/bin/env bash
# buf breaking: the v1 contracts must stay wire-compatible with every earlier
# version of them. Checks HEAD against BUF_AGAINST when set, else against each
# earlier commit that changed protos/ (cheap: a fraction of a second each).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BUF_AGAINST:-}" ]; then
  revisions=("$BUF_AGAINST")
else
  mapfile -t revisions < <(git log --format=%H HEAD~1 -- protos buf.yaml 2>/dev/null || true)
fi
checked=0
for rev in "${revisions[@]}"; do
  git cat-file -e "$rev:buf.yaml" 2>/dev/null || continue
  .venv/bin/buf breaking --against ".git#ref=$rev"
  checked=$((checked + 1))
done
echo "buf-breaking: no breaking change against $checked earlier version(s) of protos/"
