"""The default policy, calibrated, against fixed time schedules on a grid of books (docs/HEDGING.md).

    .venv/bin/python benchmarks/policy_grid.py [--paths 10000] [--workers 2] [--json out.json]

Every cell writes a short call book (10 WETH at K = moneyness × spot) and hedges it with hourly
checks, on the same GBM paths for every policy (common random numbers), through the backtester:
the keeper's decision code inside the vault's deploy-default envelope, the venue's fee (5 or 30
bp), the exit cost of the final hedge charged. Gas is left out (it would only widen the gap: the
schedules trade more often).

Per cell: each time schedule's friction (fee paid, exit included) and hedge-error std; the "best"
schedule is the most precise one (the lowest std; trading more often than that only adds cost
variance); the default policy (Whalley-Wilmott) is calibrated by `keeper.sim.calibrate` to that
std and its friction compared. Also reported: the smallest saving over every schedule of 24 h or
less, each matched at its own std.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.greeks import OptionBook  # noqa: E402
from keeper.policy import DEFAULT_POLICY, TimeInterval  # noqa: E402
from keeper.sim.backtest import BacktestConfig, run_backtest  # noqa: E402
from keeper.sim.calibrate import calibrate  # noqa: E402
from keeper.sim.models import gbm_paths, time_grid  # noqa: E402

SPOT, VOL, QUANTITY = 2000.0, 0.8, 10.0
MATURITIES = {"1 week": 7.0, "1 month": 30.0, "3 months": 91.0}
MONEYNESS = (0.9, 1.0, 1.1)
FEES_BPS = (5.0, 30.0)
SCHEDULE_HOURS = (1, 2, 4, 8, 12, 24)


def cell(days: float, moneyness: float, fee_bps: float, n_paths: int, seed: int = 1) -> dict:
    t = days / 365.0
    steps = int(round(days * 24))
    times = time_grid(t, steps)
    paths = gbm_paths(SPOT, 0.0, VOL, t, steps, n_paths, np.random.default_rng(seed))
    book = OptionBook(np.array([SPOT * moneyness]), np.array([t]), np.array([True]), np.array([-QUANTITY]))
    config = BacktestConfig(hedger_vol=VOL, fee_bps=fee_bps)
    schedules = []
    for hours in SCHEDULE_HOURS:
        s = run_backtest(paths, times, book, TimeInterval(hours * 3600.0), config).summary()
        schedules.append({"hours": hours, "friction": s["mean_friction"], "std": s["std_error"], "premium": s["premium"]})
    best = min(schedules, key=lambda x: x["std"])
    # What every hedger pays whatever its policy: the initial hedge and the exit (hedge once, hold).
    floor = run_backtest(paths, times, book, TimeInterval(1e12), config).summary()["mean_friction"]
    cal = calibrate(paths, times, book, config, policy=DEFAULT_POLICY, target_std=best["std"])
    savings = []
    for sch in schedules:
        matched = _friction_at(cal.curve, sch["std"])
        savings.append(None if matched is None else 1.0 - matched / sch["friction"])
    return {
        "days": days, "moneyness": moneyness, "fee_bps": fee_bps, "paths": n_paths, "steps": steps,
        "premium": best["premium"], "schedules": schedules, "best_hours": best["hours"],
        "best_friction": best["friction"], "best_std": best["std"],
        "default": {"policy": DEFAULT_POLICY, "risk_aversion": cal.risk_aversion, "friction": cal.chosen.mean_friction,
                    "std": cal.chosen.std_error, "trades": cal.chosen.mean_trades},
        "saving_vs_best": 1.0 - cal.chosen.mean_friction / best["friction"],
        "floor_friction": floor,
        "savings": dict(zip((f"{x['hours']}h" for x in schedules), savings, strict=True)),
        "min_saving_any_schedule": min((x for x in savings if x is not None), default=math.nan),
    }


def _friction_at(curve, std: float) -> float | None:
    """The cheapest calibration point tried at or under `std` (None if none reaches it)."""
    ok = [p.mean_friction for p in curve if p.std_error <= std]
    return min(ok) if ok else None


def _avoidable(r: dict) -> float:
    """The saving on what a policy can save: the friction over the hedge-once-and-hold floor."""
    return 1.0 - (r["default"]["friction"] - r["floor_friction"]) / (r["best_friction"] - r["floor_friction"])


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cells = list(itertools.product(MATURITIES.values(), MONEYNESS, FEES_BPS))
    start = time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(cell, *zip(*cells, strict=True), itertools.repeat(args.paths)))
    names = {v: k for k, v in MATURITIES.items()}
    print(f"{len(rows)} cells, {args.paths:,} paths each, hourly checks, exit cost charged; {time.time() - start:.0f} s\n")
    print("| maturity | K/S | fee | premium USD | best schedule | its friction | its std | default γ | default friction "
          "| default std | saving | saving on the avoidable part | saving vs each schedule at its std (1 h ... 24 h) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["premium"]
        d = r["default"]
        print(f"| {names[r['days']]} | {r['moneyness']:.1f} | {r['fee_bps']:g} bp | {p:,.0f} | {r['best_hours']} h "
              f"| {100 * r['best_friction'] / p:.2f} % | {100 * r['best_std'] / p:.2f} % | {d['risk_aversion']:.3g} "
              f"| {100 * d['friction'] / p:.2f} % | {100 * d['std'] / p:.2f} % | **{100 * r['saving_vs_best']:.0f} %** "
              f"| {100 * _avoidable(r):.0f} % | {' / '.join(_pct(x) for x in r['savings'].values())} |")
    worst = min(r["saving_vs_best"] for r in rows)
    print(f"\nsmallest saving against the best schedule: {100 * worst:.1f} % (target >= 25 %)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
