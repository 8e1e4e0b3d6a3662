"""Deploy prebuilt contracts (the real Uniswap V2 and WETH9 builds from npm) with brownie."""

from __future__ import annotations

import json
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


def attach(container: Any, address: str) -> Contract:
    """A project contract at `address`, without brownie's deployment bookkeeping: `Container.at`
    on a live network records the address in brownie's own store, which fails on forks
    ("dict object expected; got Sources") and is not our record anyway."""
    return Contract.from_abi(container._name, address, container.abi)
