"""Gas benchmark of the BlackScholes library (and one OracleLib read), on an Anvil it starts itself.

    .venv/bin/python benchmarks/bench_bs_gas.py                    # Anvil's default hardfork
    .venv/bin/python benchmarks/bench_bs_gas.py --hardfork shanghai # the compile target's rules
    .venv/bin/python benchmarks/bench_bs_gas.py --markdown out.md   # also write the table

Run from the repository root (the brownie project). Anvil listens on a free loopback port with
--steps-tracing, so execution gas comes from opcode traces. The measurement itself lives in
scripts/bench/bs_gas.py, which also runs as `brownie run scripts/bench/bs_gas.py --network hv-anvil`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

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
    from scripts.bench.bs_gas import run

    proj = project.load(str(ROOT), name="HedgingVaultBench")
    proj.load_config()
    settings = CONFIG.networks["development"].setdefault("cmd_settings", {})
    settings.update({"port": free_port(), "host": "127.0.0.1", "steps_tracing": True})
    if args.hardfork:
        settings["evm_version"] = args.hardfork
    network.connect("development")
    try:
        from brownie import accounts, chain

        node = web3.provider.make_request("anvil_nodeInfo", []).get("result", {})
        table = run(proj, accounts, web3, chain)
    finally:
        network.disconnect()
    solc = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())["compiler"]
    header = (f"hardfork: {node.get('hardFork', 'unknown')}; solc {solc['solc']['version']}, optimizer "
              f"{solc['solc']['optimizer']['runs']} runs, evmVersion {solc['evm_version']}\n")
    print(header)
    print(table)
    if args.markdown:
        args.markdown.write_text(header + "\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
