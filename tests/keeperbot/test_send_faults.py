"""TxSender and reconcile under faults, against a real Anvil: a journal that cannot write, a node
that refuses a transaction for good, a reorg while the sender waits for confirmations.
(The keeper-level fault suite is tests/integration/test_keeper_faults.py.)"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from web3 import Web3

from keeper.abi import load_abi
from keeper.chain import GWEI, Fees, ShuttingDown, reconcile
from keeper.journal import JournalError
from keeper.localchain import rpc_call


def approve_call(stack, amount: int) -> tuple[str, str]:
    usd = Web3().eth.contract(abi=load_abi("TestStablecoin"))
    return stack.address("usd"), usd.encode_abi("approve", [Web3.to_checksum_address(stack.address("uniswap_router")),
                                                            amount])


class FullDisk:
    """The journal's SQLite connection, with every write failing the way SQLite reports ENOSPC
    (SQLITE_FULL, "database or disk is full") while `full` is set. Reads still work."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.full, self.refused = db, True, 0

    def execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        if self.full and sql.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, args)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def test_a_journal_that_cannot_write_refuses_to_sign_and_send_and_recovers(make_sender, node, stack, w3, journal,
                                                                          keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, 11)
    disk = FullDisk(journal._db)
    journal._db = disk

    with pytest.raises(JournalError, match="database or disk is full"):
        sender.send(to=to, data=data, vault="v")
    assert disk.refused == 1  # the signed record was the first write, and it failed
    assert w3.eth.get_transaction_count(keeper_key.address, "pending") == 0  # so nothing was broadcast
    assert rpc_call(node.url, "txpool_status") == {"pending": "0x0", "queued": "0x0"}

    disk.full = False  # space returns
    result = sender.send(to=to, data=data, vault="v")
    assert result.status == "confirmed"
    [tx] = journal.all_txs()
    assert (tx.hash, tx.status, tx.nonce) == (result.tx_hash, "confirmed", 0)
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_a_transaction_no_node_will_take_is_rejected_for_good_instead_of_awaited_forever(make_sender, node, stack, w3,
                                                                                       journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, 3)
    record = sender._sign_and_journal(to=to, data=data, gas=100_000, nonce=sender.next_nonce(), fees=Fees(2 * GWEI, GWEI),
                                      vault="v", tick_id=None, hedge_nonce=None, chain_id=31337, note=None)
    # ... the process dies before broadcasting; meanwhile the base fee rises past the signed max fee.
    rpc_call(node.url, "anvil_setNextBlockBaseFeePerGas", [hex(50 * GWEI)])
    rpc_call(node.url, "evm_mine")

    report = reconcile(sender.rpc, journal, keeper_key.address)
    assert (report.rejected, report.still_pending, report.rebroadcast) == (1, 0, 0)
    [tx] = journal.all_txs()
    assert tx.hash == record.hash and tx.status == "rejected" and "base fee" in (tx.note or "")
    assert journal.open_txs(keeper_key.address) == []  # nothing left to wait for
    assert sender.next_nonce() == record.nonce  # the nonce is free: the next decision uses it
    assert sender.send(to=to, data=data, vault="v").status == "confirmed"
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_a_reorg_while_waiting_for_confirmations_reopens_the_transaction(make_sender, node, stack, w3, journal,
                                                                        keeper_key):
    sender = make_sender([node.url], keeper_key, journal, confirmations=2)
    to, data = approve_call(stack, 13)
    results = []
    worker = threading.Thread(target=lambda: results.append(sender.send(to=to, data=data, vault="v")))
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while not any(t.status == "mined" for t in journal.all_txs()) and time.monotonic() < deadline:
            time.sleep(0.02)
        [tx] = journal.all_txs()
        assert tx.status == "mined"  # in a block, waiting for the second confirmation
        rpc_call(node.url, "anvil_reorg", [1, []])  # that block is replaced by an empty one
        rpc_call(node.url, "evm_mine")  # ... and the chain grows past the confirmation target
    finally:
        worker.join(timeout=120)
    [result] = results
    assert result.status == "pending"  # not reported as confirmed: its block is gone
    [tx] = journal.all_txs()
    assert tx.status == "sent" and tx.note == "reorged out before confirmation"
    assert w3.eth.get_transaction_count(keeper_key.address) == 0

    assert reconcile(sender.rpc, journal, keeper_key.address, confirmations=2).rebroadcast == 1  # same bytes
    rpc_call(node.url, "evm_mine")
    reconcile(sender.rpc, journal, keeper_key.address, confirmations=2)
    [tx] = journal.all_txs()
    assert (tx.hash, tx.status) == (result.tx_hash, "confirmed")
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_a_stop_requested_mid_send_signs_nothing(make_sender, node, w3, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    sender.stop_requested.set()  # SIGTERM arrived while the tick was deciding
    with pytest.raises(ShuttingDown):
        sender.send(to=keeper_key.address, data="0x", vault="v")
    assert journal.all_txs() == []
    assert w3.eth.get_transaction_count(keeper_key.address, "pending") == 0


def test_a_transaction_an_earlier_process_left_stuck_is_re_sent_with_higher_fees(make_sender, set_automine, node,
                                                                                 stack, w3, journal, keeper_key):
    set_automine(node, False)
    first = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, 17)
    pending = first.send(to=to, data=data, vault="v", fees=Fees(2 * GWEI, GWEI), wait=False)
    # ... that process stops; meanwhile the base fee rises past what the transaction offers: the
    # node holds it, but no block will take it.
    rpc_call(node.url, "anvil_setNextBlockBaseFeePerGas", [hex(5 * GWEI)])
    assert w3.eth.get_transaction_count(keeper_key.address, "pending") == 1

    restarted = make_sender([node.url], keeper_key, journal, bump_after_seconds=0.0)
    assert reconcile(restarted.rpc, journal, keeper_key.address).still_pending == 1  # the node still holds it
    [replacement] = restarted.bump_stuck()
    next_base = w3.eth.fee_history(1, "latest", [50])["baseFeePerGas"][-1]
    assert replacement.nonce == 0 and replacement.max_fee >= max(next_base, 2 * GWEI * 1125 // 1000)
    rpc_call(node.url, "evm_mine")
    assert reconcile(restarted.rpc, journal, keeper_key.address).confirmed == 1
    statuses = {t.hash: t.status for t in journal.all_txs()}
    assert statuses == {pending.tx_hash: "replaced", replacement.hash: "confirmed"}
    assert w3.eth.get_transaction_count(keeper_key.address) == 1
    usd = w3.eth.contract(address=stack.address("usd"), abi=load_abi("TestStablecoin"))
    assert usd.functions.allowance(keeper_key.address, stack.address("uniswap_router")).call() == 17
