"""The keeper's only door to the chain: RPC failover, fees, simulation, signing, sending.

- `RpcClient`: several URLs with per-call timeouts; a failing URL is skipped for a cool-down and
  the failure is reported (metrics), never hidden. Contract reverts are not RPC failures. A reply
  that fails the keeper's checks (garbage, wrong type, absurd value) is a failure of that URL.
- `suggest_fees`: EIP-1559 fees from `eth_feeHistory` percentiles, refused above the cap.
- `Signer`: a key from an encrypted keystore or an environment variable; never printed.
- `TxSender`: simulate (`eth_call` + gas estimate) -> sign -> journal -> broadcast -> wait for
  the receipt, replacing a stuck transaction on the same nonce with fees bumped >= 12.5% up to
  the cap, and accepting it only at the configured confirmation depth (reorg-safe).
- `reconcile`: on start, settle every journalled open transaction against the chain;
  `recheck_final`: reopen a recently final transaction whose receipt a reorg took away.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from eth_typing import HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from keeper.errors import decode_revert
from keeper.journal import OPEN_STATUSES, Journal, TxRecord
from keeper.snapshot import Snapshot, as_dict, parse

log = logging.getLogger("keeper.chain")
T = TypeVar("T")

GWEI = 10**9
MIN_BUMP_NUMERATOR, MIN_BUMP_DENOMINATOR = 1125, 1000  # +12.5%: geth's replacement rule
# The keeper has at most one transaction in flight; a few more pending (an operator's manual
# transaction) are plausible, a large gap between the mined and the pending nonce is not.
MAX_NONCE_GAP = 16
MIN_TX_GAS, MAX_TX_GAS = 21_000, 30_000_000  # intrinsic gas; a mainnet block's gas limit
# Refusals that mean "the node already has this transaction (or a version of it)".
POOLED_HINTS = ("already known", "already imported", "known transaction", "replacement transaction underpriced")


def _failpoint(name: str) -> None:
    """Crash here if HV_FAILPOINT names this point: how the crash-safety tests kill the keeper
    between journalling and broadcasting, and between broadcasting and the receipt."""
    if os.environ.get("HV_FAILPOINT") == name:
        os._exit(86)


class ChainUnavailable(RuntimeError):
    """No configured RPC URL answered."""


class SimulationFailed(RuntimeError):
    """The transaction would revert; `reason` is the decoded custom error."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"simulation reverted: {reason}")
        self.reason = reason


class FeeCapExceeded(RuntimeError):
    """The network asks for more than the configured maximum fee."""


class InsufficientGasFunds(RuntimeError):
    """The keeper's account cannot pay for the gas the transaction may use."""


class WrongChain(RuntimeError):
    """An RPC URL serves a different chain than the deployment."""


class ImplausibleReply(RuntimeError):
    """A node's reply failed the keeper's checks (undecodable, wrong type, absurd or inconsistent
    value). Raised inside `RpcClient.call`, it counts as that URL's failure: the next URL is tried."""


class NonceTaken(RuntimeError):
    """Another transaction used the keeper's nonce before its own was broadcast."""


class TransactionRejected(RuntimeError):
    """The node refused the signed transaction for good (not a duplicate, nonce unused)."""


class ShuttingDown(RuntimeError):
    """A stop was requested: nothing new is signed."""


# ---------------------------------------------------------------------------- RPC

# Exceptions that are the node's answer, not its failure: re-raised, no failover. A JSON-RPC
# error object ("nonce too low", "already known") is an answer too: another node would say the same.
ANSWERS = (ContractLogicError, TransactionNotFound, BlockNotFound, SimulationFailed, Web3RPCError)


