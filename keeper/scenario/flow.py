"""The option flow, decided before the run: buy attempts per step and the lister's ladder.

Pure and seeded (`SeedSequence([seed, 1])`). Every step draws the same number of random values
whatever happens on chain, so a hedged and an unhedged run of one seed see identical attempts;
only the vault's answers (a refusal for margin, say) can differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from keeper.scenario.config import ScenarioConfig
from keeper.scenario.paths import MarketPath


@dataclass(frozen=True)
class BuyAttempt:
    buyer: int  # index into the buyer accounts
    wants_call: bool  # a call if one is on sale, else a put (either if only the other is)
    pick: float  # uniform in [0, 1): which of the buyable series of that kind (ordered by id)
    size: float  # WETH


@dataclass(frozen=True)
class Listing:
    strike: float  # USD
    expiry_s: int  # seconds from the first step (on the step grid)
    is_call: bool


def draw_buys(cfg: ScenarioConfig) -> list[tuple[BuyAttempt, ...]]:
    """Buy attempts for steps 0..steps."""
    b = cfg.buyers
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 1]))
    n, k = cfg.steps + 1, b.max_buys_per_step
    counts = np.minimum(rng.poisson(b.buys_per_step, n), k)
    buyer = rng.integers(0, b.accounts, (n, k))
    calls = rng.random((n, k)) < b.call_share
    pick = rng.random((n, k))
    size = np.round(rng.uniform(b.min_size, b.max_size, (n, k)), 2)
    return [tuple(BuyAttempt(int(buyer[i, j]), bool(calls[i, j]), float(pick[i, j]), float(size[i, j]))
                  for j in range(counts[i])) for i in range(n)]


def listing_plan(cfg: ScenarioConfig, path: MarketPath) -> dict[int, tuple[Listing, ...]]:
    """Step -> series to list: a new expiry every `every_hours`, `tenor_hours` out (rounded up to
    the step grid; both scale with the run when 0), strikes at the configured multiples of that
    step's price. Only expiries inside the run are listed, so every series settles before the
    depositors leave."""
    li, dt = cfg.lister, cfg.step_seconds
    every = max(1, round(cfg.listing_every_seconds / dt))
    tenor_steps = math.ceil(cfg.tenor_seconds / dt)
    plan: dict[int, tuple[Listing, ...]] = {}
    for step in range(0, cfg.steps + 1, every):
        expiry_step = step + tenor_steps
        if expiry_step > cfg.steps:
            break
        spot = float(path.price[step])
        series = [Listing(_strike(m * spot, li.strike_step), expiry_step * dt, True) for m in li.calls]
        series += [Listing(_strike(m * spot, li.strike_step), expiry_step * dt, False) for m in li.puts]
        plan[step] = tuple(series)
    return plan


def _strike(value: float, step: float) -> float:
    return round(value / step) * step
