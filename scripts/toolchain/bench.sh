#!/usr/bin/env bash
# Benchmarks (tables, not timed tests). Results and how to read them: docs/BENCHMARKS.md.
#   ./dev bench            every benchmark that needs only the project venv
#   ./dev bench greeks     keeper Greeks vs peers (installs the peers into .venv-bench first)
#   ./dev bench gas        on-chain gas: Black-Scholes library and the vault's entry points
set -euo pipefail
what="${1:-all}"
peers() {
  if [[ ! -x .venv-bench/bin/python ]]; then
    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet -r benchmarks/requirements-greeks-peers.txt
  fi
  PYTHONPATH=. .venv-bench/bin/python benchmarks/bench_greeks.py
}
gas() {
  .venv/bin/python benchmarks/bench_bs_gas.py
  if [[ -f benchmarks/bench_vault_gas.py ]]; then .venv/bin/python benchmarks/bench_vault_gas.py; fi
}
case "$what" in
  greeks) peers ;;
  gas) gas ;;
  all) gas; PYTHONPATH=. .venv/bin/python benchmarks/bench_greeks.py ;;
  *) echo "unknown benchmark '$what' (greeks | gas | all)" >&2; exit 2 ;;
esac
