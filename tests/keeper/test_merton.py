"""Merton (1976) jump-diffusion: reference values, reduction to Black-Scholes, Greeks, truncation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.greeks import JumpParams, bs_greeks, merton_delta_gamma, merton_greeks, merton_price

# Haug, "The Complete Guide to Option Pricing Formulas" (McGraw-Hill 1998, p. 9), Merton
# jump-diffusion calls, S=100, r=8 %, no dividend, total vol v=25 %, as corrected to 1e-2 by
# QuantLib's test-suite (jumpdiffusion.cpp, testMerton76: Haug truncated the series at 11
# terms). Haug's parametrisation: intensity λ, gamma = share of the total variance from jumps,
# jump vol δ = v sqrt(gamma/λ), diffusion vol v sqrt(1-gamma), E[J] = 1 (mean log jump -δ²/2).
# Keys (gamma, strike); values ordered λ = 1, 5, 10 and within each T = 0.10, 0.25, 0.50.
HAUG_MERTON = {
    (0.25, 80.0): (20.67, 21.74, 23.63, 20.65, 21.70, 23.61, 20.64, 21.70, 23.61),
    (0.25, 90.0): (11.00, 12.74, 15.40, 10.98, 12.75, 15.42, 10.98, 12.75, 15.42),
    (0.25, 100.0): (3.42, 5.88, 8.95, 3.51, 5.96, 9.02, 3.53, 5.97, 9.03),
    (0.25, 110.0): (0.55, 2.11, 4.67, 0.56, 2.16, 4.73, 0.56, 2.17, 4.74),
    (0.25, 120.0): (0.10, 0.64, 2.23, 0.06, 0.63, 2.25, 0.05, 0.62, 2.25),
    (0.50, 80.0): (20.72, 21.83, 23.71, 20.66, 21.73, 23.63, 20.65, 21.71, 23.61),
    (0.50, 90.0): (11.04, 12.72, 15.34, 11.02, 12.76, 15.41, 11.00, 12.75, 15.41),
    (0.50, 100.0): (3.14, 5.58, 8.71, 3.39, 5.87, 8.96, 3.46, 5.93, 9.00),
    (0.50, 110.0): (0.53, 1.93, 4.42, 0.58, 2.11, 4.67, 0.57, 2.14, 4.71),
    (0.50, 120.0): (0.19, 0.71, 2.15, 0.10, 0.66, 2.23, 0.07, 0.64, 2.24),
    (0.75, 80.0): (20.79, 21.96, 23.86, 20.68, 21.78, 23.67, 20.66, 21.74, 23.64),
    (0.75, 90.0): (11.11, 12.75, 15.30, 11.09, 12.78, 15.39, 11.04, 12.76, 15.40),
    (0.75, 100.0): (2.70, 5.08, 8.24, 3.16, 5.71, 8.85, 3.33, 5.85, 8.95),
    (0.75, 110.0): (0.54, 1.69, 3.99, 0.62, 2.05, 4.57, 0.60, 2.11, 4.66),
    (0.75, 120.0): (0.29, 0.84, 2.09, 0.15, 0.71, 2.21, 0.11, 0.67, 2.23),
}

# An independent implementation: QuantLib 1.44 (Python bindings) BatesEngine (Heston + Merton
# jumps) with v0 = theta = 0.2², kappa = 1, vol-of-vol 1e-3, correlation 0, i.e. Merton up to
# an O(volvol²) ≈ 2e-7 residual; Actual365Fixed, S=100, r=5 %, λ=3, mean log jump -0.1,
# jump vol 0.15. Rows: (days, strike, is_call, price).
QUANTLIB_BATES_NEAR_MERTON = [
    (73, 80.0, True, 21.7274920066),
    (73, 80.0, False, 0.9314787066),
    (73, 100.0, True, 6.4583205231),
    (73, 100.0, False, 5.463303898),
    (73, 130.0, True, 0.2139445634),
    (73, 130.0, False, 28.9204229508),
    (146, 80.0, True, 23.5032647767),
    (146, 80.0, False, 1.9191586412),
    (146, 100.0, True, 9.7171024904),
    (146, 100.0, False, 7.7369698211),
    (146, 130.0, True, 1.1775536797),
    (146, 130.0, False, 28.6033812096),
]

JUMPS = JumpParams(intensity=3.0, mean_log_jump=-0.1, jump_vol=0.15)


def test_merton_matches_haug_reference_values_as_corrected_by_quantlib():
    gammas, strikes, lams, ts, expected = [], [], [], [], []
    for (share, strike), values in HAUG_MERTON.items():
        for i, value in enumerate(values):
            gammas.append(share)
            strikes.append(strike)
            lams.append((1.0, 5.0, 10.0)[i // 3])
            ts.append((0.10, 0.25, 0.50)[i % 3])
            expected.append(value)
    for share, strike, lam, t, value in zip(gammas, strikes, lams, ts, expected):
        jump_vol = 0.25 * math.sqrt(share / lam)
        jumps = JumpParams(lam, -0.5 * jump_vol**2, jump_vol)
        price = float(merton_price(100.0, strike, t, 0.25 * math.sqrt(1.0 - share), 0.08, True, jumps))
        assert price == pytest.approx(value, abs=1e-2), (share, strike, lam, t)
    assert len(expected) == 135


def test_merton_matches_quantlib_bates_engine_in_the_merton_limit():
    days, strikes, calls, expected = (np.array(col) for col in zip(*QUANTLIB_BATES_NEAR_MERTON))
    prices = merton_price(100.0, strikes.astype(float), days / 365.0, 0.2, 0.05, calls.astype(bool), JUMPS)
    np.testing.assert_allclose(prices, expected.astype(float), rtol=0, atol=1e-6)


def test_merton_with_zero_jump_intensity_equals_black_scholes():
    s, k = 100.0, np.array([60.0, 95.0, 100.0, 105.0, 180.0])
    calls = np.array([True, False, True, False, True])
    m = merton_greeks(s, k, 0.7, 0.45, 0.03, calls, JumpParams(0.0, -0.2, 0.3))
    b = bs_greeks(s, k, 0.7, 0.45, 0.03, calls)
    for field in ("price", "delta", "gamma", "vega", "theta", "rho"):
        np.testing.assert_allclose(getattr(m, field), getattr(b, field), rtol=1e-13, atol=1e-14, err_msg=field)


def test_merton_with_zero_jump_size_equals_black_scholes():
    jumps = JumpParams(intensity=8.0, mean_log_jump=0.0, jump_vol=0.0)
    m = merton_price(100.0, [90.0, 110.0], 0.5, 0.3, 0.02, True, jumps)
    np.testing.assert_allclose(
        m, bs_greeks(100.0, [90.0, 110.0], 0.5, 0.3, 0.02, True).price, rtol=0, atol=1e-12 * 210.0
    )


@settings(max_examples=60, deadline=None)
@given(st.floats(0.6, 1.6), st.floats(0.05, 2.0), st.floats(0.05, 1.0), st.floats(0.0, 0.15))
def test_merton_put_call_parity_holds(ratio, t, sigma, r):
    k = 100.0 * ratio
    call, put = merton_price(100.0, k, t, sigma, r, np.array([True, False]), JUMPS)
    assert call - put == pytest.approx(100.0 - k * math.exp(-r * t), abs=1e-9)


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("strike", [70.0, 100.0, 140.0])
def test_merton_greeks_equal_finite_differences_of_price(strike, is_call):
    s, t, sigma, r = 100.0, 0.4, 0.3, 0.04
    g = merton_greeks(s, strike, t, sigma, r, is_call, JUMPS)

    def price(s=s, t=t, sigma=sigma, r=r):
        return float(merton_price(s, strike, t, sigma, r, is_call, JUMPS, tol=1e-15))

    h = 1e-3
    assert float(g.delta) == pytest.approx((price(s=s + h) - price(s=s - h)) / (2 * h), abs=1e-7)
    assert float(g.gamma) == pytest.approx((price(s=s + h) - 2 * price() + price(s=s - h)) / h**2, abs=1e-5)
    assert float(g.vega) == pytest.approx((price(sigma=sigma + 1e-5) - price(sigma=sigma - 1e-5)) / 2e-5, abs=1e-5)
    assert float(g.theta) == pytest.approx(-(price(t=t + 1e-6) - price(t=t - 1e-6)) / 2e-6, abs=1e-4)
    assert float(g.rho) == pytest.approx((price(r=r + 1e-6) - price(r=r - 1e-6)) / 2e-6, abs=1e-4)


def test_series_truncation_error_stays_within_its_bound():
    # λT = 200 needs hundreds of terms: a loose tolerance must still be honoured.
    jumps = JumpParams(intensity=400.0, mean_log_jump=-0.01, jump_vol=0.02)
    k = np.array([80.0, 100.0, 125.0])
    calls = np.array([True, False, True])
    exact = merton_price(100.0, k, 0.5, 0.3, 0.05, calls, jumps, tol=1e-15)
    loose = merton_price(100.0, k, 0.5, 0.3, 0.05, calls, jumps, tol=1e-6)
    assert np.all(np.abs(exact - loose) <= 1e-6 * (100.0 + k))
    assert np.all(np.isfinite(exact))


def test_merton_at_expiry_is_intrinsic_with_step_delta():
    g = merton_greeks(np.array([90.0, 100.0, 110.0]), 100.0, 0.0, 0.3, 0.05, True, JUMPS)
    np.testing.assert_array_equal(g.price, [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(g.delta, [0.0, 0.5, 1.0])
    assert np.all(np.isfinite(g.theta))


def test_merton_delta_gamma_fast_path_matches_full_greeks():
    s = np.array([[90.0], [100.0], [115.0]])
    k = np.array([95.0, 105.0])
    calls = np.array([True, False])
    delta, gamma = merton_delta_gamma(s, k, 0.3, 0.35, 0.02, calls, JUMPS, tol=1e-14)
    full = merton_greeks(s, k, 0.3, 0.35, 0.02, calls, JUMPS)
    np.testing.assert_allclose(delta, full.delta, atol=1e-12)
    np.testing.assert_allclose(gamma, full.gamma, atol=1e-12)


def test_jump_params_reject_negative_intensity():
    with pytest.raises(ValueError, match="intensity"):
        JumpParams(-1.0, 0.0, 0.1)


@pytest.mark.parametrize(
    "jumps",
    [JumpParams(12.0, -0.04, 0.06), JumpParams(50.0, -0.1, 0.15)],
    ids=["realistic", "heavy"],
)
def test_a_mixed_batch_prices_every_option_as_it_would_be_priced_alone(jumps):
    # Each option stops at its own term count: a year-long option in the batch must not add terms
    # to a one-day one (with one count for the batch, the one-day option's far-OTM price moves by
    # up to tol (S + K), far more than 1e-12 of itself).
    rng = np.random.default_rng(7)
    n = 60
    s = rng.uniform(50.0, 150.0, n)
    k = s * np.exp(rng.uniform(-0.7, 0.7, n))
    t = np.concatenate([rng.uniform(1 / 365, 10 / 365, n // 2), rng.uniform(0.5, 1.5, n - n // 2)])
    sigma = rng.uniform(0.1, 1.2, n)
    calls = rng.random(n) < 0.5
    batch = merton_greeks(s, k, t, sigma, 0.03, calls, jumps)
    alone = [merton_greeks(s[i], k[i], t[i], sigma[i], 0.03, bool(calls[i]), jumps) for i in range(n)]
    for field in ("price", "delta", "gamma", "vega", "theta", "rho"):
        got = getattr(batch, field)
        want = np.array([float(getattr(g, field)) for g in alone])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=field)
    prices = merton_price(s, k, t, sigma, 0.03, calls, jumps)
    np.testing.assert_allclose(
        prices, [float(merton_price(s[i], k[i], t[i], sigma[i], 0.03, bool(calls[i]), jumps)) for i in range(n)],
        rtol=1e-12, atol=1e-300,
    )
