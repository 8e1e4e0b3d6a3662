"""An independent Black-Scholes reference for the vault tests (floats, scipy's ndtr).

Units follow the on-chain library's documentation: a 365-day year, continuously compounded rate,
no dividends; at T = 0 the value is the discounted-forward intrinsic, i.e. plain intrinsic.
Textbook formulas: Hull, "Options, Futures, and Other Derivatives", ch. 15 (BSM for calls and puts).
"""

from __future__ import annotations

import math

from scipy.special import ndtr

YEAR = 365 * 86_400
WAD = 10**18


def price_delta(spot: float, strike: float, t_seconds: float, vol: float, rate: float, is_call: bool) -> tuple[float, float]:
    """(price, holder's delta) of one European option, in the units of `spot`."""
    if t_seconds <= 0 or vol <= 0:
        if is_call:
            return max(spot - strike, 0.0), 1.0 if spot > strike else 0.0
        return max(strike - spot, 0.0), -1.0 if strike >= spot else 0.0
    t = t_seconds / YEAR
    sd = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / sd
    d2 = d1 - sd
    disc = strike * math.exp(-rate * t)
    if is_call:
        return float(spot * ndtr(d1) - disc * ndtr(d2)), float(ndtr(d1))
    return float(disc * ndtr(-d2) - spot * ndtr(-d1)), float(ndtr(d1)) - 1.0


def series_price_delta(series, spot_wad: int, vol_wad: int, rate_wad: int, now: int) -> tuple[float, float]:
    """The same for a series tuple (strikeWad, expiry, isCall, ...) as the market stores it."""
    strike_wad, expiry, is_call = series[0], series[1], series[2]
    return price_delta(
        spot_wad / WAD, strike_wad / WAD, max(expiry - now, 0), vol_wad / WAD, rate_wad / WAD, bool(is_call)
    )