@dataclass
class RpcClient:
    urls: Sequence[str]
    timeout_seconds: float = 10.0
    cooldown_seconds: float = 30.0
    expected_chain_id: int | None = None
    on_error: Callable[[str, Exception], None] = lambda url, exc: None
    _w3: list[Web3] = field(default_factory=list, init=False, repr=False)
    _down_until: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _chain_checked: set[int] = field(default_factory=set, init=False, repr=False)
    _active: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("RpcClient needs at least one URL")
        # web3's own retries are off (its default retries a timed-out call 5 times on the same
        # URL): a node that hangs costs one timeout, then the next URL is tried, then the tick
        # backs off. This client is the retry layer.
        self._w3 = [
            Web3(Web3.HTTPProvider(u, request_kwargs={"timeout": self.timeout_seconds}, exception_retry_configuration=None))
            for u in self.urls
        ]

    @property
    def active_url(self) -> str:
        return self.urls[self._active]

    def call(self, fn: Callable[[Web3], T]) -> T:
        """Run `fn` against the first healthy URL, failing over on transport or node errors.

        A contract revert (ContractLogicError) is an answer, not a failure, and is re-raised.
        """
        now = time.monotonic()
        order = [i for i in range(len(self._w3)) if self._down_until.get(i, 0) <= now]
        order += [i for i in range(len(self._w3)) if i not in order]  # all cooling: try anyway
        last: Exception | None = None
        for i in order:
            try:
                w3 = self._w3[i]
                if self.expected_chain_id is not None and i not in self._chain_checked:
                    chain_id = w3.eth.chain_id
                    if chain_id != self.expected_chain_id:
                        raise WrongChain(f"{self.urls[i]} serves chain {chain_id}, expected {self.expected_chain_id}")
                    self._chain_checked.add(i)
                result = fn(w3)
                self._active = i
                self._down_until.pop(i, None)
                return result
            except ANSWERS:
                raise
            except Exception as exc:  # transport errors, garbage replies, node errors
                last = exc
                self._down_until[i] = time.monotonic() + self.cooldown_seconds
                self.on_error(self.urls[i], exc)
                log.warning("rpc error", extra={"url": self.urls[i], "error": _short(exc)})
        raise ChainUnavailable(f"no RPC URL answered ({len(self.urls)} tried): {_short(last)}")


