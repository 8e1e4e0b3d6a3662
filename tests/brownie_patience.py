"""Patience for brownie 1.22's "Tx dropped without known replacement" on a transaction that was mined.

Installed once for the whole session by tests/conftest.py, so it covers every transaction any test,
fixture or script (scripts/deploy.py run in-process) sends through a brownie account: contract
calls, `transfer` and `deploy` all go through `_PrivateKeyAccount._make_transaction`, which sends
the transaction and then waits in `_PrivateKeyAccount._await_confirmation`.

Where brownie decides "dropped"
-------------------------------
`TransactionReceipt.__init__` starts a confirmation thread (`TransactionReceipt._await_confirmation`);
the sender blocks on the receipt's `_confirmed` event. The thread's first pass reads the sender's
nonce (`eth_getTransactionCount`, "latest") and then the receipt (`eth_getTransactionReceipt`). If
the nonce has moved past the transaction's and the receipt is missing, the thread sets status
Dropped (-2) and `_confirmed` at once, with no second look. The woken sender
(`_PrivateKeyAccount._await_confirmation`) finds no other transaction with that sender and nonce in
TxHistory and raises `TransactionError("Tx dropped without known replacement: <txid>")`.

Why a mined transaction gets there: Anvil returns the hash of `eth_sendTransaction` before mining
it, and mines it in its own task, which commits the new state (the sender's nonce included) to its
database first and inserts the block's receipts into its block storage afterwards. A nonce read and
then a receipt read that fall in between see "nonce moved, no receipt". Measured on this 2-core
machine with raw RPC (send, then nonce, then receipt): 1 in 2,000 transactions idle, 27 and 30 in
2,000 with both cores busy. brownie's own pass is slower, so it falls into the window far more
rarely, but a suite sends tens of thousands of transactions.

The old workaround (tests/vault/brownie_compat.py) re-read the receipt in the confirmation thread
after the verdict; by then the thread had already set `_confirmed`, the sender had woken up and
raised, so it could not save a blocking transaction (it counted 0 recoveries in every run).

What this module does
---------------------
1. `_PrivateKeyAccount._await_confirmation` (the sender, after the thread's verdict): on "Tx dropped
   without known replacement", re-read this transaction's receipt every POLL_SECONDS for up to
   PATIENCE_SECONDS. If it is mined, confirm it again through brownie's own
   `TransactionReceipt._await_confirmation` (events, status, revert handling unchanged), put it
   back into TxHistory (brownie drops Dropped receipts from it), count it in `recovered_receipts`
   and return it. If it never shows up, the original error is raised: a transaction that really
   was dropped still fails, only later.
2. `TransactionReceipt._await_confirmation` (the thread): a transport error (requests' errors and
   socket errors are OSErrors) is retried for up to PATIENCE_SECONDS; any error that still escapes
   is recorded on the receipt and `_confirmed` is set before it propagates, so the sender is woken
   and re-reads the receipt itself (as in 1) or raises that error, instead of waiting forever on an
   event a dead thread will never set.
"""

from __future__ import annotations

import threading
import time

from brownie.exceptions import TransactionError
from brownie.network import account as _account
from brownie.network import transaction as _transaction
from brownie.network.state import TxHistory
from brownie.network.transaction import Status
from web3.exceptions import TransactionNotFound

PATIENCE_SECONDS = 30.0  # how long a missing receipt or a failing node is waited for
POLL_SECONDS = 0.2
DROPPED = "Tx dropped without known replacement"

recovered_receipts = 0  # mined transactions brownie had called dropped (or lost track of)
_counter_lock = threading.Lock()

_receipt_await = _transaction.TransactionReceipt._await_confirmation
_sender_await = _account._PrivateKeyAccount._await_confirmation


def _mined_receipt(txid: str):
    """The transaction's receipt if it is in a block, else None (also when the node cannot answer)."""
    try:
        receipt = _transaction.web3.eth.get_transaction_receipt(txid)
    except (TransactionNotFound, OSError):
        return None
    if receipt is None or receipt["blockHash"] is None:
        return None
    return receipt


def _recover(receipt, required_confs: int) -> bool:
    """Wait (bounded) for the receipt of `receipt` and confirm it; True when it was found mined."""
    global recovered_receipts
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        mined = _mined_receipt(receipt.txid)
        if mined is not None:
            receipt._patience_error = None
            receipt.status = Status.Pending
            receipt._confirmed.clear()
            _receipt_await(receipt, mined["blockNumber"], max(required_confs, 1))
            if receipt.status != Status.Dropped:
                TxHistory()._add_tx(receipt)
                with _counter_lock:
                    recovered_receipts += 1
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def _patient_receipt_await(self, block_number=None, required_confs=1):
    """brownie's confirmation, retried on transport errors; an error that escapes wakes the sender."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        try:
            return _receipt_await(self, block_number, required_confs)
        except OSError as exc:
            if time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                continue
            error: BaseException = exc
        except BaseException as exc:
            error = exc
        self._patience_error = error
        self._confirmed.set()
        raise error


def _patient_sender_await(self, receipt, required_confs, gas_strategy, gas_iter):
    """brownie's wait for the sender's own transaction, with a patient second look before failing."""
    try:
        result = _sender_await(self, receipt, required_confs, gas_strategy, gas_iter)
    except TransactionError as exc:
        if not str(exc).startswith(DROPPED) or not _recover(receipt, required_confs):
            raise
        return receipt
    error = getattr(receipt, "_patience_error", None)
    if result is receipt and required_confs > 0 and error is not None and receipt.status == Status.Pending:
        # the confirmation thread died before deciding: look for the receipt here, or report why
        if not _recover(receipt, required_confs):
            raise error
    return result


def install() -> None:
    _transaction.TransactionReceipt._await_confirmation = _patient_receipt_await
    _account._PrivateKeyAccount._await_confirmation = _patient_sender_await


def uninstall() -> None:
    _transaction.TransactionReceipt._await_confirmation = _receipt_await
    _account._PrivateKeyAccount._await_confirmation = _sender_await


def installed() -> bool:
    return (_transaction.TransactionReceipt._await_confirmation is _patient_receipt_await
            and _account._PrivateKeyAccount._await_confirmation is _patient_sender_await)
