"""Run a project script under brownie, like `brownie run`, but importable from any checkout path.

`brownie run` imports scripts by their absolute path turned into a dotted module name, which
breaks when any parent folder has a dot in its name (`/tmp/ci.x1/main/...`). This runner loads
the project and imports the script as `scripts.<name>` from the project root instead.

    python scripts/toolchain/brownie_run.py scripts.deploy:main --network hv-rpc
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="module:function, e.g. scripts.deploy:main")
    parser.add_argument("--network", required=True, help="brownie network id")
    args = parser.parse_args()
    module_name, _, func_name = args.target.partition(":")

    os.chdir(ROOT)  # remappings in brownie-config.yaml are relative to the project root
    # Brownie keeps its own artifacts for live networks under build/deployments/<chainid>; for
    # hv-rpc that id is a placeholder shared by every chain, so stale entries from another chain
    # would be reloaded (ContractNotFound). Our record is deployments/*.json: drop brownie's.
    shutil.rmtree(ROOT / "build" / "deployments", ignore_errors=True)
    sys.path.insert(0, str(ROOT))
    from brownie import network, project

    active = project.load(ROOT)
    active.load_config()
    active._add_to_main_namespace()  # what `brownie run` does: `from brownie import <Contract>`
    network.connect(args.network)
    try:
        getattr(importlib.import_module(module_name), func_name or "main")()
    finally:
        if network.is_connected():
            network.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
