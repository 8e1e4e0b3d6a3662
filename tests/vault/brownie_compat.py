"""Two workarounds for brownie 1.22 in these tests; nothing here changes what a test checks.

1. `state_machine`, loaded from source. brownie ships `brownie.test.stateful` compiled with
   mypyc, and the compiled `_BrownieStateMachine.__init__` rejects the very subclass its own
   `state_machine` generates (`TypeError: brownie.test.stateful._BrownieStateMachine object
   expected; got ...BrownieStateMachine`), so every stateful test fails before its first step. The
   wheel also carries the module's source, which works: load that under another name.

2. `patient_receipts()`. Twice, long state-machine runs (thousands of transactions, on a machine
   shared with other jobs) stopped on "Tx dropped without known replacement" for an ordinary
   transaction from an unlocked Anvil account. brownie's confirmation thread gives that verdict
   when the sender's nonce has moved past the transaction but its receipt cannot be read; with
   Anvil mining on submission, a lagging receipt lookup is the likely trigger, though it was not
   caught in the act. The patch re-reads the receipt for up to ten seconds before accepting
   "dropped", and counts recoveries (the state machine prints the count; 0 so far).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import brownie.test.stateful as _compiled
from brownie.network import transaction as _transaction
from web3.exceptions import TransactionNotFound

_SOURCE = Path(_compiled.__file__).with_name("stateful.py")
_spec = importlib.util.spec_from_file_location("hv_brownie_stateful_py", _SOURCE)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

state_machine = _module.state_machine

_original_await = _transaction.TransactionReceipt._await_confirmation
recovered_receipts = 0


def _patient_await(self, block_number=None, required_confs=1):
    global recovered_receipts
    _original_await(self, block_number, required_confs)
    for _ in range(100):  # once a second was not enough on a machine loaded by four test runs
        if self.status != _transaction.Status.Dropped:
            return
        time.sleep(0.1)
        try:
            receipt = _transaction.web3.eth.get_transaction_receipt(self.txid)
        except TransactionNotFound:
            continue
        if receipt is None or receipt["blockHash"] is None:
            continue
        recovered_receipts += 1
        self.status = _transaction.Status.Pending
        self._confirmed.clear()
        _original_await(self, receipt["blockNumber"], required_confs)


def patient_receipts(enable: bool = True) -> None:
    _transaction.TransactionReceipt._await_confirmation = _patient_await if enable else _original_await
