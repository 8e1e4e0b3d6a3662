"""Calibrate a cost-aware policy's risk aversion for the book, vol and costs at hand.

A cost-aware band (Whalley-Wilmott, the adaptive band) trades hedge precision for cost through its
risk aversion γ (1/USD). The right γ depends on the book's size and gamma, the vol, the venue and
gas, so it is fitted, not guessed: every candidate runs through the backtester (the keeper's own
decision code inside the vault's envelope, the venue's exact cost, gas, the exit) on the same
paths, and one of two rules picks it:

* a target hedge-error std (USD): the cheapest γ whose std is at or under the target;
* a price of risk λ (1/USD): the γ minimising mean friction + λ · variance of the hedge error.

The search is a log-spaced sweep scaled by the book's notional (γ·notional is what makes a band
a given share of the book), then a bisection between the two sweep points around the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from keeper.greeks import OptionBook
from keeper.policy import HedgePolicy, build_policy
from keeper.sim.backtest import BacktestConfig, BacktestResult, run_backtest

FloatArray = NDArray[np.float64]
CALIBRATED = ("whalley_wilmott", "adaptive")
SWEEP_POINTS = 13
SWEEP_SPAN = (1e-1, 1e5)  # γ · notional (USD): from a band of most of the book to a near-continuous hedge
REFINE_STEPS = 6


@dataclass(frozen=True)
class Point:
    risk_aversion: float
    mean_friction: float  # USD: venue fee and impact, gas, the exit
    std_error: float  # USD: std of the writer's terminal P&L
    mean_trades: float

    def objective(self, price_of_risk: float) -> float:
        return self.mean_friction + price_of_risk * self.std_error**2


@dataclass(frozen=True)
class Calibration:
    policy: str
    params: dict[str, float]  # what the keeper config takes: `policy_params`
    chosen: Point
    rule: str  # in words, with the numbers
    premium: float
    curve: tuple[Point, ...] = field(default=())  # every point tried, by risk aversion

    @property
    def risk_aversion(self) -> float:
        return self.chosen.risk_aversion


def notional_usd(book: OptionBook, spot: float) -> float:
    return float(np.abs(book.quantities).sum()) * spot


def calibrate(
    paths: FloatArray,
    times: FloatArray,
    book: OptionBook,
    config: BacktestConfig,
    *,
    policy: str = "whalley_wilmott",
    target_std: float | None = None,
    price_of_risk: float | None = None,
    params: dict[str, float] | None = None,
) -> Calibration:
    """The risk aversion for `policy` by one of the two rules (exactly one of `target_std`,
    `price_of_risk`); `params` fixes the policy's other parameters."""
    if policy not in CALIBRATED:
        raise ValueError(f"policy: {policy!r} has no risk aversion to calibrate (one of {', '.join(CALIBRATED)})")
    if (target_std is None) == (price_of_risk is None):
        raise ValueError("give exactly one of target_std (USD) and price_of_risk (1/USD)")
    for name, value in (("target_std", target_std), ("price_of_risk", price_of_risk)):
        if value is not None and not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be finite and positive, got {value!r}")
    extra = dict(params or {})
    extra.pop("risk_aversion", None)
    tried: dict[float, Point] = {}
    premium = math.nan

    def run(gamma: float) -> Point:
        nonlocal premium
        if gamma not in tried:
            res: BacktestResult = run_backtest(paths, times, book, _policy(policy, gamma, extra), config)
            s = res.summary()
            premium = res.premium
            tried[gamma] = Point(gamma, s["mean_friction"], s["std_error"], s["mean_trades"])
        return tried[gamma]

    scale = notional_usd(book, float(paths[0, 0]))
    sweep = [run(g) for g in np.geomspace(SWEEP_SPAN[0] / scale, SWEEP_SPAN[1] / scale, SWEEP_POINTS).tolist()]
    if target_std is not None:
        chosen, rule = _for_target(sweep, run, target_std)
    else:
        assert price_of_risk is not None
        chosen, rule = _for_price(sweep, run, price_of_risk)
    curve = tuple(sorted(tried.values(), key=lambda p: p.risk_aversion))
    params_out = {k: float(v) for k, v in extra.items()} | {"risk_aversion": float(chosen.risk_aversion)}
    return Calibration(policy, params_out, chosen, rule, premium, curve)


def _policy(name: str, gamma: float, extra: dict[str, float]) -> HedgePolicy:
    return build_policy(name, {**extra, "risk_aversion": float(gamma)})


def _for_target(sweep: list[Point], run: Callable[[float], Point], target: float) -> tuple[Point, str]:
    """The smallest γ meeting the target, bisected (in log γ) against the last sweep point that misses it."""
    meets = [p for p in sweep if p.std_error <= target]
    if not meets:
        best = min(sweep, key=lambda p: p.std_error)
        return best, (f"no risk aversion reaches std {target:,.2f} USD; the most precise tried "
                      f"({best.risk_aversion:.4g}) gives {best.std_error:,.2f} USD")
    hi = meets[0]
    below = [p for p in sweep if p.risk_aversion < hi.risk_aversion]
    if below:
        lo = below[-1]
        for _ in range(REFINE_STEPS):
            mid = run(math.sqrt(lo.risk_aversion * hi.risk_aversion))
            lo, hi = (lo, mid) if mid.std_error <= target else (mid, hi)
    return hi, f"cheapest with hedge-error std <= {target:,.2f} USD"


def _for_price(sweep: list[Point], run: Callable[[float], Point], lam: float) -> tuple[Point, str]:
    """The sweep's minimum of friction + λ·variance, refined by golden-section search in log γ."""
    i = min(range(len(sweep)), key=lambda k: sweep[k].objective(lam))
    lo = math.log(sweep[max(i - 1, 0)].risk_aversion)
    hi = math.log(sweep[min(i + 1, len(sweep) - 1)].risk_aversion)
    best = sweep[i]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(REFINE_STEPS):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        pa, pb = run(math.exp(a)), run(math.exp(b))
        best = min((best, pa, pb), key=lambda p: p.objective(lam))
        lo, hi = (lo, b) if pa.objective(lam) <= pb.objective(lam) else (a, hi)
    return best, f"minimum of mean friction + {lam:.4g} x variance"