def _short(exc: Exception | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc else "no error"
    return text if len(text) < 200 else text[:197] + "..."


# Checked reads: each runs inside `RpcClient.call`, so an implausible answer fails over.


def _uint(value: Any, what: str, upper: int = 2**256) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < upper:
        raise ImplausibleReply(f"{what}: {value!r} is not an integer in [0, {upper})")
    return value


def account_nonces(w3: Web3, address: str) -> tuple[int, int]:
    """(mined, pending) transaction counts of `address`, checked for consistency."""
    account = Web3.to_checksum_address(address)
    latest = _uint(w3.eth.get_transaction_count(account, "latest"), "mined nonce", 2**64 - 1)  # EIP-2681
    pending = _uint(w3.eth.get_transaction_count(account, "pending"), "pending nonce", 2**64 - 1)
    if not latest <= pending <= latest + MAX_NONCE_GAP:
        raise ImplausibleReply(f"nonces of {account}: mined {latest}, pending {pending} (at most {MAX_NONCE_GAP} apart)")
    return latest, pending


def checked_receipt(w3: Web3, tx_hash: str) -> TxReceipt | None:
    """The receipt of `tx_hash`, or None if the node does not know it as mined."""
    try:
        receipt = w3.eth.get_transaction_receipt(HexStr(tx_hash))
    except TransactionNotFound:
        return None
    if receipt is None:
        return None
    try:
        ok = "0x" + bytes(receipt["transactionHash"]).hex() == tx_hash.lower()
        _uint(receipt["blockNumber"], "receipt block")
        _uint(receipt["gasUsed"], "receipt gas used", MAX_TX_GAS + 1)
        ok = ok and receipt["status"] in (0, 1)
    except (KeyError, TypeError, ValueError) as exc:
        raise ImplausibleReply(f"receipt of {tx_hash}: {exc!r}") from None
    if not ok:
        raise ImplausibleReply(f"receipt of {tx_hash} does not describe it: {dict(receipt)!r:.200}")
    return receipt


def _knows_transaction(w3: Web3, tx_hash: str) -> bool:
    """Whether the node holds `tx_hash`, pending in its pool or mined."""
    try:
        tx = w3.eth.get_transaction(HexStr(tx_hash))
    except TransactionNotFound:
        return False
    if tx is None:
        return False
    if "0x" + bytes(tx["hash"]).hex() != tx_hash.lower():
        raise ImplausibleReply(f"eth_getTransactionByHash({tx_hash}) answered another transaction")
    return True


def _receipt_of(tx_hash: str) -> Callable[[Web3], TxReceipt | None]:
    return lambda w3: checked_receipt(w3, tx_hash)


def _send_raw(raw: str) -> Callable[[Web3], Any]:
    return lambda w3: w3.eth.send_raw_transaction(HexStr(raw))


# ---------------------------------------------------------------------------- fees


@dataclass(frozen=True)
class Fees:
    max_fee: int
    priority_fee: int

    def bumped(self, cap: int) -> Fees:
        """Both fields up by at least 12.5% (and 1 wei); raises FeeCapExceeded past the cap."""
        priority = max(math.ceil(self.priority_fee * MIN_BUMP_NUMERATOR / MIN_BUMP_DENOMINATOR), self.priority_fee + 1)
        max_fee = max(math.ceil(self.max_fee * MIN_BUMP_NUMERATOR / MIN_BUMP_DENOMINATOR), self.max_fee + 1)
        if max_fee > cap:
            raise FeeCapExceeded(f"replacement needs max fee {max_fee / GWEI:.3f} gwei, above the cap {cap / GWEI:.3f} gwei")
        return Fees(max_fee=max_fee, priority_fee=min(priority, max_fee))


@dataclass(frozen=True)
class FeePolicy:
    max_fee_cap: int = 200 * GWEI
    priority_percentile: float = 50.0
    history_blocks: int = 20
    min_priority_fee: int = 10**8  # 0.1 gwei: local chains report zero rewards
    base_fee_multiplier: float = 2.0  # headroom for base-fee growth while pending


def suggest_fees(w3: Web3, policy: FeePolicy) -> Fees:
    history = w3.eth.fee_history(policy.history_blocks, "latest", [policy.priority_percentile])
    try:
        next_base = _uint(history["baseFeePerGas"][-1], "next base fee")  # the last entry is the next block's
        rewards = sorted(_uint(r[0], "priority fee reward") for r in history.get("reward", []) if r)
    except (KeyError, IndexError, TypeError) as exc:
        raise ImplausibleReply(f"eth_feeHistory: {exc!r}") from None
    priority = max(rewards[len(rewards) // 2] if rewards else 0, policy.min_priority_fee)
    max_fee = int(next_base * policy.base_fee_multiplier) + priority
    if next_base + priority > policy.max_fee_cap:
        raise FeeCapExceeded(
            f"base fee {next_base / GWEI:.3f} gwei + tip {priority / GWEI:.3f} gwei exceeds the cap {policy.max_fee_cap / GWEI:.3f} gwei"
        )
    return Fees(max_fee=min(max_fee, policy.max_fee_cap), priority_fee=priority)


# ---------------------------------------------------------------------------- signing


class Signer:
    """Holds the keeper's key in memory only; repr and str never include it."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        self.address = account.address

    @classmethod
    def from_env(cls, variable: str) -> Signer:
        key = os.environ.get(variable)
        if not key:
            raise ValueError(f"environment variable {variable} (the keeper's private key) is not set")
        try:
            return cls(Account.from_key(key))
        except Exception:
            raise ValueError(f"environment variable {variable} does not hold a valid private key") from None

    @classmethod
    def from_keystore(cls, path: str | Path, password_variable: str) -> Signer:
        password = os.environ.get(password_variable)
        if password is None:
            raise ValueError(f"environment variable {password_variable} (the keystore password) is not set")
        try:
            keyfile = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"keystore {path} cannot be read: {exc}") from None
        try:
            return cls(Account.from_key(Account.decrypt(keyfile, password)))
        except ValueError:
            raise ValueError(f"keystore {path}: wrong password or corrupt file") from None

    def sign(self, tx: dict[str, Any]) -> Any:
        return self._account.sign_transaction(tx)

    def __repr__(self) -> str:
        return f"Signer({self.address})"


# ---------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendPolicy:
    fees: FeePolicy = FeePolicy()
    gas_multiplier: float = 1.25
    confirmations: int = 1
    poll_seconds: float = 0.5
    bump_after_seconds: float = 30.0
    receipt_timeout_seconds: float = 300.0
    # A final transaction is re-checked this many blocks after its block: a deeper reorg than
    # this is not expected on the chains the keeper runs on (and 64 is two epochs on mainnet).
    reorg_window_blocks: int = 64


@dataclass(frozen=True)
class SendResult:
    tx_hash: str
    status: str  # confirmed | failed | pending
    block: int | None
    gas_used: int | None
    effective_gas_price: int | None
    replacements: int
    seconds_to_inclusion: float | None


class TxSender:
    """One sender, one lock: web3.py has no nonce manager, so this is it (journal-backed)."""

    def __init__(self, rpc: RpcClient, signer: Signer, journal: Journal, policy: SendPolicy) -> None:
        self.rpc = rpc
        self.signer = signer
        self.journal = journal
        self.policy = policy
        self._lock = threading.Lock()
        self.stop_requested = threading.Event()

    # -- pieces

    def simulate(self, to: str, data: bytes | str) -> int:
        """eth_call then estimate gas; returns the gas limit to use. Raises SimulationFailed."""
        call: TxParams = {"from": self.signer.address, "to": Web3.to_checksum_address(to),
                          "data": HexStr(data) if isinstance(data, str) else data}

        def estimate(w3: Web3) -> int:
            gas = _uint(w3.eth.estimate_gas(call, "latest"), "gas estimate")
            if not MIN_TX_GAS <= gas <= MAX_TX_GAS:
                raise ImplausibleReply(f"gas estimate {gas} outside [{MIN_TX_GAS}, {MAX_TX_GAS}]")
            return gas

        try:
            self.rpc.call(lambda w3: w3.eth.call(call, "latest"))
            gas = self.rpc.call(estimate)
        except ContractLogicError as exc:
            raise SimulationFailed(decode_revert(exc.data if isinstance(exc.data, str) else None)) from None
        return min(math.ceil(gas * self.policy.gas_multiplier), MAX_TX_GAS)

    def _chain_id(self, w3: Web3) -> int:
        """The chain id to sign for: the node's, which must be the deployment's. A signature for
        another chain, handed to a lying node, could be replayed there."""
        chain_id = _uint(w3.eth.chain_id, "chain id")
        expected = self.rpc.expected_chain_id
        if expected is not None and chain_id != expected:
            raise ImplausibleReply(f"chain id {chain_id}, the deployment's is {expected}: nothing is signed for it")
        return chain_id

    def next_nonce(self) -> int:
        """The chain's pending nonce, checked against itself and the journal; past any open one."""
        known = self.journal.highest_nonce(self.signer.address)

        def read(w3: Web3) -> int:
            latest, pending = account_nonces(w3, self.signer.address)
            # The journal knows the last nonce this keeper signed: a chain that claims many more
            # mined transactions than that (none of them ours) is not believed.
            if known is not None and latest > known + 1 + MAX_NONCE_GAP:
                raise ImplausibleReply(f"mined nonce {latest}, but the journal's last is {known}")
            return pending

        chain_pending = self.rpc.call(read)
        open_nonces = [t.nonce for t in self.journal.open_txs(self.signer.address)]
        return max([chain_pending] + [n + 1 for n in open_nonces])

    def _sign_and_journal(self, *, to: str, data: Any, gas: int, nonce: int, fees: Fees, vault: str,
                          tick_id: int | None, hedge_nonce: int | None, chain_id: int, note: str | None) -> TxRecord:
        tx = {
            "type": 2, "chainId": chain_id, "nonce": nonce, "to": Web3.to_checksum_address(to), "data": data,
            "value": 0, "gas": gas, "maxFeePerGas": fees.max_fee, "maxPriorityFeePerGas": fees.priority_fee,
        }
        signed = self.signer.sign(tx)
        tx_hash = "0x" + signed.hash.hex().removeprefix("0x")
        raw = "0x" + signed.raw_transaction.hex().removeprefix("0x")
        # Journalled before broadcast: a crash after this line leaves a record to reconcile.
        self.journal.record_signed(
            tick_id=tick_id, vault=vault, sender=self.signer.address, nonce=nonce, tx_hash=tx_hash, raw=raw,
            max_fee=fees.max_fee, priority_fee=fees.priority_fee, hedge_nonce=hedge_nonce, note=note,
        )
        return self.journal.txs_with_nonce(self.signer.address, nonce)[-1]

    def broadcast(self, record: TxRecord) -> None:
        """Hand `record` to a node. A refusal is settled against the chain and journalled: the
        node already has it (`sent`), another transaction used its nonce (`dropped`, NonceTaken),
        or the node will not take it (`rejected`, TransactionRejected). A transport failure
        (ChainUnavailable) leaves it `signed`: it may have gone out, and reconcile will tell."""
        try:
            self.rpc.call(_send_raw(record.raw))
        except Web3RPCError as exc:
            outcome = settle_refusal(self.rpc, self.journal, record, exc)
            if outcome == "dropped":
                raise NonceTaken(f"nonce {record.nonce} of {record.sender} was used by another transaction") from None
            if outcome == "rejected":
                raise TransactionRejected(f"the node refused {record.hash}: {_short(exc)}") from None
            return  # `sent` (the node has it) or `replaced` (a version of ours is mined): journalled
        self.journal.set_status(record.hash, "sent")

    # -- the whole path

    def send(self, *, to: str, data: Any, vault: str, tick_id: int | None = None, hedge_nonce: int | None = None,
             fees: Fees | None = None, wait: bool = True, note: str | None = None) -> SendResult:
        with self._lock:
            gas = self.simulate(to, data)
            fees = fees or self.rpc.call(lambda w3: suggest_fees(w3, self.policy.fees))
            balance = self.rpc.call(lambda w3: _uint(w3.eth.get_balance(self.signer.address), "balance"))
            if balance < gas * fees.max_fee:
                raise InsufficientGasFunds(
                    f"{self.signer.address} holds {balance / 1e18:.6f} ETH, needs {gas * fees.max_fee / 1e18:.6f} for gas"
                )
            chain_id = self.rpc.call(self._chain_id)
            nonce = self.next_nonce()
            if self.stop_requested.is_set():  # SIGTERM mid-tick: nothing new is signed
                raise ShuttingDown("stop requested before signing: nothing was signed")
            record = self._sign_and_journal(to=to, data=data, gas=gas, nonce=nonce, fees=fees, vault=vault,
                                            tick_id=tick_id, hedge_nonce=hedge_nonce, chain_id=chain_id, note=note)
            sent_at = time.monotonic()
            _failpoint("after-journal")
            self.broadcast(record)
            _failpoint("after-broadcast")
            if not wait:
                return SendResult(record.hash, "pending", None, None, None, 0, None)
            return self._await(record, to=to, data=data, gas=gas, fees=fees, chain_id=chain_id, sent_at=sent_at)

    def _await(self, record: TxRecord, *, to: str, data: Any, gas: int, fees: Fees, chain_id: int,
               sent_at: float) -> SendResult:
        """Wait for any of this nonce's transactions; bump fees when stuck; confirm at depth."""
        deadline = sent_at + self.policy.receipt_timeout_seconds
        next_bump = sent_at + self.policy.bump_after_seconds
        hashes = [record.hash]
        while time.monotonic() < deadline:
            for h in reversed(hashes):
                receipt = self._receipt(h)
                if receipt is not None:
                    for other in hashes:
                        if other != h:
                            self.journal.set_status(other, "replaced")
                    return self._confirm(h, receipt, len(hashes) - 1, time.monotonic() - sent_at)
            if self.stop_requested.is_set():
                break  # shutting down: the journal holds the pending record for the next start
            if time.monotonic() >= next_bump:
                try:
                    fees = fees.bumped(self.policy.fees.max_fee_cap)
                except FeeCapExceeded as exc:
                    log.warning("fee cap reached, waiting", extra={"error": str(exc)})
                    next_bump = deadline
                    continue
                replacement = self._sign_and_journal(
                    to=to, data=data, gas=gas, nonce=record.nonce, fees=fees, vault=record.vault,
                    tick_id=record.tick_id, hedge_nonce=record.hedge_nonce, chain_id=chain_id, note="fee bump",
                )
                try:
                    self.broadcast(replacement)
                    hashes.append(replacement.hash)
                except (NonceTaken, TransactionRejected):
                    pass  # journalled by broadcast; e.g. the original was just mined: the loop sees it
                except ChainUnavailable:
                    hashes.append(replacement.hash)  # it may have reached a node: watch it too
                next_bump = time.monotonic() + self.policy.bump_after_seconds
            time.sleep(self.policy.poll_seconds)
        return SendResult(hashes[-1], "pending", None, None, None, len(hashes) - 1, None)

    def bump_stuck(self) -> list[TxRecord]:
        """Replace open transactions that have waited longer than `bump_after_seconds` since
        their newest version was signed (e.g. found at start, signed by an earlier process):
        the same call, nonce and gas, each fee field up by 12.5% or to the network's current
        suggestion, whichever is higher, within the cap. Returns the replacements broadcast."""
        replacements = []
        with self._lock:
            nonces = sorted({t.nonce for t in self.journal.open_txs(self.signer.address)})
            for nonce in nonces:
                versions = self.journal.txs_with_nonce(self.signer.address, nonce)
                if any(v.status == "mined" for v in versions):
                    continue  # in a block already: waiting for depth, not for fees
                live = [v for v in versions if v.status in ("signed", "sent", "replaced")]
                if not live:
                    continue
                newest = max(live, key=lambda v: (v.max_fee, v.id))
                if time.time() - newest.created < self.policy.bump_after_seconds:
                    continue
                try:
                    fees = Fees(newest.max_fee, newest.priority_fee).bumped(self.policy.fees.max_fee_cap)
                    now = self.rpc.call(lambda w3: suggest_fees(w3, self.policy.fees))
                    fees = Fees(max(fees.max_fee, now.max_fee), max(fees.priority_fee, now.priority_fee))
                except FeeCapExceeded as exc:
                    log.warning("stuck transaction: fee cap reached, waiting", extra={"hash": newest.hash, "error": str(exc)})
                    continue
                tx = TypedTransaction.from_bytes(HexBytes(newest.raw)).as_dict()
                replacement = self._sign_and_journal(
                    to=Web3.to_checksum_address(tx["to"]), data="0x" + bytes(tx["data"]).hex(), gas=int(tx["gas"]),
                    nonce=nonce, fees=fees, vault=newest.vault, tick_id=newest.tick_id, hedge_nonce=newest.hedge_nonce,
                    chain_id=int(tx["chainId"]), note=f"fee bump of {newest.hash}",
                )
                log.info("stuck transaction re-sent with higher fees", extra={
                    "hash": replacement.hash, "replaces": newest.hash, "nonce": nonce, "max_fee_gwei": fees.max_fee / GWEI})
                try:
                    self.broadcast(replacement)
                except (NonceTaken, TransactionRejected):
                    continue  # journalled by broadcast
                replacements.append(replacement)
        return replacements

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self.rpc.call(_receipt_of(tx_hash))
        except ChainUnavailable:
            return None

    def _confirm(self, tx_hash: str, receipt: Any, replacements: int, waited: float) -> SendResult:
        status = "confirmed" if receipt["status"] == 1 else "failed"
        block = int(receipt["blockNumber"])
        self.journal.set_status(tx_hash, "mined", block=block)
        target = block + self.policy.confirmations - 1
        while self.rpc.call(lambda w3: w3.eth.block_number) < target:
            if self.stop_requested.is_set():
                return SendResult(tx_hash, "pending", block, None, None, replacements, waited)
            time.sleep(self.policy.poll_seconds)
        again = self._receipt(tx_hash)
        if again is None or again["blockHash"] != receipt["blockHash"]:
            # Reorged out (or moved): not final; reconcile will rebroadcast or see the new block.
            self.journal.set_status(tx_hash, "sent", note="reorged out before confirmation")
            return SendResult(tx_hash, "pending", None, None, None, replacements, waited)
        self.journal.set_status(tx_hash, status, block=block, gas_used=int(receipt["gasUsed"]),
                                effective_gas_price=int(receipt.get("effectiveGasPrice", 0)))
        return SendResult(tx_hash, status, block, int(receipt["gasUsed"]), int(receipt.get("effectiveGasPrice", 0)),
                          replacements, waited)


# ---------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class ReconcileReport:
    confirmed: int = 0
    failed: int = 0
    dropped: int = 0
    rebroadcast: int = 0
    still_pending: int = 0
    rejected: int = 0


def settle_refusal(rpc: RpcClient, journal: Journal, record: TxRecord, exc: Exception) -> str:
    """A node answered `send_raw_transaction(record)` with an error: what does the chain say?

    Returns and journals one of: `sent` (the node already has it, or it is mined), `replaced`
    (another version of ours with this nonce is mined), `dropped` (a foreign transaction used the
    nonce) or `rejected` (the nonce is unused and the node neither takes nor holds it: final, so
    the keeper is not stuck waiting for a transaction no node holds).
    """
    text = str(exc).lower()
    # A node may refuse a transaction it already holds for another reason first (Anvil: "max fee
    # per gas less than block base fee" for a pooled one): ask it by hash before concluding.
    if any(hint in text for hint in POOLED_HINTS) or rpc.call(lambda w3: _knows_transaction(w3, record.hash)):
        journal.set_status(record.hash, "sent")
        return "sent"
    latest, _ = rpc.call(lambda w3: account_nonces(w3, record.sender))
    if record.nonce < latest:
        for version in journal.txs_with_nonce(record.sender, record.nonce):
            if rpc.call(_receipt_of(version.hash)) is not None:
                status = "sent" if version.hash == record.hash else "replaced"
                journal.set_status(record.hash, status)
                return status
        journal.set_status(record.hash, "dropped", note="nonce used by another transaction")
        log.warning("nonce taken by another transaction", extra={"hash": record.hash, "nonce": record.nonce})
        return "dropped"
    journal.set_status(record.hash, "rejected", note=_short(exc))
    log.warning("transaction rejected by the node", extra={"hash": record.hash, "error": _short(exc)})
    return "rejected"


def reconcile(rpc: RpcClient, journal: Journal, sender: str, confirmations: int = 1) -> ReconcileReport:
    """Settle every open journal entry against the chain before the keeper does anything new.

    Per nonce: a mined transaction wins and its siblings are `replaced`; if none is mined and the
    account's nonce has moved past it, something else used it (`dropped`); otherwise the
    highest-fee version is rebroadcast (a no-op if the node still has it).
    """
    counts = dict(confirmed=0, failed=0, dropped=0, rebroadcast=0, still_pending=0, rejected=0)
    by_nonce: dict[int, list[TxRecord]] = {}
    for tx in journal.open_txs(sender):
        if tx.nonce not in by_nonce:
            by_nonce[tx.nonce] = journal.txs_with_nonce(sender, tx.nonce)
    if not by_nonce:
        return ReconcileReport()
    latest_nonce, _ = rpc.call(lambda w3: account_nonces(w3, sender))
    head = rpc.call(lambda w3: _uint(w3.eth.block_number, "block number"))
    for nonce, txs in sorted(by_nonce.items()):
        mined = None
        for tx in txs:
            receipt = rpc.call(_receipt_of(tx.hash))
            if receipt is not None:
                mined = (tx, receipt)
                break
        if mined:
            tx, receipt = mined
            deep = head - int(receipt["blockNumber"]) + 1 >= confirmations
            status = ("confirmed" if receipt["status"] == 1 else "failed") if deep else "mined"
            journal.set_status(tx.hash, status, block=int(receipt["blockNumber"]), gas_used=int(receipt["gasUsed"]),
                               effective_gas_price=int(receipt.get("effectiveGasPrice", 0)))
            for other in txs:
                if other.hash != tx.hash and other.status in ("signed", "sent", "mined"):
                    journal.set_status(other.hash, "replaced")
            counts["confirmed" if receipt["status"] == 1 else "failed"] += 1
        elif nonce < latest_nonce:
            for tx in txs:
                journal.set_status(tx.hash, "dropped", note="nonce used by another transaction")
            counts["dropped"] += 1
        else:
            best = max((t for t in txs if t.status != "rejected"), key=lambda t: (t.max_fee, t.id))
            try:
                rpc.call(_send_raw(best.raw))
                journal.set_status(best.hash, "sent")
                counts["rebroadcast"] += 1
            except Web3RPCError as exc:
                outcome = settle_refusal(rpc, journal, best, exc)
                if outcome in ("dropped", "rejected"):  # no version of this nonce can land any more
                    for tx in txs:
                        if tx.hash != best.hash and tx.status in OPEN_STATUSES:
                            journal.set_status(tx.hash, outcome, note=f"{outcome} with its version {best.hash}")
                    counts[outcome] += 1
                else:  # "already known" and friends: it is pending (or a version just got mined)
                    counts["still_pending"] += 1
    return ReconcileReport(**counts)


def recheck_final(rpc: RpcClient, journal: Journal, sender: str, window_blocks: int) -> list[TxRecord]:
    """Reopen final transactions that a reorg took out of the chain.

    Every `confirmed`/`failed` transaction mined within the last `window_blocks` blocks is looked
    up again by hash. If the node no longer has a receipt, a reorg removed its block: it goes back
    to `sent`, and `reconcile` then rebroadcasts the same signed bytes (or sees its nonce taken),
    so the keeper neither forgets it nor decides again while it may still land. If it now sits in
    another block, it goes back to `mined` until that block is deep enough. Returns the reopened.
    """
    head = rpc.call(lambda w3: _uint(w3.eth.block_number, "block number"))
    reopened = []
    for tx in journal.final_txs_since(sender, head - window_blocks):
        receipt = rpc.call(_receipt_of(tx.hash))
        if receipt is None:
            journal.set_status(tx.hash, "sent", note=f"reorged out of block {tx.block}")
        elif int(receipt["blockNumber"]) != tx.block:
            journal.set_status(tx.hash, "mined", block=int(receipt["blockNumber"]),
                               note=f"moved from block {tx.block} by a reorg")
        else:
            continue
        log.warning("transaction reorged out", extra={"hash": tx.hash, "block": tx.block, "nonce": tx.nonce,
                                                      "still_mined": receipt is not None})
        reopened.append(tx)
    return reopened


# ---------------------------------------------------------------------------- the vault


@dataclass
class VaultClient:
    """Reads the vault's snapshot in one call and builds its rebalance transaction."""

    rpc: RpcClient
    vault: str
    lens: str
    adapter: str | None = None

    def __post_init__(self) -> None:
        from keeper.abi import load_abi

        w3 = Web3()
        self._lens = w3.eth.contract(abi=load_abi("VaultLens"))
        self._vault = w3.eth.contract(abi=load_abi("HedgeVault"))
        self._adapter = w3.eth.contract(abi=load_abi("UniswapV2Adapter"))
        self._snapshot_abi = next(f for f in load_abi("VaultLens") if f.get("name") == "riskSnapshot")["outputs"][0]
        self._snapshot_call = self._lens.encode_abi("riskSnapshot", [Web3.to_checksum_address(self.vault)])

    def snapshot_raw(self) -> dict[str, Any]:
        lens = Web3.to_checksum_address(self.lens)
        raw = self.rpc.call(lambda w3: w3.eth.call({"to": lens, "data": self._snapshot_call}, "latest"))
        return self._decode_snapshot(raw)

    def snapshot(self) -> Snapshot:
        """The parsed snapshot. Decoding and the consistency checks run inside the RPC call: a
        node that answers garbage or a self-contradicting snapshot is failed over like a dead one."""
        lens = Web3.to_checksum_address(self.lens)

        def read(w3: Web3) -> Snapshot:
            raw = w3.eth.call({"to": lens, "data": self._snapshot_call}, "latest")
            try:
                return parse(self._decode_snapshot(raw))
            except Exception as exc:  # eth_abi's decoding errors, SnapshotError, a missing field
                raise ImplausibleReply(f"riskSnapshot: {_short(exc)}") from None

        return self.rpc.call(read)

    def _decode_snapshot(self, raw: bytes) -> dict[str, Any]:
        (decoded,) = abi_decode([_abi_type(self._snapshot_abi)], raw)
        return as_dict(self._snapshot_abi["components"], decoded)

    def expected_quote(self, buy_base: bool, size_wad: int) -> int:
        """What the pool would take (buy) or give (sell) for `size_wad` base right now."""
        fn = "quoteInForBaseOut" if buy_base else "quoteOutForBaseIn"
        adapter = Web3.to_checksum_address(self.adapter or "")
        data = self._adapter.encode_abi(fn, [size_wad])

        def read(w3: Web3) -> int:
            raw = w3.eth.call({"to": adapter, "data": data}, "latest")
            if len(raw) != 32:
                raise ImplausibleReply(f"{fn}: {len(raw)} bytes, expected one uint256")
            return int.from_bytes(raw, "big")

        return self.rpc.call(read)

    def oracle_quote(self, buy_base: bool, size_wad: int, spot_wad: int) -> int:
        """`atOracle` from the adapter's `quoteTrade`: the trade's oracle value with the venue fee and
        its own impact at the pool's depth, from which the vault computes its execution bound."""
        adapter = Web3.to_checksum_address(self.adapter or "")
        data = self._adapter.encode_abi("quoteTrade", [size_wad, spot_wad, buy_base])

        def read(w3: Web3) -> int:
            raw = w3.eth.call({"to": adapter, "data": data}, "latest")
            if len(raw) != 96:
                raise ImplausibleReply(f"quoteTrade: {len(raw)} bytes, expected three uint256")
            return int.from_bytes(raw[64:96], "big")

        return self.rpc.call(read)

    def rebalance_data(self, target_wad: int, limit_quote: int, deadline: int, expected_nonce: int) -> str:
        return self._vault.encode_abi("rebalance", [target_wad, limit_quote, deadline, expected_nonce])

    def update_margin_data(self) -> str:
        return self._vault.encode_abi("updateMarginState", [])


def keeper_limit(expected_quote: int, buy_base: bool, tolerance_bps: int) -> int:
    """The keeper's own bound, tighter than the contract's: the pool's current quote plus a
    small tolerance. A sandwich that moves the price more than that makes the trade revert."""
    if buy_base:
        return expected_quote * (10_000 + tolerance_bps) // 10_000 + 1
    return expected_quote * (10_000 - tolerance_bps) // 10_000


def _abi_type(spec: dict) -> str:
    if spec["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in spec["components"]) + ")" + spec["type"][5:]
    return spec["type"]
