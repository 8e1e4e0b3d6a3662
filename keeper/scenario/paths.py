"""The scenario's price and implied-vol path, from the market models in keeper.sim.

Pure apart from reading the CSV file: the same config and seed give the same path. The random
stream is `SeedSequence([seed, 0])`; the option flow draws from `[seed, 1]`, so changing the
flow never changes the path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from keeper.greeks import SECONDS_PER_YEAR, JumpParams
from keeper.scenario.config import ScenarioConfig, ScenarioError
from keeper.sim import gbm_paths, merton_paths, parse_price_csv, regime_switching_paths, replay_paths

FloatArray = NDArray[np.float64]
MIN_VOL, MAX_VOL = 0.05, 3.0  # the vol feed's bounds in the vault's oracle parameters


@dataclass(frozen=True)
class MarketPath:
    times_s: FloatArray  # seconds from the first step, steps + 1 points
    price: FloatArray  # USD per ETH posted on the price feed at each step
    vol: FloatArray  # annual implied vol posted on the vol feed at each step
    regime: NDArray[np.int8] | None = None  # 0 calm / 1 turbulent (regime model only)

    @property
    def realised_vol(self) -> float:
        """Annualised realised vol of the whole path."""
        r = np.diff(np.log(self.price))
        dt = float(self.times_s[1] - self.times_s[0]) / SECONDS_PER_YEAR
        return float(np.std(r) / math.sqrt(dt)) if r.size > 1 else 0.0


def build_path(cfg: ScenarioConfig) -> MarketPath:
    p = cfg.path
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0]))
    n, dt_s = cfg.steps, cfg.step_seconds
    t_years = n * dt_s / SECONDS_PER_YEAR
    times = np.arange(n + 1, dtype=float) * dt_s
    regime = None
    if p.model == "gbm":
        price = gbm_paths(p.s0, p.mu, p.sigma, t_years, n, 1, rng)[0]
        vol = np.full(n + 1, p.sigma)
    elif p.model == "merton":
        jumps = JumpParams(p.jump_intensity, p.jump_mean, p.jump_vol)
        price = merton_paths(p.s0, p.mu, p.sigma, jumps, t_years, n, 1, rng)[0]
        total = math.sqrt(p.sigma**2 + p.jump_intensity * (p.jump_mean**2 + p.jump_vol**2))
        vol = np.full(n + 1, total)
    elif p.model == "regime":
        paths, regimes = regime_switching_paths(p.s0, p.mu, (p.vols[0], p.vols[1]), (p.switch_rates[0], p.switch_rates[1]),
                                                t_years, n, 1, rng, return_regimes=True)
        price = paths[0]
        regime = np.append(regimes[0], regimes[0][-1])  # the regime ahead of each step
        vol = np.array(p.vols)[regime]
    else:
        price = _csv_path(cfg, rng)
        vol = _ewma_vol(price, dt_s, p.sigma, p.vol_halflife_steps)
    vol = np.clip(vol * p.implied_vol_markup, MIN_VOL, MAX_VOL)
    if not np.all(np.isfinite(price)) or price.min() <= 0:
        raise ScenarioError(f"path.{p.model}: the model produced a non-positive or non-finite price")
    return MarketPath(times_s=times, price=price, vol=vol, regime=regime)


def _csv_path(cfg: ScenarioConfig, rng: np.random.Generator) -> FloatArray:
    p = cfg.path
    file = Path(p.csv).expanduser()
    if not file.is_absolute():
        file = cfg.base_dir / file
    try:
        text = file.read_text()
    except OSError as exc:
        raise ScenarioError(f"path.csv: cannot read {file} ({exc.strerror or exc})") from None
    try:
        stamps, prices = parse_price_csv(text)
        return replay_paths(stamps, prices, dt_s=float(cfg.step_seconds), n_steps=cfg.steps, n_paths=1, rng=rng,
                            s0=p.s0, method=p.csv_method, mean_block_steps=p.csv_block_steps)[0]  # type: ignore[arg-type]
    except ValueError as exc:
        raise ScenarioError(f"path.csv: {file}: {exc}") from None


def _ewma_vol(price: FloatArray, dt_s: float, initial: float, halflife_steps: float) -> FloatArray:
    """Annualised EWMA vol of the log returns up to each step (no look-ahead)."""
    lam = 0.5 ** (1.0 / halflife_steps)
    var = initial**2 * dt_s / SECONDS_PER_YEAR
    out = np.empty_like(price)
    out[0] = initial
    for i, r in enumerate(np.diff(np.log(price)), start=1):
        var = lam * var + (1 - lam) * r * r
        out[i] = math.sqrt(var * SECONDS_PER_YEAR / dt_s)
    return out
