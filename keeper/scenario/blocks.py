"""One block per scenario step, built by hand on an Anvil with automatic mining off.

Why: the keeper runs as its own process and reacts to every new block. If each of the step's
transactions (oracle, arbitrage, settlement, listings, buys) were its own block, the keeper
would see half-updated markets (an oracle that moved before the pool followed) at moments that
depend on thread timing, and two runs of one seed would differ. So the scripted participants
queue their transactions, Anvil (`--order fifo`) executes them in that order in one block at
the step's timestamp, and the keeper only ever sees whole steps. Its own transactions are mined
by the runner as they arrive (`KeeperProcess.settle`).

Simulation is on the `pending` block, which already holds the queued transactions: a buyer
learns exactly what the vault will answer (a MarginInsufficient refusal, say) before sending,
as a real wallet's pre-flight check would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from keeper.errors import decode_revert
from keeper.localchain import ChainError, rpc_call
from keeper.scenario.config import ScenarioError

GWEI = 10**9


@dataclass(frozen=True)
class Queued:
    tx_hash: str
    label: str


@dataclass(frozen=True)
class Mined:
    label: str
    ok: bool
    receipt: Any
    reason: str | None  # decoded revert for a failed transaction


class BlockBuilder:
    def __init__(self, url: str, w3: Web3, gas_price_gwei: float) -> None:
        self.url = url
        self.w3 = w3
        self.base_fee = int(gas_price_gwei * GWEI)
        self.queued: list[Queued] = []

    # ------------------------------------------------------------------ node settings

    def check_node(self) -> None:
        """The runner relies on Anvil's RPC extensions and on first-in-first-out block building."""
        info = self._anvil("anvil_nodeInfo", [])
        order = info.get("transactionOrder") if isinstance(info, dict) else None
        if order != "fifo":
            raise ScenarioError(f"the Anvil at {self.url} orders transactions by {order!r}; the scenario needs "
                                "`anvil --order fifo` (the step's transactions must run in the order they are queued)")

    def manual_mining(self) -> None:
        """Automatic mining off, one second between blocks unless a step sets its timestamp."""
        for method, params in (("evm_setAutomine", [False]), ("anvil_setBlockTimestampInterval", [1])):
            self._anvil(method, params)

    def automatic_mining(self) -> None:
        self._anvil("anvil_removeBlockTimestampInterval", [])
        self._anvil("evm_setAutomine", [True])

    def _anvil(self, method: str, params: list) -> Any:
        try:
            return rpc_call(self.url, method, params, timeout=30)
        except ChainError as exc:
            raise ScenarioError(f"the scenario needs an Anvil node at {self.url}: {exc}") from None

    def snapshot(self) -> str:
        return str(self._anvil("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        if not self._anvil("evm_revert", [snapshot_id]):
            raise ScenarioError(f"evm_revert({snapshot_id}) was refused by {self.url}")

    # ------------------------------------------------------------------ building a block

    def open(self, timestamp: int | None = None) -> None:
        """Fix the next block's timestamp and base fee, so `pending` simulations see them."""
        if self.queued:
            raise RuntimeError("a block is already open with queued transactions")
        if timestamp is not None:
            latest = int(self.w3.eth.get_block("latest")["timestamp"])
            self._anvil("evm_setNextBlockTimestamp", [max(int(timestamp), latest + 1)])
        self._anvil("anvil_setNextBlockBaseFeePerGas", [hex(self.base_fee)])

    def simulate(self, fn: Any, sender: str, value: int = 0) -> tuple[int | None, str | None]:
        """(gas limit, None) if `fn` would succeed after the queued transactions, else (None, reason)."""
        tx = {"from": Web3.to_checksum_address(sender), "value": value}
        try:
            gas = fn.estimate_gas(tx, block_identifier="pending")
        except ContractLogicError as exc:
            return None, decode_revert(exc.data if isinstance(exc.data, str) else None)
        except Web3RPCError as exc:
            return None, str(exc)
        return int(gas * 1.25) + 20_000, None

    def queue(self, fn: Any, sender: str, label: str, gas: int | None = None, value: int = 0) -> Queued:
        """Send `fn` from an unlocked account without waiting; it lands in the next `mine()`."""
        if gas is None:
            gas, reason = self.simulate(fn, sender, value)
            if gas is None:
                raise ScenarioError(f"{label} would revert: {reason}")
        tx = {"from": Web3.to_checksum_address(sender), "value": value, "gas": gas,
              "maxFeePerGas": 3 * self.base_fee, "maxPriorityFeePerGas": GWEI}
        tx_hash = fn.transact(tx)
        q = Queued("0x" + bytes(tx_hash).hex(), label)
        self.queued.append(q)
        return q

    def mine(self) -> tuple[int, list[Mined]]:
        """Mine the queued transactions (and anything else pending) into one block."""
        self._anvil("evm_mine", [])
        block = int(self.w3.eth.block_number)
        mined = []
        for q in self.queued:
            receipt = self.w3.eth.get_transaction_receipt(HexStr(q.tx_hash))
            if receipt is None:  # pragma: no cover - the block was full
                raise ScenarioError(f"{q.label} was not mined in block {block} (block gas limit?)")
            ok = receipt["status"] == 1
            mined.append(Mined(q.label, ok, receipt, None if ok else self.revert_reason(q.tx_hash)))
        self.queued = []
        return block, mined

    def pending_count(self) -> int:
        status = self._anvil("txpool_status", [])
        return int(status["pending"], 16) + int(status["queued"], 16)

    def revert_reason(self, tx_hash: str) -> str:
        try:
            trace = rpc_call(self.url, "debug_traceTransaction",
                             [tx_hash, {"disableStorage": True, "disableStack": True, "disableMemory": True}], timeout=30)
        except ChainError as exc:
            return f"reverted ({exc})"
        return decode_revert((trace.get("returnValue") if isinstance(trace, dict) else None) or None)
