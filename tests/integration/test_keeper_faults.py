"""Keeper faults against a real Anvil with the deployed stack (issue: adversarial and fault suite).

Each test injects one fault, checks that the keeper sends nothing it could not verify, backs off
and says so (metrics, logs), and then recovers; each would fail if its defence were removed
(docs/KEEPER.md, Faults, names the defence). RPC faults go through `rpc_proxy.RpcProxy`, a
loopback JSON-RPC proxy in front of Anvil; reorgs use Anvil's own `anvil_reorg`; the disk-full
and SIGTERM tests run `hv keeper run` as a process.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from keeper_helpers import KEEPER_KEY, metric, write_config, written_book
from rpc_proxy import RpcProxy

from keeper.abi import load_abi
from keeper.chain import GWEI, RpcClient, VaultClient, _abi_type
from keeper.journal import Journal
from keeper.localchain import free_port, rpc_call
from keeper.snapshot import parse

KEEPER = Account.from_key(KEEPER_KEY).address
HV = str(Path(sys.prefix) / "bin" / "hv")


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def proxy(chain):
    node, _ = chain
    with RpcProxy(node.url) as p:
        yield p


def wait_out_backoff(service) -> None:
    """Sleep until every vault may tick again (the back-off is real time, and short here)."""
    for r in service.runners:
        time.sleep(max(r.next_allowed - time.monotonic(), 0.0) + 0.01)


def tick_until_hold(service, max_ticks: int = 6) -> list:
    decisions = []
    for _ in range(max_ticks):
        wait_out_backoff(service)
        [d] = service.tick_all()
        decisions.append(d)
        if d is not None and d.action is None and not d.reason.startswith("waiting for pending"):
            break
    return decisions


def keeper_nonce(market, block: str = "latest") -> int:
    return market.w3.eth.get_transaction_count(KEEPER, block)


def uint_result(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def assert_nothing_sent(service, market, proxy) -> None:
    assert service.journal.all_txs() == [], [(t.status, t.nonce, t.note) for t in service.journal.all_txs()]
    assert proxy.calls["eth_sendRawTransaction"] == 0
    assert market.hedge_nonce() == 0 and keeper_nonce(market, "pending") == 0


def assert_backed_off(service, proxy) -> None:
    """A tick inside the back-off window does nothing at all, not even a read."""
    [r] = service.runners
    assert r.next_allowed > time.monotonic()
    before = sum(proxy.calls.values())
    assert service.tick_all() == [None]
    assert sum(proxy.calls.values()) == before


# ---------------------------------------------------------------------------- RPC garbage


def _to(params: list) -> str:
    return str(params[0].get("to", "")).lower() if params and isinstance(params[0], dict) else ""


GARBAGE = {
    # the snapshot read: a truncated JSON body, then bytes that are no riskSnapshot
    "snapshot-malformed-json": ("eth_call", dict(kind="malformed")),
    "snapshot-undecodable": ("eth_call", dict(kind="result", value="0x1234")),
    # wrong types and absurd values where the keeper reads numbers it signs with
    "nonce-wrong-type": ("eth_getTransactionCount", dict(kind="result", value="lots")),
    "nonce-absurd": ("eth_getTransactionCount", dict(kind="result", value=hex(2**70))),
    "gas-estimate-absurd": ("eth_estimateGas", dict(kind="result", value="0x1")),
    "fee-history-malformed": ("eth_feeHistory", dict(kind="malformed")),
    "balance-wrong-type": ("eth_getBalance", dict(kind="result", value={"wei": 10**30})),
    "chain-id-of-another-chain": ("eth_chainId", dict(kind="result", value="0x1")),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_garbage_from_the_rpc_mid_tick_sends_nothing_backs_off_alerts_and_recovers(case, market, accounts, proxy,
                                                                                   make_service):
    method, fault = GARBAGE[case]
    written_book(market, accounts, calls=10)
    service = make_service(urls=[proxy.url])
    proxy.fault(method, **fault)

    assert service.tick_all() == [None]
    assert proxy.hits(method) >= 1  # the fault was met mid-tick
    assert_nothing_sent(service, market, proxy)
    assert metric(service, "hv_rpc_errors_total", url=proxy.url) >= 1
    assert metric(service, "hv_ticks_total", vault="eth", outcome="rpc_unavailable") == 1
    assert_backed_off(service, proxy)

    proxy.clear()
    tick_until_hold(service)
    assert market.hedge_nonce() >= 1
    assert metric(service, "hv_ticks_total", vault="eth", outcome="rebalance") >= 1
    assert all(t.status == "confirmed" for t in service.journal.all_txs())


def test_a_lost_reply_to_send_raw_transaction_is_reconciled_not_sent_twice(market, accounts, proxy, make_service):
    written_book(market, accounts, calls=10)
    service = make_service(urls=[proxy.url])
    proxy.fault("eth_sendRawTransaction", "forward_then_malformed", times=1)  # the node took it

    assert service.tick_all() == [None]
    [tx] = service.journal.all_txs()
    assert tx.status == "signed"  # journalled before the broadcast; the broadcast's fate unknown
    # ... but the node took it. (Anvil answers a broadcast before it mines it: wait for the block.)
    market.w3.eth.wait_for_transaction_receipt(tx.hash, timeout=60)
    assert market.hedge_nonce() == 1
    assert metric(service, "hv_ticks_total", vault="eth", outcome="rpc_unavailable") == 1

    decisions = tick_until_hold(service)
    assert decisions[-1] is not None and decisions[-1].action is None
    [again] = service.journal.all_txs()
    assert (again.hash, again.status) == (tx.hash, "confirmed")
    assert proxy.calls["eth_sendRawTransaction"] == 1  # recognised as landed: never re-sent
    assert market.hedge_nonce() == 1 and keeper_nonce(market) == 1


def test_an_rpc_that_hangs_mid_tick_costs_one_timeout_then_the_next_url_serves(market, accounts, chain, proxy,
                                                                               make_service):
    node, _ = chain
    written_book(market, accounts, calls=10)
    # The timeout is short next to the hang but long enough that no healthy call on a busy machine
    # reaches it (with 1 s, a slow answer from the node itself counted as a second failure).
    service = make_service(urls=[proxy.url, node.url], rpc_timeout_seconds=5)
    hang = 600
    proxy.fault("eth_estimateGas", "hang", seconds=hang)  # every estimate through the proxy hangs

    started = time.monotonic()
    [d] = service.tick_all()
    elapsed = time.monotonic() - started
    assert d is not None and d.action is not None
    assert proxy.hits("eth_estimateGas") == 1  # one timeout, no retries on the hanging node (web3 retries 5 times)
    assert elapsed < hang / 4, f"tick took {elapsed:.0f}s: it waited for the hanging node, not for its 5s RPC timeout"
    assert metric(service, "hv_rpc_errors_total", url=proxy.url) == 1
    assert market.hedge_nonce() == 1
    [tx] = service.journal.all_txs()
    assert tx.status == "confirmed"


def test_an_absurd_pool_quote_is_refused_before_signing(market, accounts, chain, proxy, make_service):
    _, deployment = chain
    adapter = deployment.address("swap_adapter").lower()
    written_book(market, accounts, calls=10)  # short calls: the hedge buys base
    service = make_service(urls=[proxy.url])
    # The pool "asks" ten times its price: with it the keeper's own limit would exceed the
    # contract's bound, which would then be the only guard left against a sandwich.
    proxy.fault("eth_call", "transform", match=lambda p: _to(p) == adapter,
                fn=lambda result, params: uint_result(int(result, 16) * 10))

    assert service.tick_all() == [None]
    assert proxy.hits("eth_call") == 1
    assert_nothing_sent(service, market, proxy)
    assert metric(service, "hv_failed_simulations_total", vault="eth", reason="PoolQuoteOutsideBound") == 1

    proxy.clear()
    tick_until_hold(service)
    assert market.hedge_nonce() >= 1


def _tamper_snapshot(result: str, field: str, delta: int) -> str:
    spec = next(f for f in load_abi("VaultLens") if f.get("name") == "riskSnapshot")["outputs"][0]
    typ = _abi_type(spec)
    (values,) = abi_decode([typ], bytes.fromhex(result[2:]))
    names = [c["name"] for c in spec["components"]]
    values = list(values)
    values[names.index(field)] += delta
    return "0x" + abi_encode([typ], [tuple(values)]).hex()


def test_a_self_contradicting_snapshot_fails_over_to_the_next_url(market, accounts, chain, proxy, make_service):
    node, deployment = chain
    lens = deployment.address("vault_lens").lower()
    written_book(market, accounts, calls=10)
    truth = parse(VaultClient(RpcClient([node.url]), deployment.address("vault"),
                              deployment.address("vault_lens")).snapshot_raw())
    service = make_service(urls=[proxy.url, node.url])
    # Five base more net delta than base held minus holders' delta: not what VaultLens computes.
    proxy.fault("eth_call", "transform", match=lambda p: _to(p) == lens,
                fn=lambda result, params: _tamper_snapshot(result, "netDeltaWad", 5 * 10**18))

    [d] = service.tick_all()
    assert proxy.hits("eth_call") == 1
    assert d is not None and d.action is not None
    assert service.runners[0].last_snapshot.net_delta == truth.net_delta  # the node's, not the proxy's
    assert metric(service, "hv_net_delta_base", vault="eth") == truth.net_delta
    assert metric(service, "hv_rpc_errors_total", url=proxy.url) == 1
    assert market.hedge_nonce() == 1


# ---------------------------------------------------------------------------- nonces


def test_a_nonce_taken_between_simulation_and_broadcast_is_dropped_and_the_hedge_uses_the_next(
        market, accounts, proxy, make_service):
    written_book(market, accounts, calls=10)
    service = make_service(urls=[proxy.url])
    w3 = market.w3

    def another_process_uses_the_keeper_account(params: list) -> None:
        nonce = w3.eth.get_transaction_count(KEEPER, "pending")
        other = Account.from_key(KEEPER_KEY).sign_transaction(
            {"to": KEEPER, "value": 0, "gas": 21_000, "maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI,
             "nonce": nonce, "chainId": w3.eth.chain_id, "type": 2})
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(other.raw_transaction), timeout=60)

    proxy.fault("eth_sendRawTransaction", "before", fn=another_process_uses_the_keeper_account, times=1)
    assert service.tick_all() == [None]
    [tx] = service.journal.all_txs()
    assert (tx.nonce, tx.status) == (0, "dropped")
    assert market.hedge_nonce() == 0 and keeper_nonce(market) == 1  # only the other transaction
    assert metric(service, "hv_ticks_total", vault="eth", outcome="nonce_taken") == 1
    assert_backed_off(service, proxy)

    tick_until_hold(service)
    txs = service.journal.all_txs()
    assert [(t.nonce, t.status) for t in txs] == [(0, "dropped"), (1, "confirmed")]
    assert market.hedge_nonce() == 1 and keeper_nonce(market) == 2


def test_a_node_claiming_many_more_mined_transactions_than_the_journal_knows_is_not_believed(
        market, accounts, proxy, make_service):
    written_book(market, accounts, calls=10)
    service = make_service(urls=[proxy.url])
    tick_until_hold(service)
    assert market.hedge_nonce() == 1 and keeper_nonce(market) == 1
    market.set_price(3300)
    market.arbitrage_to_oracle()
    market.advance(600)
    market.refresh_oracles()
    # Mined and pending agree with each other, a million transactions past the journal's last.
    proxy.fault("eth_getTransactionCount", "transform", fn=lambda result, params: hex(int(result, 16) + 10**6))

    assert service.tick_all() == [None]
    assert len(service.journal.all_txs()) == 1  # nothing signed with the absurd nonce
    assert metric(service, "hv_ticks_total", vault="eth", outcome="rpc_unavailable") == 1

    proxy.clear()
    tick_until_hold(service)
    assert [t.nonce for t in service.journal.all_txs()] == [0, 1]
    assert market.hedge_nonce() == 2 and keeper_nonce(market) == 2


# ---------------------------------------------------------------------------- reorgs


@pytest.mark.parametrize("fate", ["vanished", "re-included"])
def test_a_reorg_that_takes_the_hedge_away_is_noticed_and_the_same_transaction_lands_once(
        fate, market, accounts, make_service):
    written_book(market, accounts, calls=10)
    service = make_service()
    [d] = service.tick_all()
    assert d.action is not None
    [tx] = service.journal.all_txs()
    assert tx.status == "confirmed" and market.hedge_nonce() == 1
    rpc_call(market.url, "evm_mine")  # one more block on top: the hedge is 2 deep
    head = market.w3.eth.block_number

    # The blocks from the hedge's on are replaced by empty ones: the hedge is no longer on chain.
    rpc_call(market.url, "anvil_reorg", [head - tx.block + 1, []])
    assert market.w3.eth.block_number == head
    assert market.hedge_nonce() == 0 and keeper_nonce(market) == 0
    if fate == "re-included":  # another node still had it: it lands again, in a later block
        market.w3.eth.wait_for_transaction_receipt(market.w3.eth.send_raw_transaction(tx.raw), timeout=60)
        assert market.hedge_nonce() == 1

    tick_until_hold(service)
    [again] = service.journal.all_txs()  # nothing new was signed: the same transaction, tracked
    assert (again.hash, again.status) == (tx.hash, "confirmed")
    receipt = market.w3.eth.get_transaction_receipt(tx.hash)
    assert again.block == receipt["blockNumber"] > tx.block
    assert market.hedge_nonce() == 1 and keeper_nonce(market) == 1
    assert metric(service, "hv_reorged_transactions_total") == 1


# ---------------------------------------------------------------------------- keeper processes


class KeeperProcess:
    """`hv keeper run` as a child process; stderr (JSON log lines) drained by a thread, so a
    full pipe never blocks the keeper and a file-size limit never touches its log."""

    def __init__(self, cfg: Path, port: int) -> None:
        env = {**os.environ, "HV_KEEPER_KEY": KEEPER_KEY, "PYTHONDONTWRITEBYTECODE": "1"}
        self.port = port
        self.proc = subprocess.Popen([HV, "keeper", "run", "--config", str(cfg)], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:  # not listening yet, or too slow to answer (URLError, ConnectionError, TimeoutError)
            return 0, ""

    def metric(self, line_start: str) -> float:
        _, text = self.get("/metrics")
        values = [float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(line_start)]
        return values[0] if values else 0.0

    def logs(self) -> list[dict]:
        return [json.loads(x) for x in self.lines if x.startswith("{")]

    def stop(self, timeout: float) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)
        return code, time.monotonic() - started


def wait_for(what: str, predicate, timeout: float, keeper: KeeperProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if keeper is not None and keeper.proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = "".join(keeper.lines[-10:]) if keeper else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_a_full_disk_under_the_journal_stops_all_sending_alerts_and_recovers(market, accounts, chain, tmp_path):
    """The kernel refuses the journal's writes (the running keeper's file-size limit is set to
    its journal's current size with prlimit: every append fails, as on a full disk)."""
    node, deployment = chain
    port = free_port()
    cfg = write_config(tmp_path / "full.toml", [node.url], deployment.path, metrics_port=port,
                       health_max_age_seconds=2)
    wal = tmp_path / "full.sqlite-wal"
    keeper = KeeperProcess(cfg, port)
    try:
        wait_for("a first good tick", lambda: keeper.get("/healthz")[0] == 200 and wal.exists(), 120, keeper)
        resource.prlimit(keeper.proc.pid, resource.RLIMIT_FSIZE, (max(wal.stat().st_size, 1), resource.RLIM_INFINITY))
        written_book(market, accounts, calls=10)  # now a hedge is due

        failed = 'hv_ticks_total{outcome="journal_error",vault="eth"}'
        wait_for("two ticks refused by the journal", lambda: keeper.metric(failed) >= 2, 90, keeper)
        wait_for("/healthz to turn 503", lambda: keeper.get("/healthz")[0] == 503, 60, keeper)
        assert market.hedge_nonce() == 0 and keeper_nonce(market, "pending") == 0  # nothing sent unjournalled

        resource.prlimit(keeper.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        wait_for("the hedge after space returns", lambda: market.hedge_nonce() == 1, 90, keeper)
        wait_for("/healthz to recover", lambda: keeper.get("/healthz")[0] == 200, 60, keeper)
    finally:
        code, _ = keeper.stop(timeout=60)
    assert code == 0, "".join(keeper.lines[-20:])
    refusals = [x for x in keeper.logs() if x["msg"] == "tick failed; nothing sent" and x["outcome"] == "journal_error"]
    assert refusals and "write failed" in refusals[0]["error"]
    journal = Journal(tmp_path / "full.sqlite")
    txs = journal.all_txs()
    journal.close()
    assert [(t.status, t.hedge_nonce) for t in txs] == [("confirmed", 0)]
    assert keeper_nonce(market) == 1


@pytest.fixture
def automine(chain):
    """Switch Anvil's automine; it is a node setting that evm_revert keeps, so the fixture turns it
    back on whatever happens."""
    node, _ = chain
    yield lambda on: rpc_call(node.url, "evm_setAutomine", [on])
    rpc_call(node.url, "evm_setAutomine", [True])


def _statuses(path: Path) -> list[str]:
    """The journal's statuses, or [] while it cannot be read (not created yet, or locked by a write)."""
    try:
        return [row[1] for row in journal_txs(path)]
    except sqlite3.Error:
        return []


def journal_txs(path: Path) -> list[tuple[str, str, int, int, int | None]]:
    """(hash, status, nonce, max fee, hedge nonce) of every journalled transaction, read-only
    while a keeper process may be writing (WAL)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT hash, status, nonce, max_fee, hedge_nonce FROM txs ORDER BY id").fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("fate", ["lost", "stuck"])
def test_sigterm_while_a_transaction_is_pending_exits_cleanly_and_the_restart_lands_it_once(
        fate, market, accounts, chain, automine, tmp_path):
    node, deployment = chain
    written_book(market, accounts, calls=10)
    automine(False)  # the hedge will wait in the pool
    port = free_port()
    receipt_wait = 600  # what a keeper that ignored SIGTERM would wait for the receipt (and for a bump)
    cfg = write_config(tmp_path / "term.toml", [node.url], deployment.path, metrics_port=port,
                       bump_after_seconds=receipt_wait, receipt_timeout_seconds=receipt_wait)
    keeper = KeeperProcess(cfg, port)
    try:
        wait_for("the hedge to be broadcast", lambda: keeper_nonce(market, "pending") == 1, 120, keeper)
        # journalled as sent after the broadcast returned: the keeper is now waiting for the receipt
        wait_for("the broadcast to be journalled", lambda: _statuses(tmp_path / "term.sqlite") == ["sent"], 60, keeper)
    finally:
        code, took = keeper.stop(timeout=receipt_wait / 2)
    assert code == 0, "".join(keeper.lines[-20:])
    assert took < receipt_wait / 4, f"SIGTERM took {took:.0f}s: the keeper waited for the receipt instead of stopping"
    assert any(x["msg"] == "keeper stopped" for x in keeper.logs())
    [(pending_hash, status, nonce, max_fee, hedge_nonce)] = journal_txs(tmp_path / "term.sqlite")
    assert (status, nonce, hedge_nonce) == ("sent", 0, 0)  # journalled, still open for the next start
    env = {**os.environ, "HV_KEEPER_KEY": KEEPER_KEY}
    once = [HV, "keeper", "once", "--config", str(cfg)]

    if fate == "lost":
        # While the keeper is down the node loses the transaction; then blocks resume.
        rpc_call(node.url, "anvil_dropAllTransactions")
        automine(True)
        assert keeper_nonce(market, "pending") == 0 and market.hedge_nonce() == 0
        restarted = subprocess.run(once, env=env, capture_output=True, text=True, timeout=300)
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        [report] = [json.loads(x)["report"] for x in restarted.stderr.splitlines()
                    if x.startswith("{") and json.loads(x)["msg"] == "journal reconciled"]
        assert report["rebroadcast"] == 1 and report["confirmed"] == 1
        assert journal_txs(tmp_path / "term.sqlite") == [(pending_hash, "confirmed", 0, max_fee, 0)]  # same bytes
    else:
        # While the keeper is down fees rise past what the transaction offers: the node holds it,
        # but no block will take it. The restarted keeper re-sends it with higher fees.
        rpc_call(node.url, "anvil_setNextBlockBaseFeePerGas", [hex(2 * max_fee)])
        write_config(tmp_path / "term.toml", [node.url], deployment.path, metrics_port=port,
                     bump_after_seconds=1, receipt_timeout_seconds=30)
        restarted = subprocess.Popen(once, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for("the restarted keeper to re-sign with higher fees",
                     lambda: len(journal_txs(tmp_path / "term.sqlite")) == 2, 120)
            rpc_call(node.url, "evm_mine")  # a block: only the replacement pays enough for it
            _, err = restarted.communicate(timeout=300)
        finally:
            if restarted.poll() is None:
                restarted.kill()
                restarted.communicate()
        assert restarted.returncode == 0, err[-2000:]
        [original, bumped] = journal_txs(tmp_path / "term.sqlite")
        assert original == (pending_hash, "replaced", 0, max_fee, 0)
        assert (bumped[1], bumped[2], bumped[4]) == ("confirmed", 0, 0) and bumped[3] > 2 * max_fee
    assert market.hedge_nonce() == 1 and keeper_nonce(market) == 1
