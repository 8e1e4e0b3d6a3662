"""Gas benchmark of the hedging vault's entry points on the whole stack, on an Anvil it starts itself.

    .venv/bin/python benchmarks/bench_vault_gas.py                     # Anvil's default hardfork
    .venv/bin/python benchmarks/bench_vault_gas.py --hardfork shanghai  # the compile target's rules
    .venv/bin/python benchmarks/bench_vault_gas.py --markdown out.md    # also write the table

Run from the repository root (the brownie project). Deploys with scripts/deploy.py (real Uniswap
V2, WETH9, Chainlink mock feeds), then measures deposit, withdraw, buy, settle, redeem and
rebalance with 1, 8 and 32 live series, the rebalance's overhead over a plain router swap of the
same size from the same snapshot, gas against the number of users, and contract sizes. The
measurement lives in scripts/bench/vault_gas.py (also `brownie run scripts/bench/vault_gas.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench.harness import main  # noqa: E402


def _run(*args):
    from scripts.bench.vault_gas import run

    return run(*args)


if __name__ == "__main__":
    raise SystemExit(main(__doc__.splitlines()[0], _run, steps_tracing=False))
