"""A real Anvil with the whole stack deployed by scripts/deploy.py, driven through web3 the way
users drive it, and keeper services built from real config files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account

from keeper.config import load
from keeper.deployer import deploy
from keeper.localchain import ANVIL_KEYS, LocalNode, rpc_call
from keeper.localmarket import LocalMarket

from keeper_helpers import KEEPER_KEY, write_config


@pytest.fixture(scope="module")
def chain_and_stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    with LocalNode() as node:
        result = deploy(node.url, str(tmp / "local.json"), ANVIL_KEYS[0], extra_env={
            "HV_KEEPER": Account.from_key(KEEPER_KEY).address, "HV_TIMELOCK_DELAY": "60",
        })
        yield node, result.deployment


@pytest.fixture
def chain(chain_and_stack):
    """Each test starts from the freshly deployed state (evm_snapshot / evm_revert)."""
    node, deployment = chain_and_stack
    snap = rpc_call(node.url, "evm_snapshot")
    yield node, deployment
    rpc_call(node.url, "evm_revert", [snap])


@pytest.fixture
def market(chain):
    node, deployment = chain
    return LocalMarket(node.url, deployment)


@pytest.fixture
def accounts(market):
    return market.w3.eth.accounts


@pytest.fixture
def make_service(chain, tmp_path, monkeypatch):
    """Build KeeperService objects from real TOML files (key from the environment)."""
    from keeper.service import KeeperService

    node, deployment = chain
    made = []

    def make(name: str = "k1", key: str = KEEPER_KEY, urls: list[str] | None = None, **keeper: object):
        monkeypatch.setenv("HV_KEEPER_KEY", key)
        cfg_path = write_config(tmp_path / f"{name}.toml", urls or [node.url], deployment.path, **keeper)
        service = KeeperService(load(cfg_path, env={}))
        service.startup()
        made.append(service)
        return service

    yield make
    for s in made:
        s.journal.close()
