"""tests/brownie_patience.py, proven on the real chain: brownie's "Tx dropped without known
replacement" verdict on a mined transaction is reproduced on demand, and the session-wide patch
turns it into the confirmed receipt; a transaction whose receipt never appears still fails, after
the bounded wait; a failing confirmation thread no longer leaves the sender waiting forever.

The lag is simulated by wrapping two of web3's calls that brownie's confirmation thread makes:
the sender's nonce is read only once the node has mined everything the sender sent (so the
thread always sees the nonce past the transaction), and the receipt of a mined transaction is
hidden for its first few lookups. That is Anvil's window between committing a block's state and
storing its receipts (see the module), held open long enough to be hit every time.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from brownie import TestStablecoin, accounts, history, web3
from brownie.exceptions import TransactionError
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from tests import brownie_patience

HIDDEN_LOOKUPS = 3
SETTLE_SECONDS = 20  # how long the nonce read waits for the node to mine the sender's transactions


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """The chain is reverted after each test (the simulated faults leave mined transactions behind)."""


@pytest.fixture
def lagging_node(monkeypatch):
    """Hide each mined transaction's receipt for its first `hidden` lookups; returns the settings."""
    eth = web3.eth
    real_receipt, real_count = eth.get_transaction_receipt, eth.get_transaction_count
    lag = {"hidden": HIDDEN_LOOKUPS, "seen": {}}

    def settled_count(address, block_identifier="latest"):
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            latest = real_count(address, block_identifier)
            if latest == real_count(address, "pending") or time.monotonic() > deadline:
                return latest
            time.sleep(0.01)

    def lagging_receipt(txid, *args, **kwargs):
        receipt = real_receipt(txid, *args, **kwargs)  # TransactionNotFound while not mined
        key = HexBytes(txid).hex()
        lag["seen"][key] = lag["seen"].get(key, 0) + 1
        if lag["seen"][key] <= lag["hidden"]:
            raise TransactionNotFound(f"hidden receipt lookup {lag['seen'][key]} of {key}")
        return receipt

    monkeypatch.setattr(eth, "get_transaction_count", settled_count)
    monkeypatch.setattr(eth, "get_transaction_receipt", lagging_receipt)
    return lag


@pytest.fixture
def unpatched():
    """brownie as shipped, for the control test; the session's patch is put back afterwards."""
    assert brownie_patience.installed()
    brownie_patience.uninstall()
    yield
    brownie_patience.install()


def _mined(txid: str) -> dict:
    """The node's receipt, asked directly (past the wrapped web3 calls)."""
    receipt = web3.provider.make_request("eth_getTransactionReceipt", [txid])["result"]
    assert receipt is not None and receipt["blockHash"] is not None, f"{txid} is not mined"
    return receipt


def _last_txid_of(sender) -> str:
    """The hash of `sender`'s transaction in the latest block, read from the node (brownie gave up on it)."""
    block = web3.eth.get_block("latest", full_transactions=True)
    txs = [t for t in block.transactions if t["from"] == sender.address]
    assert len(txs) == 1
    return web3.to_hex(txs[0]["hash"])


def test_the_simulated_lag_makes_unpatched_brownie_call_a_mined_transaction_dropped(lagging_node, unpatched):
    """Control: without the patch brownie raises on a transaction that is in a block, succeeded and
    moved the value. (If brownie ever stops doing that, this fails and the patch can go.)"""
    sender, receiver = accounts[0], accounts[1]
    before = receiver.balance()
    with pytest.raises(TransactionError, match=brownie_patience.DROPPED):
        sender.transfer(receiver, 12_345)
    receipt = _mined(_last_txid_of(sender))
    assert int(receipt["status"], 16) == 1
    assert receiver.balance() == before + 12_345
    assert lagging_node["seen"], "the receipt was never looked up: the simulation did not run"


