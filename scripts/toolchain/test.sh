#!/usr/bin/env bash
# The test suite: one pytest run over tests/ (brownie's plugin compiles the contracts and starts
# Anvil on a free port; chain-free keeper tests run in the same session). Extra arguments go to
# pytest, e.g. `./dev test --slow` for deep fuzzing or `./dev test tests/keeper -k greeks`.
set -uo pipefail
.venv/bin/pytest tests -p no:cacheprovider "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "[dev] error: pytest collected no tests" >&2
  exit 1
fi
exit $rc
