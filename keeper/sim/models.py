"""Spot price models for the backtester: GBM, Merton jump-diffusion, two-regime volatility.

Each function draws all randomness from the ``numpy.random.Generator`` it is given (so a seed
reproduces a run) and returns spot paths of shape ``(n_paths, n_steps + 1)`` whose first
column is ``s0``. Paths are built from exact log increments and one ``cumsum``; only the
Markov regime chain needs a loop, and that loop is over steps, vectorised across paths.
``mu`` is the real-world drift of the spot (``E[S_t] = s0 e^{mu t}`` in every model).
"""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
from numpy.typing import NDArray

from keeper.greeks import JumpParams

FloatArray = NDArray[np.float64]


def time_grid(t_years: float, n_steps: int) -> FloatArray:
    """Equally spaced times ``0, dt, ..., t_years`` (``n_steps + 1`` points), in years."""
    _check_grid(t_years, n_steps)
    return np.linspace(0.0, t_years, n_steps + 1)


def _check_grid(t_years: float, n_steps: int) -> None:
    if not (math.isfinite(t_years) and t_years > 0.0):
        raise ValueError(f"t_years must be finite and positive, got {t_years!r}")
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")


def _check_common(s0: float, sigma: float, t_years: float, n_steps: int, n_paths: int) -> None:
    _check_grid(t_years, n_steps)
    if not (math.isfinite(s0) and s0 > 0.0):
        raise ValueError(f"s0 must be finite and positive, got {s0!r}")
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"sigma must be finite and >= 0, got {sigma!r}")
    if int(n_paths) != n_paths or n_paths < 1:
        raise ValueError(f"n_paths must be a positive integer, got {n_paths!r}")


def _paths_from_log_increments(s0: float, increments: FloatArray) -> FloatArray:
    """``s0 * exp(cumsum)`` with a leading column of ``s0``, computed in place."""
    n_paths, n_steps = increments.shape
    out = np.empty((n_paths, n_steps + 1))
    out[:, 0] = 0.0
    np.cumsum(increments, axis=1, out=out[:, 1:])
    np.exp(out, out=out)
    out *= s0
    return out


def gbm_paths(
    s0: float, mu: float, sigma: float, t_years: float, n_steps: int, n_paths: int, rng: np.random.Generator
) -> FloatArray:
    """Geometric Brownian motion, exact in distribution at the grid points."""
    _check_common(s0, sigma, t_years, n_steps, n_paths)
    dt = t_years / n_steps
    inc = rng.standard_normal((n_paths, n_steps))
    inc *= sigma * math.sqrt(dt)
    inc += (mu - 0.5 * sigma * sigma) * dt
    return _paths_from_log_increments(s0, inc)


def merton_paths(
    s0: float,
    mu: float,
    sigma: float,
    jumps: JumpParams,
    t_years: float,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Merton (1976) jump-diffusion: GBM plus compound-Poisson lognormal jumps.

    Per step, N ~ Poisson(λ dt) jumps add ``N μ_J + δ sqrt(N) Z'`` to the log price (the sum
    of N normal log-jumps, exact); the drift is compensated by ``-λ k`` so that
    ``E[S_t] = s0 e^{mu t}``. With ``mu = r`` these are risk-neutral paths for
    :func:`keeper.greeks.merton_price`.
    """
    _check_common(s0, sigma, t_years, n_steps, n_paths)
    dt = t_years / n_steps
    inc = rng.standard_normal((n_paths, n_steps))
    inc *= sigma * math.sqrt(dt)
    inc += (mu - jumps.intensity * jumps.k - 0.5 * sigma * sigma) * dt
    if jumps.intensity > 0.0:
        counts = rng.poisson(jumps.intensity * dt, size=(n_paths, n_steps))
        hit = counts > 0  # jumps are rare per step: draw their sizes only where they happen
        n_hit = counts[hit].astype(np.float64)
        inc[hit] += n_hit * jumps.mean_log_jump + jumps.jump_vol * np.sqrt(n_hit) * rng.standard_normal(n_hit.size)
    return _paths_from_log_increments(s0, inc)


@overload
def regime_switching_paths(
    s0: float,
    mu: float,
    vols: tuple[float, float],
    switch_rates: tuple[float, float],
    t_years: float,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
    *,
    start: Literal["stationary", "calm", "turbulent"] = "stationary",
    return_regimes: Literal[False] = False,
) -> FloatArray: ...


@overload
def regime_switching_paths(
    s0: float,
    mu: float,
    vols: tuple[float, float],
    switch_rates: tuple[float, float],
    t_years: float,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
    *,
    start: Literal["stationary", "calm", "turbulent"] = "stationary",
    return_regimes: Literal[True],
) -> tuple[FloatArray, NDArray[np.int8]]: ...


def regime_switching_paths(
    s0: float,
    mu: float,
    vols: tuple[float, float],
    switch_rates: tuple[float, float],
    t_years: float,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
    *,
    start: Literal["stationary", "calm", "turbulent"] = "stationary",
    return_regimes: bool = False,
) -> FloatArray | tuple[FloatArray, NDArray[np.int8]]:
    """Two-regime (Markov-switching) volatility: GBM whose sigma jumps between two levels.

    ``vols = (calm, turbulent)`` annual vols; ``switch_rates = (q01, q10)`` are the rates per
    year of leaving the calm and the turbulent regime (mean stay 1/q years). The chain is
    sampled exactly at the grid with the two-state transition probabilities
    ``P(switch from i) = q_i / (q01 + q10) (1 - e^{-(q01 + q10) dt})``; the regime at the start
    of a step sets that step's volatility. ``start="stationary"`` draws the first regime from
    the stationary law ``P(turbulent) = q01 / (q01 + q10)``.
    """
    lo, hi = vols
    q01, q10 = switch_rates
    _check_common(s0, max(lo, hi), t_years, n_steps, n_paths)
    if min(lo, hi) < 0.0 or not (math.isfinite(q01) and math.isfinite(q10)) or min(q01, q10) < 0.0:
        raise ValueError(f"vols and switch_rates must be finite and >= 0, got {vols!r}, {switch_rates!r}")
    dt = t_years / n_steps
    total = q01 + q10
    leave = (1.0 - math.exp(-total * dt)) / total if total > 0.0 else 0.0
    p_switch = np.array([q01 * leave, q10 * leave])
    if start == "stationary":
        p_hi = q01 / total if total > 0.0 else 0.0
        state = (rng.random(n_paths) < p_hi).astype(np.int8)
    else:
        state = np.full(n_paths, 1 if start == "turbulent" else 0, dtype=np.int8)
    regimes = np.empty((n_paths, n_steps), dtype=np.int8)
    u = rng.random((n_paths, n_steps))
    for i in range(n_steps):
        regimes[:, i] = state
        state = state ^ (u[:, i] < p_switch[state]).astype(np.int8)
    sig = np.array([lo, hi])[regimes]
    inc = rng.standard_normal((n_paths, n_steps))
    inc *= sig * math.sqrt(dt)
    inc += (mu - 0.5 * sig * sig) * dt
    paths = _paths_from_log_increments(s0, inc)
    return (paths, regimes) if return_regimes else paths
