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

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hardfork", default=None, help="Anvil --hardfork (default: Anvil's own default)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from brownie import network, project, web3
    from brownie._config import CONFIG

    from keeper.localchain import free_port
    from scripts.bench.vault_gas import run

    proj = project.load(str(ROOT), name="HedgingVaultBench")
    proj.load_config()
    proj._add_to_main_namespace()  # scripts/deploy.py imports the contract containers from brownie
    settings = CONFIG.networks["development"].setdefault("cmd_settings", {})
    settings.update({"port": free_port(), "host": "127.0.0.1"})
    if args.hardfork:
        settings["evm_version"] = args.hardfork
    network.connect("development")
    started = time.time()
    try:
        from brownie import accounts, chain

        node = web3.provider.make_request("anvil_nodeInfo", []).get("result", {})
        table = run(proj, accounts, web3, chain)
    finally:
        network.disconnect()
    header = (f"hardfork: {node.get('hardFork', 'unknown')}; solc 0.8.28, optimizer 200 runs, evmVersion shanghai; "
              f"measured in {time.time() - started:.0f} s\n")
    print(header)
    print(table)
    if args.markdown:
        args.markdown.write_text(header + "\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