def test_a_mined_transfer_brownie_calls_dropped_ends_confirmed(lagging_node):
    sender, receiver = accounts[0], accounts[1]
    before, recovered = receiver.balance(), brownie_patience.recovered_receipts
    tx = sender.transfer(receiver, 12_345)
    assert tx.status == 1
    assert tx.block_number == int(_mined(tx.txid)["blockNumber"], 16)
    assert receiver.balance() == before + 12_345
    assert brownie_patience.recovered_receipts == recovered + 1
    assert lagging_node["seen"][HexBytes(tx.txid).hex()] > HIDDEN_LOOKUPS  # hidden, then found
    assert tx in history  # brownie drops "dropped" receipts from its history: put back


def test_a_deployment_and_a_contract_call_brownie_calls_dropped_end_confirmed(lagging_node):
    owner, holder = accounts[0], accounts[2]
    recovered = brownie_patience.recovered_receipts
    token = TestStablecoin.deploy(owner, {"from": owner})
    assert web3.eth.get_code(token.address) != b""
    tx = token.mint(holder, 5_000_000, {"from": owner})
    assert tx.status == 1
    assert tx.events["Transfer"]["value"] == 5_000_000  # the receipt's logs were read and decoded
    assert token.balanceOf(holder) == 5_000_000
    assert brownie_patience.recovered_receipts == recovered + 2


def test_a_receipt_that_never_appears_still_ends_dropped_after_the_bounded_wait(lagging_node, monkeypatch):
    patience = 1.5
    monkeypatch.setattr(brownie_patience, "PATIENCE_SECONDS", patience)
    lagging_node["hidden"] = 10**9  # never shown: to brownie, the transaction was dropped
    recovered = brownie_patience.recovered_receipts
    started = time.monotonic()
    with pytest.raises(TransactionError, match=brownie_patience.DROPPED):
        accounts[0].transfer(accounts[1], 1)
    waited = time.monotonic() - started
    assert waited >= patience, f"gave up after {waited:.2f}s, before the {patience}s of patience"
    assert waited < 20 * patience, f"waited {waited:.1f}s: the bound ({patience}s) was not applied"
    assert brownie_patience.recovered_receipts == recovered
    assert max(lagging_node["seen"].values()) >= 3  # it kept looking, not just once


def _send_in_thread(send) -> dict:
    """Run `send` in a thread and wait for it, at most a minute: an unpatched brownie whose
    confirmation thread died waits forever, and that must fail the test, not hang the suite."""
    outcome: dict = {}

    def run():
        try:
            outcome["tx"] = send()
        except BaseException as exc:  # reported to the test below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the sender is still waiting a minute later (the confirmation thread died)"
    return outcome


@pytest.fixture
def failing_nonce_read(monkeypatch):
    """The first nonce reads after a transaction is sent (brownie's confirmation thread makes them)
    raise `fault["error"]`, `fault["times"]` times."""
    eth = web3.eth
    real_send, real_count = eth.send_transaction, eth.get_transaction_count
    fault = {"error": None, "times": 0, "raised": 0, "sent": False}

    def send(*args, **kwargs):
        txid = real_send(*args, **kwargs)
        fault["sent"] = True
        return txid

    def count(*args, **kwargs):
        if fault["sent"] and fault["raised"] < fault["times"]:
            fault["raised"] += 1
            raise fault["error"]
        return real_count(*args, **kwargs)

    monkeypatch.setattr(eth, "send_transaction", send)
    monkeypatch.setattr(eth, "get_transaction_count", count)
    return fault


def test_a_transport_error_in_the_confirmation_thread_is_retried(failing_nonce_read):
    failing_nonce_read.update(error=requests.exceptions.ConnectionError("node busy"), times=1)
    sender, receiver = accounts[0], accounts[1]
    before = receiver.balance()
    outcome = _send_in_thread(lambda: sender.transfer(receiver, 777))
    assert "error" not in outcome, outcome.get("error")
    assert outcome["tx"].status == 1
    assert receiver.balance() == before + 777
    assert failing_nonce_read["raised"] == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_error_that_kills_the_confirmation_thread_reaches_the_sender(failing_nonce_read):
    failing_nonce_read.update(error=RuntimeError("the node answered nonsense"), times=10**9)
    outcome = _send_in_thread(lambda: accounts[0].transfer(accounts[1], 1))
    assert isinstance(outcome.get("error"), RuntimeError), outcome
    assert "the node answered nonsense" in str(outcome["error"])
