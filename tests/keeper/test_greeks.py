"""Black-Scholes prices and Greeks: textbook values, identities, limits and input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.greeks import (
    SECONDS_PER_YEAR,
    bs_delta_gamma,
    bs_greeks,
    bs_price,
    theta_per_day,
    years_from_seconds,
)

# The golden-vector domain: strike/spot 0.2..5, vol 5%..300%, 1 hour..2 years, rate 0..20%.
spots = st.floats(1.0, 10_000.0)
ratios = st.floats(0.2, 5.0)
vols = st.floats(0.05, 3.0)
times = st.floats(3600.0 / SECONDS_PER_YEAR, 2.0)
rates = st.floats(0.0, 0.2)
HYP = settings(max_examples=150, deadline=None)


def test_call_matches_haug_textbook_value():
    # Haug, The Complete Guide to Option Pricing Formulas (2nd ed. 2007), §1.1.1 example:
    # S=60, K=65, T=0.25, r=8%, sigma=30% -> call 2.1334.
    assert bs_price(60.0, 65.0, 0.25, 0.30, 0.08, True) == pytest.approx(2.1334, abs=5e-5)


def test_call_and_put_match_hull_textbook_values():
    # Hull, Options, Futures, and Other Derivatives, Black-Scholes-Merton worked example:
    # S0=42, K=40, r=10%, sigma=20%, T=0.5 -> c=4.76, p=0.81.
    call, put = bs_price(42.0, 40.0, 0.5, 0.2, 0.1, np.array([True, False]))
    assert call == pytest.approx(4.76, abs=5e-3)
    assert put == pytest.approx(0.81, abs=5e-3)


@HYP
@given(spots, ratios, times, vols, rates)
def test_put_call_parity_holds(s, ratio, t, sigma, r):
    k = s * ratio
    call, put = bs_price(s, k, t, sigma, r, np.array([True, False]))
    assert call - put == pytest.approx(s - k * math.exp(-r * t), abs=1e-10 * (s + k))


@HYP
@given(spots, ratios, times, vols, rates)
def test_delta_difference_between_call_and_put_is_one(s, ratio, t, sigma, r):
    g = bs_greeks(s, s * ratio, t, sigma, r, np.array([True, False]))
    assert g.delta[0] - g.delta[1] == pytest.approx(1.0, abs=1e-12)
    assert g.gamma[0] == pytest.approx(g.gamma[1], rel=1e-12, abs=1e-300)


@HYP
@given(spots, st.floats(0.5, 2.0), st.floats(0.02, 2.0), st.floats(0.1, 2.0), rates, st.booleans())
def test_greeks_equal_finite_differences_of_price(s, ratio, t, sigma, r, is_call):
    k = s * ratio
    g = bs_greeks(s, k, t, sigma, r, is_call)

    def price(**bump):
        args = {"S": s, "K": k, "T": t, "sigma": sigma, "r": r} | bump
        return float(bs_price(args["S"], args["K"], args["T"], args["sigma"], args["r"], is_call))

    hd, hs, hv, ht, hr = 1e-5 * s, 1e-4 * s, 1e-5, 1e-6, 1e-6
    scale = s  # compare in price units relative to the spot
    fd_delta = (price(S=s + hd) - price(S=s - hd)) / (2 * hd)
    fd_gamma = (price(S=s + hs) - 2 * price() + price(S=s - hs)) / (hs * hs)
    fd_vega = (price(sigma=sigma + hv) - price(sigma=sigma - hv)) / (2 * hv)
    fd_theta = -(price(T=t + ht) - price(T=t - ht)) / (2 * ht)
    fd_rho = (price(r=r + hr) - price(r=r - hr)) / (2 * hr)
    assert g.delta == pytest.approx(fd_delta, abs=1e-7)
    assert g.gamma * scale == pytest.approx(fd_gamma * scale, rel=1e-4, abs=2e-5)
    assert g.vega / scale == pytest.approx(fd_vega / scale, abs=1e-7)
    assert g.theta / scale == pytest.approx(fd_theta / scale, abs=1e-5)
    assert g.rho / scale == pytest.approx(fd_rho / scale, abs=1e-6)


@HYP
@given(spots, ratios, times, vols, rates, st.booleans())
def test_outputs_are_finite_and_within_no_arbitrage_bounds(s, ratio, t, sigma, r, is_call):
    k = s * ratio
    g = bs_greeks(s, k, t, sigma, r, is_call)
    for value in (g.price, g.delta, g.gamma, g.vega, g.theta, g.rho):
        assert np.isfinite(value)
    kdf = k * math.exp(-r * t)
    lower = max(s - kdf, 0.0) if is_call else max(kdf - s, 0.0)
    upper = s if is_call else kdf
    tol = 1e-12 * (s + k)
    assert lower - tol <= g.price <= upper + tol
    assert g.gamma >= 0.0 and g.vega >= 0.0


def test_zero_time_gives_intrinsic_value_and_step_delta():
    s = np.array([90.0, 100.0, 110.0])
    g = bs_greeks(s, 100.0, 0.0, 0.5, 0.05, True)
    np.testing.assert_array_equal(g.price, [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(g.delta, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(g.gamma, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g.vega, [0.0, 0.0, 0.0])
    put = bs_greeks(s, 100.0, 0.0, 0.5, 0.05, False)
    np.testing.assert_array_equal(put.price, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(put.delta, [-1.0, -0.5, 0.0])


def test_zero_vol_gives_discounted_intrinsic_of_forward():
    s, k, t, r = 100.0, np.array([90.0, 104.0, 110.0]), 0.5, 0.1
    g = bs_greeks(s, k, t, 0.0, r, True)
    expected = np.maximum(s - k * math.exp(-r * t), 0.0)
    np.testing.assert_allclose(g.price, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(g.delta, (s * math.exp(r * t) > k).astype(float))
    np.testing.assert_array_equal(g.gamma, 0.0)
    assert g.theta[0] == pytest.approx(-r * 90.0 * math.exp(-r * t))


def test_tiny_vol_converges_to_the_zero_vol_limit():
    k = np.array([90.0, 110.0])
    limit = bs_price(100.0, k, 0.5, 0.0, 0.05, True)
    near = bs_price(100.0, k, 0.5, 1e-9, 0.05, True)
    np.testing.assert_allclose(near, limit, atol=1e-9)


def test_arrays_broadcast_without_python_loops_over_options():
    s = np.linspace(50.0, 150.0, 7)[:, None]
    k = np.array([80.0, 100.0, 120.0])[None, :]
    g = bs_greeks(s, k, 0.25, 0.6, 0.03, np.array([True, False, True]))
    assert g.price.shape == (7, 3)
    assert g.delta[3, 1] == pytest.approx(float(bs_greeks(s[3, 0], 100.0, 0.25, 0.6, 0.03, False).delta))


def test_delta_gamma_fast_path_matches_full_greeks():
    s = np.array([[80.0], [100.0], [120.0]])
    k = np.array([90.0, 110.0])
    t = np.array([0.0, 0.3])
    w = np.array([1.0, -1.0])
    delta, gamma = bs_delta_gamma(s, k, t, 0.7, 0.02, w)
    full = bs_greeks(s, k, t, 0.7, 0.02, np.array([True, False]))
    np.testing.assert_allclose(delta, full.delta, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(gamma, full.gamma, rtol=1e-14, atol=1e-15)


def test_theta_per_day_divides_by_365():
    assert float(theta_per_day(-36.5)) == pytest.approx(-0.1)


def test_years_from_seconds_uses_a_365_day_year():
    assert float(years_from_seconds(31_536_000)) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"S": -1.0}, "S"),
        ({"S": 0.0}, "S"),
        ({"K": -5.0}, "K"),
        ({"T": -0.1}, "T"),
        ({"sigma": -0.2}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"r": float("inf")}, "r"),
        ({"S": np.array([100.0, float("nan")])}, "S"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, name):
    args = {"S": 100.0, "K": 100.0, "T": 0.5, "sigma": 0.3, "r": 0.01, "is_call": True} | kwargs
    with pytest.raises(ValueError, match=rf"^{name} "):
        bs_greeks(**args)


def test_mismatched_shapes_raise_value_error_naming_the_argument():
    with pytest.raises(ValueError, match=r"^K has shape \(3,\)"):
        bs_price(np.ones(2) * 100.0, np.array([90.0, 100.0, 110.0]), 0.5, 0.3, 0.0, True)


def test_non_boolean_is_call_is_rejected():
    with pytest.raises(ValueError, match="is_call must be boolean"):
        bs_price(100.0, 100.0, 0.5, 0.3, 0.0, np.array([1, 0]))
