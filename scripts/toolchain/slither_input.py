"""Write a solc standard-JSON input for Slither: every production contract, by path, with the
project's remappings, optimizer and EVM version (Slither's own brownie route fails on remapped
imports; its solc-json route works offline with the npm solc adapter)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def main(out: str) -> None:
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())["compiler"]
    sources = {
        str(p.relative_to(ROOT)): {"urls": [str(p.relative_to(ROOT))]}
        for p in sorted((ROOT / "contracts").rglob("*.sol"))
        if "test" not in p.relative_to(ROOT / "contracts").parts
    }
    body = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": config["solc"]["remappings"],
            "optimizer": config["solc"]["optimizer"],
            "evmVersion": config["evm_version"],
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode"], "": ["ast"]}},
        },
    }
    Path(out).write_text(json.dumps(body, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
