"""Copy the ABIs the keeper needs from the build into keeper/abi/ (package data).

The keeper never imports brownie, so it reads ABIs from these files. Run after changing a
contract's interface: `.venv/bin/brownie compile && .venv/bin/python scripts/toolchain/export_abi.py`;
tests/foundation/test_abi_export.py fails when the copies drift from the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "keeper" / "abi"

# name in keeper/abi -> source build file
SOURCES = {
    "ERC20": ROOT / "build/contracts/IERC20Metadata.json",
    "AggregatorV3": ROOT / "build/contracts/MockV3Aggregator.json",
    "UniswapV2Pair": ROOT / "node_modules/@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": ROOT / "node_modules/@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "TestStablecoin": ROOT / "build/contracts/TestStablecoin.json",
    "HedgeVault": ROOT / "build/contracts/HedgeVault.json",
    "OptionMarket": ROOT / "build/contracts/OptionMarket.json",
    "VaultLens": ROOT / "build/contracts/VaultLens.json",
    "UniswapV2Adapter": ROOT / "build/contracts/UniswapV2Adapter.json",
    "HedgeTimelock": ROOT / "build/contracts/HedgeTimelock.json",
}


def abi_of(path: Path) -> list:
    return json.loads(path.read_text())["abi"]


def rendered(abi: list) -> str:
    return json.dumps(abi, indent=1, sort_keys=True) + "\n"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, src in SOURCES.items():
        if not src.exists():
            print(f"export_abi: {src} missing: run `.venv/bin/brownie compile` first", file=sys.stderr)
            return 1
        (OUT / f"{name}.json").write_text(rendered(abi_of(src)))
        print(f"keeper/abi/{name}.json <- {src.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
