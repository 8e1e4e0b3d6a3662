"""The keeper bot against a real Anvil with the deployed stack (issue: keeper bot, Must show)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from prometheus_client import generate_latest

from keeper.localchain import free_port, rpc_call

from keeper_helpers import KEEPER_KEY, SECOND_KEEPER_KEY, write_config, written_book

WAD = 10**18


def run_until_hold(service, max_ticks: int = 8) -> list:
    """Tick until the keeper holds (as an operator's loop would, without the back-off waits)."""
    decisions = []
    for _ in range(max_ticks):
        for r in service.runners:
            r.next_allowed = 0.0
        [d] = service.tick_all()
        decisions.append(d)
        if d is None or d.action is None:
            break
    return decisions


def _wait_until_mined(market, address: str, timeout: float = 60) -> None:
    """Anvil answers a broadcast before it mines it: wait until everything `address` sent is in a block."""
    deadline = time.monotonic() + timeout
    while market.w3.eth.get_transaction_count(address, "pending") > market.w3.eth.get_transaction_count(address):
        assert time.monotonic() < deadline, f"{address}'s transactions still pending after {timeout}s"
        time.sleep(0.05)


def sent(service) -> list:
    return service.journal.all_txs()


def move(market, price: float) -> None:
    market.set_price(price)
    market.arbitrage_to_oracle()


def test_keeper_holds_delta_in_band_through_a_price_path_and_idles_inside_it(market, accounts, make_service):
    written_book(market, accounts, calls=10, puts=5)
    service = make_service()
    policy = service.runners[0].ctx.policy  # the default: the Whalley-Wilmott band, capped
    assert policy.name == "whalley-wilmott"
    band = policy.max_half_width_base  # its band moves with gamma, never wider than this
    path = [3000, 3120, 3260, 3180, 2990, 2850, 2900, 3050]
    for step, price in enumerate(path):
        move(market, price)
        market.advance(600)  # past minRebalanceInterval
        market.refresh_oracles()
        if step == 3:
            market.buy(accounts[8], 1, 3)  # more calls written mid-path
        decisions = run_until_hold(service)
        snap = service.runners[0].last_snapshot
        assert decisions[-1].action is None, decisions[-1].reason
        assert "inside band" in decisions[-1].reason  # the policy held, not the vault
        assert abs(snap.net_delta) <= band + 1e-9, (price, snap.net_delta)

    # Inside the band the keeper does nothing: no transaction, hedge nonce unchanged.
    before = (len(sent(service)), market.hedge_nonce())
    for _ in range(3):
        [d] = service.tick_all()
        assert d.action is None
    assert (len(sent(service)), market.hedge_nonce()) == before
    hedges = [t for t in sent(service) if t.status == "confirmed"]
    assert len(hedges) == market.hedge_nonce() >= 2


@pytest.mark.parametrize("failpoint", ["after-journal", "after-broadcast"])
def test_a_killed_keeper_restarts_without_a_duplicate(market, accounts, chain, tmp_path, failpoint):
    node, deployment = chain
    written_book(market, accounts, calls=10)
    cfg = write_config(tmp_path / "crash.toml", [node.url], deployment.path)
    env = {**os.environ, "HV_KEEPER_KEY": KEEPER_KEY, "HV_FAILPOINT": failpoint}
    hv = [str(Path(sys.prefix) / "bin" / "hv"), "keeper", "once", "--config", str(cfg)]
    crashed = subprocess.run(hv, env=env, capture_output=True, text=True, timeout=300)
    assert crashed.returncode == 86, crashed.stderr  # died at the failpoint
    _wait_until_mined(market, Account.from_key(KEEPER_KEY).address)  # what it broadcast, if anything
    nonce_after_crash = market.hedge_nonce()
    assert nonce_after_crash == (1 if failpoint == "after-broadcast" else 0)

    env.pop("HV_FAILPOINT")
    restarted = subprocess.run(hv, env=env, capture_output=True, text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr + restarted.stdout
    assert '"msg": "journal reconciled"' in restarted.stderr
    from keeper.journal import Journal

    journal = Journal(tmp_path / "crash.sqlite")
    txs = journal.all_txs()
    journal.close()
    # The crashed transaction landed exactly once (rebroadcast or recognised), nothing doubled:
    # every journalled hedge nonce is distinct and the vault's nonce counts them.
    assert all(t.status in ("confirmed", "replaced") for t in txs), [(t.status, t.note) for t in txs]
    confirmed = [t.hedge_nonce for t in txs if t.status == "confirmed"]
    assert len(confirmed) == len(set(confirmed)) == market.hedge_nonce()
    assert confirmed[0] == 0


def test_first_rpc_url_dead_keeper_works_through_the_second_and_reports_it(market, accounts, chain, make_service):
    node, _ = chain
    written_book(market, accounts, calls=10)
    dead = f"http://127.0.0.1:{free_port()}"
    service = make_service(urls=[dead, node.url])
    [d] = service.tick_all()
    assert d is not None and d.action is not None
    assert market.hedge_nonce() == 1
    metrics = generate_latest(service.metrics.registry).decode()
    assert f'hv_rpc_errors_total{{url="{dead}"}}' in metrics


def _assert_nothing_sent_then_recovers(service, market, fault_outcome: str, fix) -> None:
    [d] = service.tick_all()
    assert market.hedge_nonce() == 0
    assert not [t for t in sent(service) if t.status == "confirmed"]
    metrics = generate_latest(service.metrics.registry).decode()
    assert fault_outcome in metrics, metrics
    fix()
    decisions = run_until_hold(service)
    assert market.hedge_nonce() >= 1, [x.reason for x in decisions if x]


def test_stale_oracle_sends_nothing_and_recovers(market, accounts, make_service):
    written_book(market, accounts, calls=10)
    market.advance(2 * 3600)  # past the price heartbeat
    service = make_service()
    [d] = service.tick_all()
    assert d.action is None and "oracle failed" in d.reason
    assert market.hedge_nonce() == 0 and sent(service) == []
    market.refresh_oracles()
    run_until_hold(service)
    assert market.hedge_nonce() >= 1


def test_paused_vault_sends_nothing_and_recovers(market, accounts, make_service):
    written_book(market, accounts, calls=10)
    market.pause()
    service = make_service()
    [d] = service.tick_all()
    assert d.action is None and "paused" in d.reason and sent(service) == []
    market.unpause()
    market.refresh_oracles()
    run_until_hold(service)
    assert market.hedge_nonce() >= 1


def test_reverted_simulation_sends_nothing_and_recovers(market, accounts, make_service):
    written_book(market, accounts, calls=10)
    service = make_service()
    market.set_price(3300)  # the pool still trades near 3000: beyond the DEX deviation guard
    _assert_nothing_sent_then_recovers(
        service, market, 'hv_failed_simulations_total{reason="DexPriceDeviation",vault="eth"} 1.0',
        fix=market.arbitrage_to_oracle,
    )


def test_insufficient_gas_funds_sends_nothing_and_recovers(market, accounts, make_service):
    written_book(market, accounts, calls=10)
    keeper = Account.from_key(KEEPER_KEY).address
    rpc_call(market.url, "anvil_setBalance", [keeper, hex(10**12)])
    service = make_service()
    _assert_nothing_sent_then_recovers(
        service, market, 'hv_ticks_total{outcome="InsufficientGasFunds",vault="eth"} 1.0',
        fix=lambda: rpc_call(market.url, "anvil_setBalance", [keeper, hex(10**20)]),
    )


def test_dry_run_decides_and_simulates_but_never_sends(market, accounts, make_service):
    written_book(market, accounts, calls=10)
    service = make_service(dry_run=True)
    [d] = service.tick_all()
    assert d.action is not None
    assert sent(service) == [] and market.hedge_nonce() == 0


def test_two_keepers_on_one_vault_never_double_hedge(market, accounts, make_service):
    written_book(market, accounts, calls=12)
    market.grant_keeper(Account.from_key(SECOND_KEEPER_KEY).address)
    market.refresh_oracles()
    a = make_service("a", KEEPER_KEY)
    b = make_service("b", SECOND_KEEPER_KEY)
    start = threading.Barrier(2)
    results = {}

    def run(name, service):
        start.wait()
        results[name] = service.tick_all()

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    landed = [t for s in (a, b) for t in sent(s) if t.status == "confirmed"]
    nonces = [t.hedge_nonce for t in landed]
    assert len(nonces) == len(set(nonces)) == market.hedge_nonce()
    assert market.hedge_nonce() >= 1


def test_keeper_run_serves_health_and_metrics_hedges_and_stops_on_sigterm(market, accounts, chain, tmp_path):
    import json
    import signal
    import urllib.request

    node, deployment = chain
    written_book(market, accounts, calls=10)
    port = free_port()
    cfg = write_config(tmp_path / "run.toml", [node.url], deployment.path, metrics_port=port,
                       health_max_age_seconds=30)
    env = {**os.environ, "HV_KEEPER_KEY": KEEPER_KEY}
    proc = subprocess.Popen([str(Path(sys.prefix) / "bin" / "hv"), "keeper", "run", "--config", str(cfg)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    health = json.loads(r.read())
                if market.hedge_nonce() >= 1:
                    break
            except OSError:  # not listening yet, or too slow to answer (URLError, ConnectionError, TimeoutError)
                pass
            time.sleep(0.3)
        assert health is not None and health["ok"] is True
        assert market.hedge_nonce() >= 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            metrics = r.read().decode()
        assert 'hv_net_delta_base{vault="eth"}' in metrics and 'hv_hedges_total{vault="eth"}' in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert '"msg": "keeper stopped"' in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["msg"] == "tick" and line["decision"] == "rebalance" for line in lines)
