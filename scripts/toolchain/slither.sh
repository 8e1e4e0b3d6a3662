#!/usr/bin/env bash
# Static analysis: Slither 0.11.6 in its own venv (its pins differ from brownie's), run offline on
# a standard-JSON input through the npm solc adapter. Findings and their triage: docs/SECURITY.md.
#   ./dev slither            # human-readable report
#   ./dev slither --json F   # extra args go to slither
set -euo pipefail
ROOT="$(pwd)"
SV="$ROOT/.venv-slither"
if [[ ! -x "$SV/bin/slither" ]]; then
  python3.11 -m venv "$SV" 2>/dev/null || python3 -m venv "$SV"
  "$SV/bin/pip" install --quiet --disable-pip-version-check slither-analyzer==0.11.6
fi
input="$(mktemp --suffix=.json)"
trap 'rm -f "$input"' EXIT
.venv/bin/python scripts/toolchain/slither_input.py "$input"
cp "$input" "$ROOT/build/slither-input.json"
"$SV/bin/slither" build/slither-input.json --compile-force-framework solc-json \
  --solc "$ROOT/.venv/solcx/solc-v0.8.28" --filter-paths "node_modules" \
  --exclude-dependencies "$@"
