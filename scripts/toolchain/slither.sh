#!/usr/bin/env bash
# Static analysis: Slither 0.11.6 in its own venv (its pins differ from brownie's), run offline on
# a standard-JSON input through the npm solc adapter. Findings and their triage: docs/SECURITY.md;
# the CI gate over high/medium findings: tests/static/test_slither.py.
#   ./dev slither            # human-readable report
#   ./dev slither --json F   # extra args go to slither
set -euo pipefail
ROOT="$(pwd)"
SV="$ROOT/.venv-slither"
PIN="slither-analyzer==0.11.6"
if [[ ! -x "$SV/bin/slither" ]] || [[ "$(cat "$SV/.hv-stamp" 2>/dev/null)" != "$PIN" ]]; then
  printf '\033[1m[dev]\033[0m installing %s into .venv-slither\n' "$PIN" >&2
  python3.11 -m venv "$SV" 2>/dev/null || python3 -m venv "$SV"
  "$SV/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$PIN"
  echo "$PIN" > "$SV/.hv-stamp"
fi
input="$(mktemp --suffix=.json)"
trap 'rm -f "$input"' EXIT
.venv/bin/python scripts/toolchain/slither_input.py "$input"
mkdir -p "$ROOT/build"
cp "$input" "$ROOT/build/slither-input.json"
"$SV/bin/slither" build/slither-input.json --compile-force-framework solc-json \
  --solc "$ROOT/.venv/solcx/solc-v0.8.28" --filter-paths "node_modules" \
  --exclude-dependencies "$@"
