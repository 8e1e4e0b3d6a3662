from __future__ import annotations

import pytest
from web3 import Web3

from keeper.chain import RpcClient, SendPolicy, Signer, TxSender
from keeper.deployer import deploy
from keeper.journal import Journal
from keeper.localchain import ANVIL_KEYS, LocalNode, rpc_call


@pytest.fixture
def node():
    with LocalNode() as n:
        yield n


@pytest.fixture
def stack(node, tmp_path):
    """The market stack on a fresh Anvil (deployer = Anvil account 0)."""
    return deploy(node.url, str(tmp_path / "stack.json"), ANVIL_KEYS[0]).deployment


@pytest.fixture
def w3(node):
    return Web3(Web3.HTTPProvider(node.url))


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
def keeper_key(monkeypatch):
    monkeypatch.setenv("HV_TEST_KEEPER_KEY", ANVIL_KEYS[1])
    return Signer.from_env("HV_TEST_KEEPER_KEY")


@pytest.fixture
def make_sender():
    def make(urls, signer, journal, **policy) -> TxSender:
        defaults = dict(poll_seconds=0.05, bump_after_seconds=1.0, receipt_timeout_seconds=20.0)
        defaults.update(policy)
        # The RPC timeout is a ceiling for a healthy node's answer (a busy machine can take seconds);
        # no test here relies on it firing.
        return TxSender(RpcClient(list(urls), timeout_seconds=30.0), signer, journal, SendPolicy(**defaults))

    return make


@pytest.fixture
def set_automine():
    def set_(node, on: bool) -> None:
        rpc_call(node.url, "evm_setAutomine", [on])

    return set_
