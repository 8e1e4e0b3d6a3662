"""Two workarounds for brownie 1.22 in these tests; nothing here changes what a test checks.

1. `state_machine`, loaded from source. brownie ships `brownie.test.stateful` compiled with
   mypyc, and the compiled `_BrownieStateMachine.__init__` rejects the very subclass its own
   `state_machine` generates (`TypeError: brownie.test.stateful._BrownieStateMachine object
   expected; got ...BrownieStateMachine`), so every stateful test fails before its first step. The
   wheel also carries the module's source, which works: load that under another name.

2. `patient_receipts()`. A transaction's confirmation thread declares it "dropped without known
   replacement" when it sees the sender's nonce move past the transaction before it can read the
   receipt. Anvil mines on submission, and under load (this machine shares its two cores) the
   receipt lookup now and then loses that race, one transaction in some thousands, which fails a
   long state-machine run on a transaction that was in fact mined. The patch re-reads the receipt
   for up to a second before accepting "dropped", and counts how often it had to.
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
    for _ in range(20):
        if self.status != _transaction.Status.Dropped:
            return
        time.sleep(0.05)
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
