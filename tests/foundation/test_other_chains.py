"""The same deploy on Ganache, and onto an Anvil fork of a second local Anvil.

These start their own nodes on free loopback ports and run scripts/deploy.py exactly as a user
would (`hv deploy` / `brownie run ... --network hv-rpc`), in a subprocess.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from web3 import Web3

from keeper.deployer import deploy
from keeper.deployments import MARKET_KEYS

# scripts/deploy.py's vault step (scripts/lib/vault.py), after the market stack.
VAULT_KEYS = ("timelock", "swap_adapter", "option_market", "vault", "vault_lens")
from keeper.localchain import ANVIL_KEYS, LocalNode
from keeper.market import read_market


@pytest.fixture
def anvil():
    with LocalNode() as node:
        yield node


def test_deploy_works_on_ganache(tmp_path):
    with LocalNode(kind="ganache", chain_id=1337) as node:
        result = deploy(node.url, str(tmp_path / "ganache.json"), ANVIL_KEYS[0])
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert result.deployment.chain_id == 1337
        assert sorted(result.deployed) == sorted(MARKET_KEYS + VAULT_KEYS)
        for key in MARKET_KEYS + VAULT_KEYS:
            assert len(w3.eth.get_code(result.deployment.contracts[key])) > 0, key
        assert abs(read_market(w3, result.deployment).pool_deviation) <= Decimal("0.001")


def test_fork_of_a_second_anvil_sees_the_first_chains_contracts(anvil, tmp_path):
    record = tmp_path / "origin.json"
    origin = deploy(anvil.url, str(record), ANVIL_KEYS[0])
    origin_market = read_market(Web3(Web3.HTTPProvider(anvil.url)), origin.deployment)

    with LocalNode(fork_url=anvil.url) as fork:
        on_fork = deploy(fork.url, str(record), ANVIL_KEYS[0])
        assert on_fork.deployed == []
        assert set(MARKET_KEYS + VAULT_KEYS) <= set(on_fork.reused)
        assert on_fork.deployment.contracts == origin.deployment.contracts
        fork_market = read_market(Web3(Web3.HTTPProvider(fork.url)), on_fork.deployment)
        assert (fork_market.pool_weth, fork_market.pool_usd) == (origin_market.pool_weth, origin_market.pool_usd)
        assert fork_market.price_feed.answer == origin_market.price_feed.answer


def test_redeploy_on_a_fresh_chain_with_a_stale_record_deploys_anew(tmp_path):
    record = tmp_path / "stale.json"
    with LocalNode() as first:
        deploy(first.url, str(record), ANVIL_KEYS[0])
    with LocalNode() as second:  # same chain id, empty state: nothing may be "reused"
        result = deploy(second.url, str(record), ANVIL_KEYS[0])
        assert sorted(result.deployed) == sorted(MARKET_KEYS + VAULT_KEYS)
        assert result.reused == []
