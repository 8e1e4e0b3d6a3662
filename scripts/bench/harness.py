"""Shared runner for the brownie-based gas benchmarks: load the project, start brownie's Anvil on a
free loopback port, run one measurement, print the table with the compiler settings it used."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]


def main(description: str, run: Callable, steps_tracing: bool = False) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--hardfork", default=None, help="Anvil --hardfork (default: Anvil's own default)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from brownie import network, project, web3
    from brownie._config import CONFIG

    from keeper.localchain import free_port

    proj = project.load(str(ROOT), name="HedgingVaultBench")
    proj.load_config()
    proj._add_to_main_namespace()  # scripts/deploy.py imports the contract containers from brownie
    settings = CONFIG.networks["development"].setdefault("cmd_settings", {})
    settings.update({"port": free_port(), "host": "127.0.0.1"})
    if steps_tracing:
        settings["steps_tracing"] = True
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
    solc = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())["compiler"]
    header = (f"hardfork: {node.get('hardFork', 'unknown')}; solc {solc['solc']['version']}, optimizer "
              f"{solc['solc']['optimizer']['runs']} runs, evmVersion {solc['evm_version']}; "
              f"measured in {time.time() - started:.0f} s\n")
    print(header)
    print(table)
    if args.markdown:
        args.markdown.write_text(header + "\n" + table + "\n")
    return 0
