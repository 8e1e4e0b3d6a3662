"""Vectorised Black-Scholes and Merton (1976) jump-diffusion pricing, Greeks and implied volatility.

Pure numpy/scipy, no I/O: the keeper prices its book with these functions every tick and the
backtester calls them for every path at every step, so every function takes arrays (any shapes
that broadcast together) and never loops over options in Python.

Conventions (the same everywhere in this module):

* ``S`` spot and ``K`` strike in quote units (USD); ``T`` time to expiry in years;
  ``sigma`` annualised volatility (0.8 means 80 %); ``r`` continuously compounded rate;
  ``is_call`` a boolean array (True = call, False = put). No dividend / funding yield.
* price in quote units per unit of underlying; delta dimensionless (per unit of underlying);
  gamma per quote unit; **vega per 1.00 of volatility** (divide by 100 for "per vol point");
  **theta per year** of calendar time, i.e. ``dV/dt = -dV/dT`` (use :func:`theta_per_day`);
  rho per 1.00 of rate.
* A year is :data:`SECONDS_PER_YEAR` = 365 days of 86 400 s when converting from seconds.

Limits instead of NaN: ``T == 0`` gives the intrinsic value and a step delta (0.5 exactly at
the strike); ``sigma == 0`` with ``T > 0`` gives the discounted intrinsic value of the forward,
``max(w (S - K e^{-rT}), 0)``, with a step delta at the forward. At those kinks gamma is
reported as 0 (the true limit is a Dirac mass), and vega takes its finite one-sided limit.
Negative or non-finite inputs and shapes that do not broadcast raise :class:`ValueError`
naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, ndtr

FloatArray = NDArray[np.float64]

SECONDS_PER_YEAR = 365 * 86_400
DAYS_PER_YEAR = 365.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OptionGreeks:
    """Price and first-order sensitivities of each option (arrays of the broadcast shape).

    Units: price in quote per unit; delta per unit; gamma per quote unit; vega per 1.00 vol;
    theta per year (dV/dt); rho per 1.00 rate.
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray


@dataclass(frozen=True)
class JumpParams:
    """Merton (1976) jump parameters: ``ln J ~ N(mean_log_jump, jump_vol**2)``.

    ``intensity`` is the Poisson rate λ of jumps per year. The expected relative jump size is
    ``k = E[J] - 1 = exp(mean_log_jump + jump_vol**2 / 2) - 1``; the drift is compensated by
    ``-λ k`` so the discounted spot stays a martingale.
    """

    intensity: float
    mean_log_jump: float
    jump_vol: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.intensity) and self.intensity >= 0.0):
            raise ValueError(f"jump intensity must be finite and >= 0, got {self.intensity!r}")
        if not math.isfinite(self.mean_log_jump):
            raise ValueError(f"mean_log_jump must be finite, got {self.mean_log_jump!r}")
        if not (math.isfinite(self.jump_vol) and self.jump_vol >= 0.0):
            raise ValueError(f"jump_vol must be finite and >= 0, got {self.jump_vol!r}")

    @property
    def log_mean_jump(self) -> float:
        """``ln(1 + k) = mean_log_jump + jump_vol**2 / 2``."""
        return self.mean_log_jump + 0.5 * self.jump_vol**2

    @property
    def k(self) -> float:
        """Expected relative jump size ``E[J] - 1``."""
        return math.expm1(self.log_mean_jump)

    @property
    def total_variance_rate(self) -> float:
        """Annual variance added by the jumps to ``ln S``: ``λ (mean_log_jump² + jump_vol²)``."""
        return self.intensity * (self.mean_log_jump**2 + self.jump_vol**2)


# ----------------------------------------------------------------------------- validation


def _as_array(name: str, value: ArrayLike) -> FloatArray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc


def _first_bad(name: str, arr: FloatArray, ok: NDArray[np.bool_], rule: str) -> ValueError:
    idx = int(np.flatnonzero(~np.broadcast_to(ok, arr.shape))[0]) if arr.ndim else 0
    bad = arr.reshape(-1)[idx] if arr.ndim else arr
    where = f" at index {tuple(int(i) for i in np.unravel_index(idx, arr.shape))}" if arr.ndim else ""
    return ValueError(f"{name} must be {rule}; got {float(bad)!r}{where}")


def _check(name: str, arr: FloatArray, rule: Literal["positive", "non-negative", "finite"]) -> None:
    # One vectorised comparison per argument: `x > 0` is False for NaN, so NaN is caught too.
    if rule == "positive":
        ok = (arr > 0.0) & (arr < np.inf)
    elif rule == "non-negative":
        ok = (arr >= 0.0) & (arr < np.inf)
    else:
        ok = np.isfinite(arr)
    if not ok.all():
        raise _first_bad(name, arr, ok, f"{rule} and finite" if rule != "finite" else "finite")


def _broadcast_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    shape: tuple[int, ...] = ()
    seen: list[str] = []
    for name, arr in arrays.items():
        try:
            shape = np.broadcast_shapes(shape, arr.shape)
        except ValueError:
            raise ValueError(
                f"{name} has shape {arr.shape}, which does not broadcast with "
                f"{', '.join(seen)} (combined shape {shape})"
            ) from None
        seen.append(name)
    return shape


