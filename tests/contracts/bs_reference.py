"""Reference Black-Scholes for the contract tests.

Two references:
- `bs_float`: vectorised float64 with `scipy.special.ndtr`, the same model the keeper uses; the golden
  test compares the chain with it (the brief's reference).
- `*_hp`: 50-digit `decimal` arithmetic from the exact integer inputs the chain receives, so the
  measured error is the library's own and not float64 noise. The normal CDF is the series
  Phi(x) = 1/2 + phi(x) * sum x^(2n+1) / (2n+1)!! for |x| <= 6 (all terms positive: no cancellation)
  and Laplace's continued fraction for the tail beyond.

Units follow the library: a year is 365 days, vega is per 1.0 of volatility, gamma per unit of spot.
The degenerate case (T = 0 or sigma sqrt(T) below MIN_VOL_SQRT_T) uses the library's conventions:
discounted-forward intrinsic value, call delta 1 if S > K e^{-rT} else 0, gamma = vega = 0.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
from scipy.special import ndtr

WAD = 10**18
SECONDS_PER_YEAR = 365 * 24 * 3600
MIN_VOL_SQRT_T_WAD = 10**8
PREC = 50

_D_WAD = Decimal(WAD)


def ncdf_hp(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PREC
        x = Decimal(x)
        y = abs(x)
        if y > 40:
            tail = Decimal(0)
        elif y <= 6:
            term, total, n = y, y, 0
            y2 = y * y
            eps = Decimal(10) ** (-PREC)
            while term > eps * total:
                n += 1
                term = term * y2 / (2 * n + 1)
                total += term
            tail = Decimal("0.5") - npdf_hp(y) * total
        else:
            f = y
            for k in range(400, 0, -1):
                f = y + k / f
            tail = npdf_hp(y) / f
        return tail if x < 0 else 1 - tail


def npdf_hp(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PREC
        x = Decimal(x)
        two_pi = 2 * _pi()
        return (-(x * x) / 2).exp() / two_pi.sqrt()


def _pi() -> Decimal:
    return Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def bs_hp(spot_wad: int, strike_wad: int, t_seconds: int, vol_wad: int, rate_wad: int) -> dict[str, Decimal]:
    """Exact-input reference in real units (not WAD): call, put, call_delta, put_delta, gamma, vega."""
    with localcontext() as ctx:
        ctx.prec = PREC
        s = Decimal(spot_wad) / _D_WAD
        k = Decimal(strike_wad) / _D_WAD
        t = Decimal(t_seconds) / SECONDS_PER_YEAR
        sig = Decimal(vol_wad) / _D_WAD
        r = Decimal(rate_wad) / _D_WAD
        kd = k * (-r * t).exp()
        v = sig * t.sqrt()
        if v * _D_WAD < MIN_VOL_SQRT_T_WAD:
            nd1 = Decimal(1) if s > kd else Decimal(0)
            return {
                "call": max(s - kd, Decimal(0)),
                "put": max(kd - s, Decimal(0)),
                "call_delta": nd1,
                "put_delta": nd1 - 1,
                "gamma": Decimal(0),
                "vega": Decimal(0),
                "d1": None,
            }
        d1 = ((s / k).ln() + (r + sig * sig / 2) * t) / v
        d2 = d1 - v
        nd1, nd2 = ncdf_hp(d1), ncdf_hp(d2)
        pdf = npdf_hp(d1)
        return {
            "call": s * nd1 - kd * nd2,
            "put": kd * (1 - nd2) - s * (1 - nd1),
            "call_delta": nd1,
            "put_delta": nd1 - 1,
            "gamma": pdf / (s * v),
            "vega": s * pdf * t.sqrt(),
            "d1": d1,
        }


def bs_float(spot, strike, t_seconds, sigma, rate) -> dict[str, np.ndarray]:
    """float64 Black-Scholes (scipy.special.ndtr) on arrays in real units; requires sigma sqrt(T) > 0."""
    s, k = np.asarray(spot, float), np.asarray(strike, float)
    t = np.asarray(t_seconds, float) / SECONDS_PER_YEAR
    sig, r = np.asarray(sigma, float), np.asarray(rate, float)
    v = sig * np.sqrt(t)
    kd = k * np.exp(-r * t)
    d1 = (np.log(s / k) + (r + 0.5 * sig * sig) * t) / v
    d2 = d1 - v
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)
    return {
        "call": s * ndtr(d1) - kd * ndtr(d2),
        "put": kd * ndtr(-d2) - s * ndtr(-d1),
        "call_delta": ndtr(d1),
        "put_delta": -ndtr(-d1),
        "gamma": pdf / (s * v),
        "vega": s * pdf * np.sqrt(t),
    }


def to_wad(x) -> int:
    """Exact WAD integer of a decimal string or number (floats via their shortest repr)."""
    d = Decimal(x) if isinstance(x, (str, int)) else Decimal(repr(float(x)))
    return int((d * _D_WAD).to_integral_value())
