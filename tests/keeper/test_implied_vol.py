"""Implied volatility: round trips across the domain, in the wings, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.greeks import SECONDS_PER_YEAR, bs_greeks, bs_price, implied_vol

HOUR = 3600.0 / SECONDS_PER_YEAR


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.2, 5.0),
    st.floats(HOUR, 2.0),
    st.floats(0.05, 3.0),
    st.floats(0.0, 0.2),
    st.booleans(),
)
def test_implied_vol_round_trips_across_the_domain(ratio, t, sigma, r, is_call):
    s, k = 100.0, 100.0 * ratio
    g = bs_greeks(s, k, t, sigma, r, is_call)
    price = float(g.price)
    iv = float(implied_vol(price, s, k, t, r, is_call))
    # The price the solver's vol reproduces is always within float resolution of the input...
    assert float(bs_price(s, k, t, iv, r, is_call)) == pytest.approx(price, rel=1e-9, abs=1e-12 * s)
    # ...and where the price carries information about vol (vega not lost in rounding of the
    # price), the vol itself comes back.
    if float(g.vega) * sigma > 1e-6 * price and price > 1e-200:
        assert iv == pytest.approx(sigma, rel=1e-6)


@pytest.mark.parametrize(
    ("ratio", "t", "sigma", "is_call"),
    [
        (3.0, 1 / 365, 1.5, True),  # deep OTM call, one day
        (5.0, 2.0, 0.5, True),  # far OTM call, long dated
        (0.3, 7 / 365, 2.0, False),  # deep OTM put, one week
        (0.2, 2.0, 0.3, False),  # far OTM put, long dated
        (1.02, 1 / 8760, 0.8, True),  # one hour, slightly OTM
        (0.99, 1 / 8760, 0.05, False),  # one hour, low vol
        (1.0, 1 / 8760, 3.0, True),  # one hour, ATM, very high vol
        (1.3, 1 / 365, 0.6, True),  # tiny price (~1e-30)
    ],
)
def test_implied_vol_round_trips_deep_otm_and_short_expiries(ratio, t, sigma, is_call):
    price = float(bs_price(100.0, 100.0 * ratio, t, sigma, 0.03, is_call))
    assert price > 0.0
    assert float(implied_vol(price, 100.0, 100.0 * ratio, t, 0.03, is_call)) == pytest.approx(sigma, rel=1e-8)


@pytest.mark.parametrize(("ratio", "is_call"), [(0.5, True), (2.0, False), (0.7, True), (1.6, False)])
def test_implied_vol_round_trips_deep_itm_through_parity(ratio, is_call):
    t, sigma = 30 / 365, 0.9
    price = float(bs_price(100.0, 100.0 * ratio, t, sigma, 0.05, is_call))
    assert float(implied_vol(price, 100.0, 100.0 * ratio, t, 0.05, is_call)) == pytest.approx(sigma, rel=1e-7)


def test_implied_vol_is_vectorised_over_mixed_inputs():
    rng = np.random.default_rng(3)
    n = 5000
    s = rng.uniform(10.0, 5000.0, n)
    k = s * np.exp(rng.uniform(-0.7, 0.7, n))
    t = rng.uniform(1 / 365, 1.5, n)
    sigma = rng.uniform(0.1, 2.0, n)
    is_call = rng.random(n) < 0.5
    g = bs_greeks(s, k, t, sigma, 0.04, is_call)
    iv = implied_vol(g.price, s, k, t, 0.04, is_call)
    np.testing.assert_allclose(bs_price(s, k, t, iv, 0.04, is_call), g.price, rtol=1e-9, atol=1e-9)
    informative = g.vega * sigma > 1e-6 * g.price  # elsewhere the time value is lost in rounding
    assert informative.mean() > 0.9
    np.testing.assert_allclose(iv[informative], sigma[informative], rtol=1e-6)


def test_price_at_lower_bound_gives_zero_vol():
    s, k, t, r = 100.0, 90.0, 0.5, 0.05
    lower = s - k * math.exp(-r * t)
    assert float(implied_vol(lower, s, k, t, r, True)) == 0.0


def test_price_below_intrinsic_raises_naming_price():
    with pytest.raises(ValueError, match=r"^price .* outside the no-arbitrage range"):
        implied_vol(5.0, 100.0, 90.0, 0.5, 0.0, True)


def test_price_above_spot_for_a_call_raises_naming_price():
    with pytest.raises(ValueError, match=r"^price "):
        implied_vol(100.0, 100.0, 90.0, 0.5, 0.0, True)


def test_errors_nan_marks_only_the_bad_entries():
    prices = np.array([5.0, float(bs_price(100.0, 90.0, 0.5, 0.4, 0.0, True))])
    iv = implied_vol(prices, 100.0, 90.0, 0.5, 0.0, True, errors="nan")
    assert math.isnan(iv[0])
    assert iv[1] == pytest.approx(0.4, rel=1e-9)


def test_zero_time_is_rejected_naming_t():
    with pytest.raises(ValueError, match=r"^T must be positive"):
        implied_vol(1.0, 100.0, 100.0, 0.0, 0.0, True)


def test_negative_price_is_rejected_naming_price():
    with pytest.raises(ValueError, match=r"^price must be non-negative"):
        implied_vol(-1.0, 100.0, 100.0, 0.5, 0.0, True)


def test_price_one_ulp_below_the_upper_bound_gives_a_finite_vol_that_reprices_it():
    s, k = 100.0, 200.0
    near_upper = float(np.nextafter(s, 0.0))
    iv = float(implied_vol(near_upper, s, k, 1.0, 0.0, True))
    assert math.isfinite(iv) and iv > 10.0
    assert float(bs_price(s, k, 1.0, iv, 0.0, True)) == pytest.approx(near_upper, rel=1e-12)  # the solver's rtol


def test_errors_nan_gives_nan_for_zero_time_nan_and_negative_prices_and_solves_the_rest():
    good = float(bs_price(100.0, 90.0, 0.5, 0.4, 0.0, True))
    prices = np.array([good, float("nan"), -1.0, good, good])
    t = np.array([0.5, 0.5, 0.5, 0.0, -0.25])
    iv = implied_vol(prices, 100.0, 90.0, t, 0.0, True, errors="nan")
    assert iv[0] == pytest.approx(0.4, rel=1e-9)
    assert np.isnan(iv[1:]).all()


def test_nan_price_raises_naming_price_by_default():
    with pytest.raises(ValueError, match=r"^price must be non-negative and finite; got nan at index \(1,\)"):
        implied_vol([1.0, float("nan")], 100.0, 100.0, 0.5, 0.0, True)


def test_every_bs_price_output_inverts_without_raising():
    # In the money the price is S N(d1) - K e^{-rT} N(d2): its rounding is a few ulps of S, which
    # can put it below the intrinsic value S - K e^{-rT} by many ulps *of the intrinsic value*
    # (a slack scaled by the intrinsic value refused 3 in 10^6 of these and failed the batch).
    rng = np.random.default_rng(5)
    n = 400_000
    s = 100.0
    k = s * rng.uniform(0.8, 1.25, n)
    t = rng.uniform(HOUR, 2.0, n)
    sigma = rng.uniform(0.05, 3.0, n)
    r = rng.uniform(0.0, 0.2, n)
    calls = rng.random(n) < 0.5
    prices = bs_price(s, k, t, sigma, r, calls)
    iv = implied_vol(prices, s, k, t, r, calls)  # errors="raise": any refusal fails the test
    np.testing.assert_allclose(bs_price(s, k, t, iv, r, calls), prices, rtol=1e-9, atol=1e-12 * s)


@pytest.mark.parametrize("ulps", [1, 2])
@pytest.mark.parametrize("is_call", [True, False])
def test_deep_itm_price_a_few_ulps_below_intrinsic_is_the_bound(ulps, is_call):
    s, k, t, r = 100.0, (90.0 if is_call else 112.0), 0.5, 0.05
    intrinsic = (s - k * math.exp(-r * t)) if is_call else (k * math.exp(-r * t) - s)
    price = intrinsic - ulps * float(np.spacing(s))  # the rounding of a price of terms of size S
    assert float(implied_vol(price, s, k, t, r, is_call)) == 0.0


def test_price_well_below_intrinsic_still_raises():
    s, k, t, r = 100.0, 90.0, 0.5, 0.05
    intrinsic = s - k * math.exp(-r * t)
    with pytest.raises(ValueError, match=r"^price .* outside the no-arbitrage range"):
        implied_vol(intrinsic - 1e-9, s, k, t, r, True)