def _as_bool(name: str, value: ArrayLike) -> NDArray[np.bool_]:
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        raise ValueError(f"{name} must be boolean (True = call, False = put), got dtype {arr.dtype}")
    return arr


def _inputs(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    s, k, t, v, rr = (_as_array(n, x) for n, x in (("S", S), ("K", K), ("T", T), ("sigma", sigma), ("r", r)))
    c = _as_bool("is_call", is_call)
    _broadcast_shape(S=s, K=k, T=t, sigma=v, r=rr, is_call=c)
    _check("S", s, "positive")
    _check("K", k, "positive")
    _check("T", t, "non-negative")
    _check("sigma", v, "non-negative")
    _check("r", rr, "finite")
    return s, k, t, v, rr, c


def _sign(is_call: NDArray[np.bool_]) -> FloatArray:
    """+1 for calls, -1 for puts: lets one formula serve both (``w (S N(w d1) - K df N(w d2))``)."""
    return np.where(is_call, 1.0, -1.0)


# ----------------------------------------------------------------------------- Black-Scholes


def _step(x: FloatArray) -> FloatArray:
    """Heaviside step with value 1/2 at 0: the limit of N(d) as the total volatility goes to 0."""
    return np.where(x > 0.0, 1.0, np.where(x < 0.0, 0.0, 0.5))


def _bs_arrays(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    w: FloatArray,
    greeks: bool,
) -> tuple[FloatArray, ...]:
    """Black-Scholes on validated, broadcastable arrays. Shared terms are computed once."""
    sqrt_t = np.sqrt(T)
    v = sigma * sqrt_t
    kdf = K * np.exp(-r * T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # ln(F/K) = ln(S / (K e^{-rT})): one log, one division.
        d1 = np.log(S / kdf) / v + 0.5 * v
    d2 = d1 - v
    nd1 = ndtr(w * d1)
    nd2 = ndtr(w * d2)
    price = w * (S * nd1 - kdf * nd2)
    degenerate = np.broadcast_to(v == 0.0, price.shape)
    any_degenerate = bool(degenerate.any())
    if not greeks:
        if any_degenerate:
            price = np.array(np.broadcast_to(price, degenerate.shape))
            s_, kdf_, w_ = (np.broadcast_to(a, degenerate.shape)[degenerate] for a in (S, kdf, w))
            price[degenerate] = np.maximum(w_ * (s_ - kdf_), 0.0)
        return (price,)

    pdf = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    s_pdf = S * pdf
    delta = w * nd1
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = pdf / (S * v)
        theta = -0.5 * s_pdf * sigma / sqrt_t - r * w * kdf * nd2
    vega = s_pdf * sqrt_t
    rho = w * kdf * T * nd2
    # Gamma and vega do not depend on is_call; give every output the same broadcast shape.
    shape = price.shape
    out = tuple(a if a.shape == shape else np.broadcast_to(a, shape) for a in (price, delta, gamma, vega, theta, rho))
    if any_degenerate:
        out = _patch_zero_vol(out, degenerate, S, kdf, T, r, w, sqrt_t)
    return out


def _patch_zero_vol(
    out: tuple[FloatArray, ...],
    mask: NDArray[np.bool_],
    S: FloatArray,
    kdf: FloatArray,
    T: FloatArray,
    r: FloatArray,
    w: FloatArray,
    sqrt_t: FloatArray,
) -> tuple[FloatArray, ...]:
    """Replace the 0/0 of zero total volatility (T == 0 or sigma == 0) by the documented limits."""
    shape = mask.shape
    s, kd, t, rr, ww, st = (np.broadcast_to(a, shape)[mask] for a in (S, kdf, T, r, w, sqrt_t))
    moneyness = ww * (s - kd)  # > 0: in the money against the forward
    itm = _step(moneyness)  # N(w d1) = N(w d2) in the limit
    at_fwd = moneyness == 0.0
    limits = (
        np.maximum(moneyness, 0.0),  # price
        ww * itm,  # delta
        np.zeros_like(s),  # gamma: Dirac at the kink, reported as 0
        np.where(at_fwd, s * st * _INV_SQRT_2PI, 0.0),  # vega: one-sided limit, S sqrt(T) phi(0)
        -rr * ww * kd * itm,  # theta: the carry of the discounted strike
        ww * kd * t * itm,  # rho
    )
    patched = []
    for arr, lim in zip(out, limits, strict=True):
        full = np.array(np.broadcast_to(arr, shape))
        full[mask] = lim
        patched.append(full)
    return tuple(patched)


def bs_price(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Black-Scholes price of European options (quote units per unit of underlying)."""
    s, k, t, v, rr, c = _inputs(S, K, T, sigma, r, is_call)
    return _bs_arrays(s, k, t, v, rr, _sign(c), greeks=False)[0]


def bs_greeks(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> OptionGreeks:
    """Black-Scholes price, delta, gamma, vega (per 1.00 vol), theta (per year) and rho."""
    s, k, t, v, rr, c = _inputs(S, K, T, sigma, r, is_call)
    return OptionGreeks(*_bs_arrays(s, k, t, v, rr, _sign(c), greeks=True))


def bs_delta_gamma(
    S: FloatArray | float,
    K: FloatArray | float,
    T: FloatArray | float,
    sigma: FloatArray | float,
    r: FloatArray | float,
    w: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    """Delta and gamma only, on already validated arrays (``w`` = +1 call / -1 put).

    The backtester calls this for every path at every step, so it skips validation and the
    price, vega, theta and rho it does not need. Same limits as :func:`bs_greeks`.
    """
    sqrt_t = np.sqrt(T)
    v = sigma * sqrt_t
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(S / K) + r * T) / v + 0.5 * v
        gamma = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI / (S * v)
    delta = w * ndtr(w * d1)
    degenerate = np.broadcast_to(v == 0.0, delta.shape)
    if degenerate.any():
        shape = degenerate.shape
        delta, gamma = (np.array(np.broadcast_to(a, shape)) for a in (delta, gamma))
        s, k, t, rr, ww = (np.broadcast_to(a, shape)[degenerate] for a in (S, K, T, r, w))
        delta[degenerate] = ww * _step(ww * (s - k * np.exp(-rr * t)))
        gamma[degenerate] = 0.0
    return delta, np.broadcast_to(gamma, delta.shape)


def theta_per_day(theta_per_year: ArrayLike, days_per_year: float = DAYS_PER_YEAR) -> FloatArray:
    """Convert a theta per year (this module's convention) to per calendar day."""
    return np.asarray(theta_per_year, dtype=np.float64) / days_per_year


def years_from_seconds(seconds: ArrayLike) -> FloatArray:
    """Seconds to years with the module's 365-day year (the convention of the golden vectors)."""
    return np.asarray(seconds, dtype=np.float64) / SECONDS_PER_YEAR


# ----------------------------------------------------------------------------- implied volatility


def _normalised_black(x: FloatArray, v: FloatArray, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Black price divided by ``df sqrt(F K)`` and its derivative in total vol ``v``.

    ``x = ln(F/K)``, ``theta = ±1``. Working in these units makes the solver independent of the
    price scale: ``b = theta (e^{x/2} N(theta d1) - e^{-x/2} N(theta d2))``.
    """
    d1 = x / v + 0.5 * v
    d2 = d1 - v
    ex = np.exp(0.5 * x)
    b = theta * (ex * ndtr(theta * d1) - ndtr(theta * d2) / ex)
    vega = ex * np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    return b, vega


def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    *,
    rtol: float = 1e-12,
    max_iter: int = 100,
    errors: Literal["raise", "nan"] = "raise",
) -> FloatArray:
    """Black-Scholes implied volatility, vectorised, by safeguarded Newton on the log price.

    Method (why it is robust): an in-the-money price is first turned into the out-of-the-money
    price at the same strike by put-call parity, so the solver never fights the intrinsic
    value. Newton then runs on ``ln b(v) - ln b*`` in total volatility ``v = sigma sqrt(T)``
    (b = normalised Black price), which is nearly linear in the deep wings where the plain
    price is flat; it starts at the Manaster-Koehler point ``v0 = sqrt(2 |ln(F/K)|)`` where
    vega peaks. Every iterate keeps a bracket [lo, hi] (the price is increasing in v); a Newton
    step that leaves it, or is not finite, is replaced by bisection, so each element
    converges. Stops when the relative price error is below ``rtol``.

    Prices at the no-arbitrage lower bound (discounted intrinsic value of the forward) return
    0.0, and so do prices within its rounding: an in-the-money price is computed as a difference
    of terms of size S and K e^{-rT} (``w (S N(w d1) - K e^{-rT} N(w d2))``, as :func:`bs_price`
    does), so a few ulps of ``S + K e^{-rT}`` below or above the bound is the bound — a time value
    that small is below float64 resolution and the volatility is not recoverable from the price.
    Prices further outside ``[lower bound, upper bound)`` (upper = S for calls, K e^{-rT} for puts)
    raise ``ValueError`` naming the argument; so do ``T <= 0`` and a negative or NaN price.
    With ``errors="nan"`` each of those gives NaN for its own entry and the rest are solved.
    """
    if errors not in ("raise", "nan"):
        raise ValueError(f"errors must be 'raise' or 'nan', got {errors!r}")
    p = _as_array("price", price)
    t_in = _as_array("T", T)
    s, k, _, _, rr, c = _inputs(S, K, 0.0, 0.0, r, is_call)
    shape = _broadcast_shape(price=p, S=s, K=k, T=t_in, r=rr, is_call=c)
    # `x > 0` and `x >= 0` are False for NaN, so NaN lands in these masks too.
    bad_price = ~((p >= 0.0) & (p < np.inf))
    bad_t = ~((t_in > 0.0) & (t_in < np.inf))
    if errors == "raise":
        if bad_price.any():
            raise _first_bad("price", p, ~bad_price, "non-negative and finite")
        if bad_t.any():
            raise _first_bad("T", t_in, ~bad_t, "positive and finite (implied volatility needs time value)")
    unusable = np.broadcast_to(bad_price | bad_t, shape).ravel()
    p, s, k, t, rr = (np.broadcast_to(a, shape).ravel() for a in (p, s, k, t_in, rr))
    c = np.broadcast_to(c, shape).ravel()
    if unusable.any():  # placeholders the solver can digest; their results are NaN below
        p, t = np.where(unusable, 0.0, p), np.where(unusable, 1.0, t)

    df = np.exp(-rr * t)
    kdf = k * df
    w = _sign(c)
    forward_gain = w * (s - kdf)
    intrinsic = np.maximum(forward_gain, 0.0)
    upper = np.where(c, s, kdf)
    # Out-of-the-money price at the same strike (parity); its side is -sign(ln F/K).
    x = np.log(s / kdf)
    otm_price = p - intrinsic
    # Rounding of the price and of the bound: in the money both are differences of terms of size
    # S and K e^{-rT}, so their error scales with S + K e^{-rT}, not with the (maybe small)
    # intrinsic value; out of the money the price has no such terms and its error scales with it.
    slack = 4.0 * np.finfo(np.float64).eps * np.where(forward_gain > 0.0, s + kdf, p)
    below = otm_price < -slack
    above = p >= upper
    invalid = (below | above) & ~unusable
    if invalid.any() and errors == "raise":
        i = int(np.flatnonzero(invalid)[0])
        raise ValueError(
            f"price {p[i]!r} at index {np.unravel_index(i, shape) if shape else ()} is outside the "
            f"no-arbitrage range [{intrinsic[i]!r}, {upper[i]!r}) for S={s[i]!r}, K={k[i]!r}, T={t[i]!r}"
        )
    invalid |= unusable
    at_lower = (otm_price <= slack) & ~invalid
    beta = np.maximum(otm_price, 0.0) / np.sqrt(s * kdf)  # normalised OTM price
    theta = np.where(x > 0.0, -1.0, 1.0)

    vol_total = np.zeros_like(p)
    vol_total[invalid] = np.nan
    todo = np.flatnonzero(~(invalid | at_lower))
    if todo.size:
        vol_total[todo] = _solve_total_vol(x[todo], beta[todo], theta[todo], rtol, max_iter)
        unbounded = todo[np.isnan(vol_total[todo])]
        if unbounded.size and errors == "raise":
            i = int(unbounded[0])
            raise ValueError(
                f"price {p[i]!r} at index {np.unravel_index(i, shape) if shape else ()} equals its upper "
                f"no-arbitrage bound {upper[i]!r} to float precision: implied volatility is unbounded"
            )
    sigma = vol_total / np.sqrt(t)
    return sigma.reshape(shape)


def _solve_total_vol(x: FloatArray, beta: FloatArray, theta: FloatArray, rtol: float, max_iter: int) -> FloatArray:
    """Safeguarded Newton-bisection for ``b(x, v, theta) = beta`` over total volatility v.

    Returns NaN where beta is not below b(64), the price's supremum to double precision.
    """
    n = x.size
    hi_v = 64.0
    b_hi, _ = _normalised_black(x, np.full(n, hi_v), theta)
    out = np.full(n, np.nan)
    solvable = beta < b_hi
    if not solvable.all():
        if solvable.any():
            out[solvable] = _solve_total_vol(x[solvable], beta[solvable], theta[solvable], rtol, max_iter)
        return out
    lo = np.zeros(n)
    hi = np.full(n, hi_v)
    v = np.clip(np.maximum(np.sqrt(2.0 * np.abs(x)), beta * math.sqrt(2.0 * math.pi)), 1e-8, 32.0)
    log_target = np.log(beta)
    active = np.arange(n)
    for _ in range(max_iter):
        b, vega = _normalised_black(x, v, theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(b) - log_target
            step = g * b / vega  # Newton step for ln b: g / (vega / b)
        converged = np.abs(g) <= rtol
        low = g < 0.0
        lo = np.where(low, v, lo)
        hi = np.where(low, hi, v)
        nxt = v - step
        outside = ~np.isfinite(nxt) | (nxt <= lo) | (nxt >= hi)
        mid = np.where(lo > 0.0, np.sqrt(lo * hi), 0.5 * hi)
        nxt = np.where(outside, mid, nxt)
        converged |= (hi - lo) <= 4.0 * np.finfo(np.float64).eps * hi
        if converged.any():
            out[active[converged]] = v[converged]
            keep = ~converged
            active, x, theta, log_target, lo, hi, nxt = (a[keep] for a in (active, x, theta, log_target, lo, hi, nxt))
            if active.size == 0:
                return out
        v = nxt
    raise RuntimeError(f"implied_vol did not converge for {active.size} options in {max_iter} iterations")


# ----------------------------------------------------------------------------- Merton 1976

# Options per block of the series: a block's dozen working arrays (~1.5 MB) stay in the core's
# cache, so the many cheap operations of each term run at cache speed, not memory speed, and a
# block is large enough that numpy's per-call overhead (~1 µs) is small beside its work.
_MERTON_BLOCK = 16_384


def _poisson_tail_cut(mu: FloatArray, log_q: FloatArray, max_n: int) -> NDArray[np.int64]:
    """Per element, the smallest ``n >= 0`` with ``P(N > n) <= e^{log_q}`` for ``N ~ Poisson(mu)``,
    through the bound ``P(N > n) <= p_{n+1}(mu) / (1 - mu / (n + 2))`` (valid for ``n + 2 > mu``:
    the ratio of consecutive Poisson weights past the mode is below ``mu / (n + 2)``). The bound is
    within a factor ``1 + mu / n`` of the tail, so the cut is the exact one or one term later.

    Found without a special function per element and step: a Bernstein-bound start, three Newton
    steps on the Stirling form of ``ln p_{n+1}``, then exact integer steps (``ln n!`` from a table)
    on the few elements the estimate left on the wrong side. Elements with a cut above ``max_n``
    come back as ``max_n + 1``.
    """
    out = np.zeros(mu.shape, dtype=np.int64)
    todo = np.flatnonzero((mu > 0.0) & (log_q < 0.0))  # else P(N > 0) <= q already
    if todo.size == 0:
        return out
    m, lq = mu[todo], log_q[todo]
    ln_m = np.log(m)
    # Bernstein: P(N >= m + t) <= exp(-t² / (2 (m + t/3))); its root in t is above the cut's.
    e = -lq
    a = m + e / 3.0 + np.sqrt(e * e / 9.0 + 2.0 * m * e)
    for _ in range(3):
        # g(a) = a ln m - m - (a ln a - a + ln(2 pi a)/2) - ln(1 - m/(a+1)) - ln q; Stirling's
        # lower bound on ln a! makes g an upper bound on the log tail bound.
        ln_a = np.log(a)
        gap = a + 1.0 - m
        g = a * (ln_m - ln_a + 1.0) - m - 0.5 * (ln_a + math.log(2.0 * math.pi)) - np.log(gap / (a + 1.0)) - lq
        dg = ln_m - ln_a - 0.5 / a - m / ((a + 1.0) * gap)
        a = np.maximum(a - g / dg, m)
    floor_n = np.floor(m).astype(np.int64)  # the smallest n for which the bound holds
    n = np.clip(np.ceil(a).astype(np.int64) - 1, floor_n, max_n + 1)
    ln_fact = gammaln(np.arange(max_n + 4, dtype=np.float64))  # ln_fact[i] = ln((i-1)!)

    def log_bound(i: NDArray[np.intp], k: NDArray[np.int64]) -> FloatArray:
        return (k + 1) * ln_m[i] - m[i] - ln_fact[k + 2] - np.log1p(-m[i] / (k + 2))

    idx = np.arange(todo.size)
    while True:  # up, where the estimate fell short of the exact cut
        idx = idx[(n[idx] <= max_n) & (log_bound(idx, n[idx]) > lq[idx])]
        if idx.size == 0:
            break
        n[idx] += 1
    idx = np.arange(todo.size)
    while True:  # down, while one term fewer still meets the bound
        idx = idx[n[idx] > floor_n[idx]]
        idx = idx[log_bound(idx, n[idx] - 1) <= lq[idx]]
        if idx.size == 0:
            break
        n[idx] -= 1
    out[todo] = n
    return out


def _merton_term_counts(
    S: FloatArray,
    kdf: FloatArray,
    is_call: NDArray[np.bool_],
    m: FloatArray,
    m_prime: FloatArray,
    abs_tol: FloatArray,
    theta_needed: bool,
    lam: float,
    max_terms: int,
) -> NDArray[np.int64]:
    """How many Poisson terms each option needs, from its own bound on the truncation error.

    Term j is ``p_j(λT) df Black(F_j, K, v_j)`` with ``F_j = S e^{(r-λk)T} (1+k)^j``. A call's
    Black value is below ``F_j``; weighted, ``p_j(λT) df F_j = S p_j(λ(1+k)T)``. A put's is
    below ``K``. So the terms after term ``n`` add at most ``S P(N' > n)`` for calls and
    ``K e^{-rT} P(N > n)`` for puts, with N ~ Poisson(λT), N' ~ Poisson(λ(1+k)T); an option
    stops at the first ``n`` where that is within ``abs_tol``. Theta also differentiates the
    weights, λ (p_{j-1} - p_j): for Greeks the bound is taken one term later and scaled by
    max(1, λ). An option's count depends on that option alone, so a batch prices each option
    exactly as it would be priced alone.
    """
    scale = max(1.0, lam) if theta_needed else 1.0
    bound_on = np.where(is_call, S, kdf) * scale
    with np.errstate(divide="ignore"):
        log_q = np.log(abs_tol) - np.log(bound_on)
    cut = _poisson_tail_cut(np.where(is_call, m_prime, m), log_q, max_terms)
    counts = cut + (2 if theta_needed else 1)  # terms 0..cut, and one more for theta
    if counts.size and int(counts.max()) > max_terms:
        raise RuntimeError(
            f"Merton series did not reach tolerance within {max_terms} terms (λT up to {float(m.max())})"
        )
    return counts


def _merton_arrays(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    is_call: NDArray[np.bool_],
    jumps: JumpParams,
    mode: Literal["price", "delta_gamma", "all"],
    tol: float,
    max_terms: int,
) -> tuple[FloatArray, ...]:
    """The Poisson series on validated arrays, each option cut at its own term count, block by block."""
    shape = np.broadcast_shapes(S.shape, K.shape, T.shape, sigma.shape, r.shape, is_call.shape)
    s, k, t, sig, rr = (np.broadcast_to(a, shape).ravel() for a in (S, K, T, sigma, r))
    call = np.broadcast_to(is_call, shape).ravel()
    n = int(np.prod(shape))
    outs = [np.empty(n) for _ in range({"price": 1, "delta_gamma": 2, "all": 6}[mode])]
    for lo in range(0, n, _MERTON_BLOCK):
        b = slice(lo, lo + _MERTON_BLOCK)
        results = _merton_block(s[b], k[b], t[b], sig[b], rr[b], call[b], jumps, mode, tol, max_terms)
        for out, part in zip(outs, results, strict=True):
            out[b] = part
    return tuple(out.reshape(shape) for out in outs)


def _merton_block(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    is_call: NDArray[np.bool_],
    jumps: JumpParams,
    mode: Literal["price", "delta_gamma", "all"],
    tol: float,
    max_terms: int,
) -> tuple[FloatArray, ...]:
    """One block of 1-D options: term counts, sorted by count, the series, then the input order back.

    Sorted by how many terms they need (most first), the options still summing at term j are a
    prefix of the block: every term is computed for exactly the options that need it, on
    contiguous slices (no masks, no gathers inside the loop).
    """
    lam, kj = jumps.intensity, jumps.k
    df = np.exp(-r * T)
    m = lam * T
    counts = _merton_term_counts(S, K * df, is_call, m, m * (1.0 + kj), tol * (S + K), mode == "all", lam, max_terms)
    # Radix sort on small integers: linear time, and stable, so equal counts keep input order.
    order = np.argsort((max_terms - counts).astype(np.uint16 if max_terms < 65_536 else np.int64), kind="stable")
    S, K, T, sigma, r, df, m = (a[order] for a in (S, K, T, sigma, r, df, m))
    counts = counts[order]
    # counts is descending: the options needing term j are the first (counts > j).sum().
    active = np.searchsorted(-counts, -np.arange(int(counts[0]) if counts.size else 0), side="left").tolist()
    f0 = S * np.exp((r - lam * kj) * T)  # forward under the compensated drift
    sums = _merton_sums(f0, K, _sign(is_call[order]), sigma * sigma * T, m, active, jumps, mode)
    results = _merton_greeks_from_sums(sums, S, T, sigma, r, df, f0, K, m, lam, kj, mode)
    unsorted = []
    for values in results:
        full = np.empty_like(values)
        full[order] = values
        unsorted.append(full)
    return tuple(unsorted)


def _merton_sums(
    f0: FloatArray,
    K: FloatArray,
    w: FloatArray,
    var_diff: FloatArray,
    m: FloatArray,
    active: list[int],
    jumps: JumpParams,
    mode: str,
) -> tuple[FloatArray, ...]:
    """Undiscounted sums over the terms, ``B_j = Black(F_j, K, v_j)``, ``v_j² = sigma² T + j δ²``:

    P = Σ p_j B_j;  D = Σ p_j F_j w N(w d1);  A = Σ p_j F_j e^{-d1²/2} / v_j (φ without its
    constant);  Q = Σ p_{j-1} B_j, so that Σ λ (p_{j-1} - p_j) B_j = λ (Q - P) is the derivative of
    the weights in T. price needs P; delta_gamma D and A; all four for Greeks.
    """
    n = f0.size
    lnj, dj2 = jumps.log_mean_jump, jumps.jump_vol**2
    want_price = mode != "delta_gamma"
    want_greeks = mode != "price"
    P, D, A, Q = (np.zeros(n) for _ in range(4))
    with np.errstate(divide="ignore"):
        x0 = np.log(f0 / K)
        ln_m = np.log(m)  # -inf where m == 0, so p_j = 0 for j >= 1 there
    may_be_flat = bool((var_diff == 0.0).any())  # a zero total vol only where sigma² T = 0
    p_prev = np.zeros(n)
    for j, a in enumerate(active):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if j:
                x = x0[:a] + j * lnj
                v = np.sqrt(var_diff[:a] + j * dj2)
                p = np.exp(j * ln_m[:a] - (m[:a] + math.lgamma(j + 1.0)))
            else:
                x, v, p = x0, np.sqrt(var_diff), np.exp(-m)
            d1 = x / v + 0.5 * v
        ww, f = w[:a], f0[:a] * math.exp(j * lnj)
        wd1 = ww * d1
        wn1 = ww * ndtr(wd1)
        flat = (v == 0.0) if may_be_flat else None
        if flat is not None and flat.any():
            wn1 = np.where(flat, ww * _step(ww * (f - K[:a])), wn1)
        fwn1 = f * wn1
        if want_price:
            wn2 = ww * ndtr(wd1 - ww * v)
            if flat is not None and flat.any():
                wn2 = np.where(flat, ww * _step(ww * (f - K[:a])), wn2)
            black = fwn1 - K[:a] * wn2
            P[:a] += p * black
            if mode == "all" and j:
                Q[:a] += p_prev[:a] * black
                p_prev = p
            elif mode == "all":
                p_prev = p
        if not want_greeks:
            continue
        D[:a] += p * fwn1
        with np.errstate(divide="ignore", invalid="ignore"):
            e_over_v = np.exp(-0.5 * d1 * d1) / v
        if flat is not None and flat.any():
            e_over_v = np.where(flat, 0.0, e_over_v)  # gamma's Dirac mass at a kink, reported as 0
        A[:a] += (p * f) * e_over_v
    A *= _INV_SQRT_2PI
    if mode == "price":
        return (P,)
    if mode == "delta_gamma":
        return D, A
    return P, D, A, Q


def _merton_greeks_from_sums(
    sums: tuple[FloatArray, ...],
    S: FloatArray,
    T: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    df: FloatArray,
    f0: FloatArray,
    K: FloatArray,
    m: FloatArray,
    lam: float,
    k: float,
    mode: str,
) -> tuple[FloatArray, ...]:
    """Price and Greeks from the sums (see :func:`_merton_sums`).

    Every term's total vol ``v_j = sqrt(sigma² T + j δ²)`` has ``dv_j/dsigma = sigma T / v_j`` and
    ``dv_j/dT = sigma² / (2 v_j)``, so vega and the diffusion part of theta are multiples of the
    gamma sum A. The one exception is a zero total vol (sigma² T = 0, term 0), whose vega is the
    one-sided limit ``F φ(0) sqrt(T)`` exactly at the forward, as in :func:`bs_greeks`.
    """
    if mode == "price":
        return (df * sums[0],)
    if mode == "delta_gamma":
        D, A = sums
        return df * D / S, df * A / (S * S)
    P, D, A, Q = sums
    price = df * P
    delta = df * D / S
    gamma = df * A / (S * S)
    at_forward_flat = (sigma == 0.0) & (f0 == K)
    vega = df * (sigma * T * A + np.where(at_forward_flat, np.exp(-m) * f0 * _INV_SQRT_2PI * np.sqrt(T), 0.0))
    dv_dt = lam * (Q - P) + (r - lam * k) * D + 0.5 * sigma * sigma * A  # d/dT of the undiscounted sum
    theta = r * price - df * dv_dt
    rho = -T * price + df * T * D
    return price, delta, gamma, vega, theta, rho


def merton_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    jumps: JumpParams,
    *,
    tol: float = 1e-12,
    max_terms: int = 2_000,
) -> FloatArray:
    """Merton (1976) jump-diffusion price: a Poisson-weighted sum of Black prices.

    ``V = e^{-rT} Σ_j p_j(λT) Black(F_j, K, sqrt(σ²T + j δ²))`` with
    ``F_j = S e^{(r - λk)T} (1+k)^j`` (the forward given j jumps). ``sigma`` is the diffusion
    volatility only. The series stops after the first term j for which the remaining Poisson
    tail mass times a bound on every later Black value is at most ``tol * (S + K)`` for every
    option (see :func:`_merton_truncation`): the truncation error is then provably below that
    bound, whatever λT is. Zero intensity reduces exactly to Black-Scholes.
    """
    s, k, t, v, rr, c = _inputs(S, K, T, sigma, r, is_call)
    return _merton_arrays(s, k, t, v, rr, c, jumps, "price", tol, max_terms)[0]


def merton_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    jumps: JumpParams,
    *,
    tol: float = 1e-12,
    max_terms: int = 2_000,
) -> OptionGreeks:
    """Merton (1976) price and Greeks (same units as :func:`bs_greeks`; vega is d/d sigma of
    the diffusion volatility). Greeks are the analytic term-by-term derivatives of the series,
    including the derivative of the Poisson weights for theta."""
    s, k, t, v, rr, c = _inputs(S, K, T, sigma, r, is_call)
    return OptionGreeks(*_merton_arrays(s, k, t, v, rr, c, jumps, "all", tol, max_terms))


def merton_delta_gamma(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    jumps: JumpParams,
    *,
    tol: float = 1e-10,
    max_terms: int = 2_000,
) -> tuple[FloatArray, FloatArray]:
    """Merton delta and gamma only: what a hedger needs per path and step, at a fraction of
    the cost of :func:`merton_greeks`."""
    s, k, t, v, rr, c = _inputs(S, K, T, sigma, r, is_call)
    delta, gamma = _merton_arrays(s, k, t, v, rr, c, jumps, "delta_gamma", tol, max_terms)
    return delta, gamma


# ----------------------------------------------------------------------------- portfolio


@dataclass(frozen=True)
class OptionBook:
    """Positions in European options on one underlying.

    ``quantities`` are signed units of underlying per option series: negative = written
    (sold) by the vault, positive = held. ``expiries`` are years to expiry from now.
    """

    strikes: FloatArray
    expiries: FloatArray
    is_call: NDArray[np.bool_]
    quantities: FloatArray

    def __post_init__(self) -> None:
        # Own copies, frozen below: the caller's arrays are neither aliased nor made read-only.
        arrays: dict[str, np.ndarray] = {
            "strikes": np.array(_as_array("strikes", self.strikes), ndmin=1),
            "expiries": np.array(_as_array("expiries", self.expiries), ndmin=1),
            "is_call": np.array(_as_bool("is_call", self.is_call), ndmin=1),
            "quantities": np.array(_as_array("quantities", self.quantities), ndmin=1),
        }
        n = arrays["strikes"].shape
        for name, arr in arrays.items():
            if arr.ndim != 1 or arr.shape != n:
                raise ValueError(f"{name} has shape {arr.shape}; every book array must have shape {n}")
        _check("strikes", arrays["strikes"], "positive")
        _check("expiries", arrays["expiries"], "non-negative")
        _check("quantities", arrays["quantities"], "finite")
        for name, arr in arrays.items():
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.strikes.shape[0])

    def aged(self, years: float) -> OptionBook:
        """The same book ``years`` later (expiries shortened, floored at 0)."""
        return OptionBook(self.strikes, np.maximum(self.expiries - years, 0.0), self.is_call, self.quantities)


@dataclass(frozen=True)
class BookGreeks:
    """Net sensitivities of an option book plus a spot hedge, in base and in USD (quote) units.

    Fields are floats for one spot, arrays when priced on an array of spots (e.g. paths).
    ``option_delta`` excludes the hedge; ``net_delta = option_delta + hedge_base``.
    ``gamma`` is d(net delta)/dS in base per USD; ``gamma_usd`` is the change of net
    delta-in-USD for a 1 % spot move (``gamma S² / 100``). ``vega_usd`` per 1.00 vol,
    ``theta_usd`` per year, ``rho_usd`` per 1.00 rate. ``value_usd`` is the signed mark of the
    options (written options count negative). ``tau_years`` is the |gamma|-weighted mean time
    to expiry (what a band policy discounts with).
    """

    spot: float | FloatArray
    option_delta: float | FloatArray
    hedge_base: float | FloatArray
    gamma: float | FloatArray
    vega_usd: float | FloatArray
    theta_usd: float | FloatArray
    rho_usd: float | FloatArray
    value_usd: float | FloatArray
    tau_years: float | FloatArray

    @property
    def net_delta(self) -> float | FloatArray:
        """Net delta in base units (options + hedge)."""
        return self.option_delta + self.hedge_base

    @property
    def net_delta_usd(self) -> float | FloatArray:
        return self.net_delta * self.spot

    @property
    def gamma_usd(self) -> float | FloatArray:
        return self.gamma * self.spot * self.spot / 100.0

    @property
    def theta_usd_per_day(self) -> float | FloatArray:
        return self.theta_usd / DAYS_PER_YEAR


def book_greeks(
    spot: ArrayLike,
    book: OptionBook,
    sigma: ArrayLike,
    r: float,
    hedge_base: ArrayLike = 0.0,
    jumps: JumpParams | None = None,
) -> BookGreeks:
    """Aggregate a book's Greeks at one spot or at an array of spots (one per path).

    ``sigma`` is one volatility for the book or one per option series (a smile); with
    ``jumps`` the Merton model prices the book (sigma is then the diffusion volatility).
    Summation is over the option axis; ``spot`` and ``hedge_base`` broadcast together.
    """
    s = _as_array("spot", spot)
    h = _as_array("hedge_base", hedge_base)
    _broadcast_shape(spot=s, hedge_base=h)
    _check("hedge_base", h, "finite")
    sig = _as_array("sigma", sigma)
    if sig.ndim > 1 or (sig.ndim == 1 and sig.shape[0] != len(book)):
        raise ValueError(f"sigma has shape {sig.shape}; give one volatility or one per option ({len(book)})")
    s_col = s[..., None]
    args = (s_col, book.strikes, book.expiries, sig, r, book.is_call)
    g = merton_greeks(*args, jumps) if jumps is not None else bs_greeks(*args)
    q = book.quantities

    def total(a: FloatArray) -> float | FloatArray:
        out = (a * q).sum(axis=-1)
        return float(out) if out.ndim == 0 else out

    abs_gamma = np.abs(g.gamma * q)
    weight = abs_gamma.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(
            weight > 0.0,
            (abs_gamma * book.expiries).sum(axis=-1) / weight,
            float(book.expiries.min()) if len(book) else 0.0,
        )
    hedge = np.broadcast_to(h, s.shape)
    return BookGreeks(
        spot=float(s) if s.ndim == 0 else s,
        option_delta=total(g.delta),
        hedge_base=float(hedge) if hedge.ndim == 0 else np.array(hedge),
        gamma=total(g.gamma),
        vega_usd=total(g.vega),
        theta_usd=total(g.theta),
        rho_usd=total(g.rho),
        value_usd=total(g.price),
        tau_years=float(tau) if np.ndim(tau) == 0 else tau,
    )
