"""Deploy prebuilt contracts (the real Uniswap V2 and WETH9 builds from npm) with brownie."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from brownie import Contract, web3

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

NPM_BUILDS = {
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
}


def npm_build(name: str) -> dict[str, Any]:
    path = NODE_MODULES / NPM_BUILDS[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `./dev setup` to install the npm parts")
    return json.loads(path.read_text())


def deploy_npm(name: str, deployer: Any, *args: Any) -> str:
    build = npm_build(name)
    factory = web3.eth.contract(abi=build["abi"], bytecode=build["bytecode"])
    data = factory.constructor(*args).data_in_transaction
    tx = deployer.transfer(data=data, silent=True)
    if not tx.contract_address:
        raise RuntimeError(f"deploying {name} failed: {tx.revert_msg}")
    return tx.contract_address


def at(name: str, address: str) -> Contract:
    return Contract.from_abi(name, address, npm_build(name)["abi"])


def linked_bytecode(container: Any, libraries: dict[str, str]) -> str:
    """The container's creation bytecode with each `__Name___…` library placeholder replaced by the
    address in `libraries`; a placeholder left unfilled is an error, not a broken deployment."""
    bytecode = container.bytecode
    for marker in set(re.findall(r"__[A-Za-z0-9_$]+?_+(?=[0-9a-fA-F]|$)", bytecode)):
        name = marker.strip("_")
        if name not in libraries:
            raise RuntimeError(f"{container._name} needs library {name}: deploy it first")
        bytecode = bytecode.replace(marker, libraries[name][2:].lower())
    return bytecode


def deploy_project(container: Any, deployer: Any, *args: Any, libraries: dict[str, str] | None = None) -> str:
    """Deploy a project contract with a plain transaction, as `deploy_npm` does.

    On a live network brownie's `Container.deploy` (and `.at`) saves the contract under
    build/deployments/<chain id>/; contracts with immutables (vault, market, adapter) are saved
    without their pcMap, and brownie then loads them with a code check on every later connection to
    that network id: a fresh node reached through the same `hv-rpc` id fails with ContractNotFound."""
    factory = web3.eth.contract(abi=container.abi, bytecode=linked_bytecode(container, libraries or {}))
    data = factory.constructor(*args).data_in_transaction
    tx = deployer.transfer(data=data, silent=True)
    if not tx.contract_address:
        raise RuntimeError(f"deploying {container._name} failed: {tx.revert_msg}")
    return tx.contract_address


def project_at(container: Any, address: str) -> Contract:
    """The project contract at `address`, kept out of brownie's deployment stores (see deploy_project)."""
    return Contract.from_abi(container._name, address, container.abi, persist=False)
