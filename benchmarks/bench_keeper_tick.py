"""Keeper tick latency: snapshot read -> Greeks -> policy -> cross-check -> simulate -> sign ->
journal -> transaction handed to the node, on a local Anvil, with 1, 8 and the maximum number of
live series. Each sample is a real rebalance from the same state (evm_snapshot / evm_revert).

    .venv/bin/python benchmarks/bench_keeper_tick.py [--samples 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402

from keeper.config import load  # noqa: E402
from keeper.deployer import deploy  # noqa: E402
from keeper.localchain import ANVIL_KEYS, LocalNode, rpc_call  # noqa: E402
from keeper.localmarket import LocalMarket  # noqa: E402

MARKET_ORDER = ("spreadBps", "maxLiveSeries", "minStrikeBps", "maxStrikeBps", "minExpirySeconds", "maxExpirySeconds",
                "minTimeToBuySeconds", "rateWad", "minBuyWad")


def raise_series_cap(m: LocalMarket, cap: int) -> None:
    params = list(m.market.functions.params().call())
    params[MARKET_ORDER.index("maxLiveSeries")] = cap
    m.govern(m.market, m.market.encode_abi("setMarketParams", [tuple(params)]))
    m.refresh_oracles()


def book_with(m: LocalMarket, n: int) -> None:
    """n live series, each with calls written, spread over strikes and expiries."""
    buyer = m.w3.eth.accounts[6]
    now = m.now()
    for i in range(n):
        strike = 2400 + 1200 * i / max(n - 1, 1)
        expiry = now + (7 + 4 * (i % 20)) * 86_400
        sid = m.list_series(round(strike), expiry, is_call=i % 4 != 3)
        m.buy(buyer, sid, 3.0 if i % 4 != 3 else 1.0)


def measure(service, node, samples: int) -> list[float]:
    runner = service.runners[0]
    times = []
    for _ in range(samples):
        snap_id = rpc_call(node.url, "evm_snapshot")
        runner.next_allowed = 0.0
        t0 = time.perf_counter()
        [decision] = service.tick_all()
        elapsed = time.perf_counter() - t0
        assert decision is not None and decision.action is not None, decision and decision.reason
        times.append(elapsed)
        # Let Anvil mine it before reverting, or the mining could land after the revert.
        [tx] = service.journal.all_txs()
        service.rpc.call(lambda w3: w3.eth.wait_for_transaction_receipt(tx.hash, timeout=30))
        rpc_call(node.url, "evm_revert", [snap_id])
        service.journal._db.execute("DELETE FROM txs")  # the reverted chain never saw it
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    from keeper.service import KeeperService

    rows = []
    for n in (1, 8, 32):
        with LocalNode() as node, tempfile.TemporaryDirectory() as tmp:
            keeper = Account.from_key(ANVIL_KEYS[1]).address
            d = deploy(node.url, f"{tmp}/bench.json", ANVIL_KEYS[0],
                       extra_env={"HV_KEEPER": keeper, "HV_TIMELOCK_DELAY": "60"}).deployment
            m = LocalMarket(node.url, d)
            m.deposit(m.w3.eth.accounts[5], 5_000_000)
            if n > 8:
                raise_series_cap(m, n)
            book_with(m, n)
            m.refresh_oracles()
            cfg = Path(tmp) / "k.toml"
            cfg.write_text(f'[keeper]\nrpc_urls = ["{node.url}"]\njournal = "{tmp}/j.sqlite"\nmetrics_port = 0\n'
                           f'[[vault]]\nname = "eth"\ndeployment = "{d.path}"\n')
            os.environ["HV_KEEPER_KEY"] = ANVIL_KEYS[1]
            service = KeeperService(load(cfg, env={}))
            service.wait_for_receipts = False
            service.startup()
            import logging

            logging.getLogger().setLevel(logging.WARNING)
            measure(service, node, 3)  # warm-up: imports, caches, connection pool
            t = measure(service, node, args.samples)
            rows.append((n, statistics.median(t) * 1e3, min(t) * 1e3, max(t) * 1e3))
            service.journal.close()

    print(f"\nKeeper tick latency, snapshot read -> signed rebalance handed to Anvil ({args.samples} samples each)")
    print(f"{'live series':>11} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for n, med, lo, hi in rows:
        print(f"{n:>11} {med:>10.1f} {lo:>8.1f} {hi:>8.1f}")
    print("target: median < 50 ms with the maximum number of live series")
    return 0


if __name__ == "__main__":
    sys.exit(main())
