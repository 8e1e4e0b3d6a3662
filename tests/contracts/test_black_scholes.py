"""BlackScholes library: accuracy against a 50-digit reference, edge behaviour, domain errors, gas,
and no-arbitrage properties (hypothesis).

The golden-vector comparison with the keeper's float64 model is in test_black_scholes_golden.py.
"""

from __future__ import annotations

import random
from decimal import Decimal, localcontext

import brownie
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bs_reference import SECONDS_PER_YEAR, WAD, bs_hp, ncdf_hp, npdf_hp, to_wad

YEAR = SECONDS_PER_YEAR
DAY = 24 * 3600
HOUR = 3600

# Domain of the library (BlackScholes.sol constants).
MIN_PRICE_WAD, MAX_PRICE_WAD = 10**9, 10**36
MAX_T_SECONDS = 5 * YEAR
MAX_VOL_WAD, MAX_RATE_WAD = 5 * WAD, WAD

GAS_TARGET = 10_000

# Accuracy bars. The library's own error (measured here against the 50-digit reference) is ~1e-17;
# the bars leave an order of magnitude of room and stay 1e4x inside the 1e-8 product target.
CDF_ABS_TOL = 1e-17
PRICE_REL_SPOT_TOL = 1e-15  # |price error| / max(spot, strike), beyond the wei floor below
PRICE_WEI_TOL = 4  # the products S N(d1) and K e^{-rT} N(d2) each round toward zero
DELTA_ABS_TOL = 1e-15  # plus 4e-18 / (sigma sqrt T): see docs/PRICING.md on conditioning
# phi(d1) error scale: |gamma error| * S * sigma sqrt(T) and |vega error| / (S sqrt(T)); plus the
# same 4e-18 / (sigma sqrt T) conditioning term as delta.
PDF_ABS_TOL = 1e-15


def _dec(x: int) -> Decimal:
    return Decimal(x) / Decimal(WAD)


def _args(spot, strike, t, vol, rate):
    return (to_wad(spot), to_wad(strike), int(t), to_wad(vol), to_wad(rate))


def _ints(values) -> tuple[int, ...]:
    """A brownie ReturnValue as plain ints (it refuses to compare Wei fields with int literals)."""
    return tuple(int(v) for v in values)


def _batch(bs, vectors, chunk=400):
    """Call and put price and delta for many (spot, strike, t, vol, rate) WAD tuples, in few eth_calls."""
    out = ([], [], [], [])
    for i in range(0, len(vectors), chunk):
        res = bs.batchPriceDelta(vectors[i : i + chunk])
        for acc, col in zip(out, res):
            acc.extend(int(v) for v in col)
    return out


def _random_domain_vectors(n: int, seed: int) -> list[tuple[int, int, int, int, int]]:
    """Vectors over the whole documented domain, log-uniform where the scale matters."""
    rng = random.Random(seed)
    vectors = []
    for _ in range(n):
        spot = to_wad(f"{10 ** rng.uniform(-6, 12):.12e}")
        ratio = 10 ** rng.uniform(-2, 2)
        strike = max(MIN_PRICE_WAD, min(MAX_PRICE_WAD, int(spot / ratio)))
        spot = max(MIN_PRICE_WAD, min(MAX_PRICE_WAD, spot))
        kind = rng.random()
        if kind < 0.1:
            t = 0
        elif kind < 0.2:
            t = rng.randint(1, HOUR)
        else:
            t = rng.randint(1, MAX_T_SECONDS)
        vol = 0 if rng.random() < 0.05 else rng.randint(10**15, MAX_VOL_WAD)
        rate = 0 if rng.random() < 0.2 else rng.randint(0, MAX_RATE_WAD)
        if rng.random() < 0.1:
            # Worst conditioning for delta: at the money, seconds to expiry, vol 0.1%..10%.
            strike, t, vol = spot, rng.randint(1, 60), rng.randint(10**15, 10**17)
        vectors.append((spot, strike, t, vol, rate))
    # Keep spot/strike inside [0.01, 100] after the clamps above.
    return [v for v in vectors if 10**16 * v[1] <= v[0] * WAD <= 10**20 * v[1]]


# --------------------------------------------------------------------------------------- textbook


def test_hull_worked_example(bs):
    """Hull, Options, Futures, and Other Derivatives, the worked Black-Scholes-Merton example:
    S0 = 42, K = 40, r = 10%, sigma = 20%, T = 0.5 year gives c = 4.76 and p = 0.81."""
    args = _args(42, 40, YEAR // 2, "0.2", "0.1")
    call, call_delta = bs.callPriceDelta(*args)
    put, put_delta = bs.putPriceDelta(*args)
    assert round(call / WAD, 2) == 4.76
    assert round(put / WAD, 2) == 0.81
    ref = bs_hp(*args)
    assert abs(_dec(call) - ref["call"]) < Decimal("1e-15")
    assert abs(_dec(put) - ref["put"]) < Decimal("1e-15")
    assert abs(_dec(call_delta) - ref["call_delta"]) < Decimal("1e-16")
    assert abs(_dec(put_delta) - ref["put_delta"]) < Decimal("1e-16")


# --------------------------------------------------------------------------------------- normal CDF


def _cdf_grid() -> list[int]:
    grid = {to_wad(Decimal(i) / 1000) for i in range(-9_999, 10_000, 3)}
    # Both sides of every range switch of Cody's approximation and of the tail cut-off.
    for b in ("0.67448975", "5.656854249492380195", "9"):
        for k in range(-3, 4):
            x = to_wad(b) + k * 10**6
            grid.update({x, -x})
    return sorted(grid)


@pytest.fixture(scope="module")
def cdf_grid(bs):
    xs = _cdf_grid()
    values = []
    for i in range(0, len(xs), 2000):
        values.extend(int(v) for v in bs.batchNormCdf(xs[i : i + 2000]))
    return xs, values


def test_norm_cdf_absolute_error_against_50_digit_reference(cdf_grid):
    xs, values = cdf_grid
    worst, worst_x = Decimal(0), None
    for x, v in zip(xs, values):
        err = abs(_dec(v) - ncdf_hp(_dec(x)))
        if err > worst:
            worst, worst_x = err, x
    print(f"\nnormCdf: max |error| = {float(worst):.3e} at x = {_dec(worst_x) if worst_x is not None else None} "
          f"over {len(xs)} points in [-10, 10]")
    assert worst <= Decimal(CDF_ABS_TOL)


def test_norm_cdf_is_exactly_symmetric(bs, cdf_grid):
    xs, values = cdf_grid
    by_x = dict(zip(xs, values))
    pairs = [(x, -x) for x in xs if x > 0 and -x in by_x]
    assert len(pairs) > 3000
    for x, minus_x in pairs:
        assert by_x[x] + by_x[minus_x] == WAD, x
    assert bs.normCdf(0) == WAD // 2


def test_norm_cdf_is_monotone_and_saturates(bs, cdf_grid):
    xs, values = cdf_grid
    for (x0, v0), (x1, v1) in zip(zip(xs, values), zip(xs[1:], values[1:])):
        assert v1 >= v0, (x0, x1)
    assert bs.normCdf(9 * WAD) == WAD and bs.normCdf(-9 * WAD) == 0
    assert bs.normCdf(2**255 - 1) == WAD and bs.normCdf(-(2**255)) == 0


def test_norm_pdf_against_reference(bs):
    worst = Decimal(0)
    for i in range(-120, 121):
        x = to_wad(Decimal(i) / 12)
        worst = max(worst, abs(_dec(bs.normPdf(x)) - npdf_hp(_dec(x))))
    assert worst <= Decimal("2e-18")
    assert bs.normPdf(10 * WAD) == 0 and bs.normPdf(-(2**255)) == 0


# --------------------------------------------------------------------------------------- accuracy


@pytest.fixture(scope="module")
def domain_results(bs):
    vectors = _random_domain_vectors(400, seed=20240603)
    return vectors, _batch(bs, vectors)


def test_price_and_delta_against_50_digit_reference_across_domain(domain_results):
    """Price error bound: PRICE_REL_SPOT_TOL * max(S, K) plus PRICE_WEI_TOL wei of fixed-point rounding
    (the floor that matters only for spots far below one unit)."""
    vectors, (calls, call_deltas, puts, put_deltas) = domain_results
    worst_rel, worst_wei_excess, worst_delta, worst_delta_ratio = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    for i, v in enumerate(vectors):
        ref = bs_hp(*v)
        scale = max(_dec(v[0]), _dec(v[1]))
        for got, want in ((calls[i], ref["call"]), (puts[i], ref["put"])):
            err = abs(_dec(got) - want)
            worst_rel = max(worst_rel, err / scale)
            # The part of the error the wei floor does not explain, relative to max(S, K).
            worst_wei_excess = max(worst_wei_excess, max(err - _dec(PRICE_WEI_TOL), Decimal(0)) / scale)
        delta_err = max(abs(_dec(call_deltas[i]) - ref["call_delta"]), abs(_dec(put_deltas[i]) - ref["put_delta"]))
        worst_delta = max(worst_delta, delta_err)
        # Conditioning: d1's numerator carries ~1 wei and is divided by sigma sqrt(T).
        if ref["d1"] is not None:
            vol_sqrt_t = _dec(v[3]) * (Decimal(v[2]) / YEAR).sqrt()
            worst_delta_ratio = max(worst_delta_ratio, delta_err / (Decimal(DELTA_ABS_TOL) + Decimal("4e-18") / vol_sqrt_t))
    print(f"\nwhole domain, {len(vectors)} vectors: max |price err| / max(S,K) = {float(worst_rel):.3e} "
          f"({float(worst_wei_excess):.3e} beyond {PRICE_WEI_TOL} wei), max |delta err| = {float(worst_delta):.3e} "
          f"({float(worst_delta_ratio):.2f} of its bound)")
    assert worst_wei_excess <= Decimal(PRICE_REL_SPOT_TOL)
    assert worst_delta_ratio <= 1


def test_gamma_and_vega_against_50_digit_reference(bs, domain_results):
    """Both are S-scaled multiples of phi(d1): the error bound is PDF_ABS_TOL + 4e-18 / (sigma sqrt T)
    in phi units plus the output's own 1-wei quantisation (which dominates for very large spots, where
    gamma is tiny)."""
    vectors, _ = domain_results
    gammas, vegas = [], []
    for i in range(0, len(vectors), 400):
        g, v = bs.batchGammaVega(vectors[i : i + 400])
        gammas.extend(int(x) for x in g)
        vegas.extend(int(x) for x in v)
    worst_gamma, worst_vega, worst_ratio, checked = Decimal(0), Decimal(0), Decimal(0), 0
    quantum = _dec(2)
    for vec, g, v in zip(vectors, gammas, vegas):
        ref = bs_hp(*vec)
        if ref["d1"] is None:  # degenerate: the library reports 0 for both
            assert g == 0 and v == 0
            continue
        checked += 1
        s, t = _dec(vec[0]), Decimal(vec[2]) / YEAR
        vol_sqrt_t = _dec(vec[3]) * t.sqrt()
        gamma_err = max(abs(_dec(g) - ref["gamma"]) - quantum, Decimal(0)) * s * vol_sqrt_t
        vega_err = max(abs(_dec(v) - ref["vega"]) - quantum, Decimal(0)) / (s * t.sqrt())
        worst_gamma, worst_vega = max(worst_gamma, gamma_err), max(worst_vega, vega_err)
        # Same conditioning as delta: sigma sqrt(T) and d1 carry ~1 wei, relative 1e-18 / (sigma sqrt T).
        bound = Decimal(PDF_ABS_TOL) + Decimal("4e-18") / vol_sqrt_t
        worst_ratio = max(worst_ratio, gamma_err / bound, vega_err / bound)
    print(f"\ngamma/vega, {checked} vectors: max error beyond 2 wei, in phi units: gamma {float(worst_gamma):.3e}, "
          f"vega {float(worst_vega):.3e} ({float(worst_ratio):.2f} of the bound)")
    assert checked > 300
    assert worst_ratio <= 1


def test_combined_entry_points_agree_with_single_ones(bs):
    for v in [_args(3000, 3000, 30 * DAY, "0.8", "0.05"), _args(100, 80, YEAR, "1.5", "0"), _args(5, 4, 0, "0.5", "0.1")]:
        call, call_delta = bs.callPriceDelta(*v)
        put, put_delta = bs.putPriceDelta(*v)
        assert _ints(bs.priceDelta(v, True)) == (call, call_delta)
        assert _ints(bs.priceDelta(v, False)) == (put, put_delta)
        assert _ints(bs.priceDeltaArgs(*v, True)) == (call, call_delta)
        assert _ints(bs.priceDeltaArgs(*v, False)) == (put, put_delta)
        gamma, vega = bs.gamma(*v), bs.vega(*v)
        assert (gamma > 0 and vega > 0) == (v[2] > 0)  # 0 at expiry
        assert _ints(bs.greeks(v, True)) == (call, call_delta, gamma, vega)
        assert _ints(bs.greeks(v, False)) == (put, put_delta, gamma, vega)
        assert bs.delta(*v, True) == call_delta and bs.delta(*v, False) == put_delta


# --------------------------------------------------------------------------------------- edges


@pytest.mark.parametrize(
    "spot, strike, call, call_delta, put, put_delta",
    [
        (110, 100, 10, WAD, 0, 0),  # call in the money
        (90, 100, 0, 0, 10, -WAD),  # put in the money
        (100, 100, 0, 0, 0, -WAD),  # at the money: call delta 0, put delta -1 (parity of deltas)
    ],
)
def test_at_expiry_intrinsic_value_and_step_delta(bs, spot, strike, call, call_delta, put, put_delta):
    args = _args(spot, strike, 0, "0.8", "0.05")
    assert _ints(bs.callPriceDelta(*args)) == (call * WAD, call_delta)
    assert _ints(bs.putPriceDelta(*args)) == (put * WAD, put_delta)
    assert (bs.delta(*args, True), bs.delta(*args, False)) == (call_delta, put_delta)
    assert bs.gamma(*args) == 0 and bs.vega(*args) == 0


def test_zero_vol_prices_the_discounted_forward(bs):
    """sigma = 0, T = 1 year, r = 5%: K e^{-rT} = 95.1229..., so spot 96 < strike 100 is in the money
    against the forward: call = S - K e^{-rT} with delta 1, put worthless with delta 0."""
    args = _args(96, 100, YEAR, "0", "0.05")
    call, call_delta = bs.callPriceDelta(*args)
    put, put_delta = bs.putPriceDelta(*args)
    with localcontext() as ctx:
        ctx.prec = 40
        forward_intrinsic = 96 - 100 * Decimal("-0.05").exp()
    assert abs(_dec(call) - forward_intrinsic) < Decimal("1e-16")
    assert call_delta == WAD
    assert put == 0 and put_delta == 0
    # The delta-only entry takes the same step at the same discounted strike.
    assert (bs.delta(*args, True), bs.delta(*args, False)) == (WAD, 0)
    # Just out of the money against the forward: the step flips.
    args = _args(95, 100, YEAR, "0", "0.05")
    assert _ints(bs.callPriceDelta(*args)) == (0, 0)
    assert bs.putPriceDelta(*args)[1] == -WAD


def test_tiny_vol_threshold_is_continuous(bs):
    """Either side of MIN_VOL_SQRT_T = 1e-10 the price moves by less than phi(0) * S * 1e-10."""
    t = YEAR
    below = _args(100, 100, t, "0", "0")[:3] + (10**8 - 1, 0)  # sigma sqrt(T) just under 1e-10
    above = below[:3] + (10**8 + 1, 0)
    p_below, d_below = bs.callPriceDelta(*below)
    p_above, d_above = bs.callPriceDelta(*above)
    assert p_below == 0 and d_below == 0  # at the forward: the ATM convention
    assert p_above <= 0.4 * 100 * WAD * 1e-10 * 1.01
    assert abs(d_above - WAD // 2) < WAD // 10**6  # the smooth limit 1/2 just above


def test_domain_bounds_are_accepted(bs):
    for args in [
        (MIN_PRICE_WAD, MIN_PRICE_WAD, DAY, WAD, 0),
        (MAX_PRICE_WAD, MAX_PRICE_WAD, DAY, WAD, 0),
        (WAD, 100 * WAD, MAX_T_SECONDS, MAX_VOL_WAD, MAX_RATE_WAD),  # spot/strike = 0.01
        (100 * WAD, WAD, MAX_T_SECONDS, MAX_VOL_WAD, MAX_RATE_WAD),  # spot/strike = 100
    ]:
        call, call_delta = bs.callPriceDelta(*args)
        put, put_delta = bs.putPriceDelta(*args)
        assert call <= args[0] and 0 <= call_delta <= WAD and -WAD <= put_delta <= 0
        ref = bs_hp(*args)
        scale = max(_dec(args[0]), _dec(args[1]))
        bound = Decimal(PRICE_REL_SPOT_TOL) * scale + _dec(PRICE_WEI_TOL)
        assert abs(_dec(call) - ref["call"]) <= bound
        assert abs(_dec(put) - ref["put"]) <= bound


@pytest.mark.parametrize(
    "args, error",
    [
        ((MIN_PRICE_WAD - 1, MIN_PRICE_WAD, DAY, WAD, 0), f"BlackScholesSpotOutOfRange: {MIN_PRICE_WAD - 1}"),
        ((MAX_PRICE_WAD + 1, MAX_PRICE_WAD, DAY, WAD, 0), f"BlackScholesSpotOutOfRange: {MAX_PRICE_WAD + 1}"),
        ((WAD, 0, DAY, WAD, 0), "BlackScholesStrikeOutOfRange: 0"),
        ((WAD, MAX_PRICE_WAD + 1, DAY, WAD, 0), f"BlackScholesStrikeOutOfRange: {MAX_PRICE_WAD + 1}"),
        ((WAD - 1, 100 * WAD, DAY, WAD, 0), f"BlackScholesMoneynessOutOfRange: {WAD - 1}, {100 * WAD}"),
        ((100 * WAD + 1, WAD, DAY, WAD, 0), f"BlackScholesMoneynessOutOfRange: {100 * WAD + 1}, {WAD}"),
        ((WAD, WAD, MAX_T_SECONDS + 1, WAD, 0), f"BlackScholesTimeOutOfRange: {MAX_T_SECONDS + 1}"),
        ((WAD, WAD, DAY, MAX_VOL_WAD + 1, 0), f"BlackScholesVolOutOfRange: {MAX_VOL_WAD + 1}"),
        ((WAD, WAD, DAY, WAD, MAX_RATE_WAD + 1), f"BlackScholesRateOutOfRange: {MAX_RATE_WAD + 1}"),
    ],
)
def test_out_of_domain_reverts_with_the_offending_value(bs, args, error):
    with brownie.reverts(error):
        bs.callPriceDelta(*args)
    with brownie.reverts(error):
        bs.putPriceDelta(*args)
    with brownie.reverts(error):
        bs.gamma(*args)
    with brownie.reverts(error):
        bs.delta(*args, True)


# --------------------------------------------------------------------------------------- gas


def test_price_and_delta_cost_at_most_10k_gas(bs, domain_results):
    vectors, _ = domain_results
    points = vectors[:60] + [
        _args(3000, 3000, 30 * DAY, "0.8", "0.05"),
        _args(3000, 2000, 7 * DAY, "0.5", "0"),
        _args(3000, 4500, YEAR, "1.2", "0.1"),
        _args(3000, 3000, HOUR, "0.05", "0"),
        _args(3000, 3000, 0, "0.8", "0.05"),
    ]
    worst = 0
    for v in points:
        call_gas = bs.gasCallPriceDelta(*v)[2]
        put_gas = bs.gasPutPriceDelta(*v)[2]
        worst = max(worst, call_gas, put_gas)
    print(f"\nmax library gas for price+delta over {len(points)} points: {worst}")
    assert 0 < worst <= GAS_TARGET


# --------------------------------------------------------------------------------------- properties

spots = st.integers(min_value=10**17, max_value=10**24)
moneyness_ppm = st.integers(min_value=200_000, max_value=5_000_000)  # spot / strike in [0.2, 5]
times = st.integers(min_value=0, max_value=2 * YEAR)
vols = st.integers(min_value=10**16, max_value=MAX_VOL_WAD)
rates = st.integers(min_value=0, max_value=MAX_RATE_WAD)
bumps_ppm = st.integers(min_value=1, max_value=500_000)

PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _delta_slack_wei(t: int, vol: int) -> int:
    """The delta error bound in wei: d1's numerator is known to ~1 wei and is divided by sigma sqrt(T),
    so |delta error| <= phi * 1e-18 / (sigma sqrt T) (docs/PRICING.md), plus the CDF's few wei."""
    vol_sqrt_t = vol / WAD * (t / YEAR) ** 0.5
    return 10 + (int(2 / vol_sqrt_t) if vol_sqrt_t > 0 else 0)


def _strike(spot: int, m_ppm: int) -> int:
    return spot * 10**6 // m_ppm


def _tol(spot: int, strike: int) -> int:
    """Numerical slack for comparisons between two evaluations: the library's price error bound
    (1e-15 of max(S, K)) twice, plus rounding wei."""
    return 2 * max(spot, strike) // 10**15 + 8


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates)
def test_put_call_parity(bs, spot, m, t, vol, rate):
    strike = _strike(spot, m)
    call, call_delta = bs.callPriceDelta(spot, strike, t, vol, rate)
    put, put_delta = bs.putPriceDelta(spot, strike, t, vol, rate)
    with localcontext() as ctx:
        ctx.prec = 50
        forward_gap = Decimal(spot) - Decimal(strike) * (-Decimal(rate) * t / YEAR / WAD).exp()
    assert abs(Decimal(call - put) - forward_gap) <= _tol(spot, strike)
    assert call_delta - put_delta == WAD


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates)
def test_delta_alone_equals_price_delta_to_the_wei(bs, spot, m, t, vol, rate):
    """The vault's rebalance checks the book with `delta`; margin and buys use `priceDelta`: the two
    must never disagree, or a hedge accepted by one could be judged by the other."""
    strike = _strike(spot, m)
    _, call_delta = bs.callPriceDelta(spot, strike, t, vol, rate)
    _, put_delta = bs.putPriceDelta(spot, strike, t, vol, rate)
    assert bs.delta(spot, strike, t, vol, rate, True) == call_delta
    assert bs.delta(spot, strike, t, vol, rate, False) == put_delta


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates)
def test_deltas_are_bounded(bs, spot, m, t, vol, rate):
    strike = _strike(spot, m)
    _, call_delta = bs.callPriceDelta(spot, strike, t, vol, rate)
    _, put_delta = bs.putPriceDelta(spot, strike, t, vol, rate)
    assert 0 <= call_delta <= WAD
    assert -WAD <= put_delta <= 0


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates, bump=bumps_ppm)
def test_price_monotone_in_spot(bs, spot, m, t, vol, rate, bump):
    strike = _strike(spot, m)
    higher = min(spot + spot * bump // 10**6, strike * 100)
    c0, d0 = bs.callPriceDelta(spot, strike, t, vol, rate)
    c1, d1 = bs.callPriceDelta(higher, strike, t, vol, rate)
    p0, _ = bs.putPriceDelta(spot, strike, t, vol, rate)
    p1, _ = bs.putPriceDelta(higher, strike, t, vol, rate)
    tol = _tol(higher, strike)
    assert c1 >= c0 - tol  # call rises with spot
    assert p1 <= p0 + tol  # put falls with spot
    # gamma >= 0: delta rises with spot, up to its error bound (see _delta_slack_wei).
    assert d1 >= d0 - _delta_slack_wei(t, vol)


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates, bump=bumps_ppm)
def test_price_monotone_in_vol(bs, spot, m, t, vol, rate, bump):
    strike = _strike(spot, m)
    higher = min(vol + vol * bump // 10**6, MAX_VOL_WAD)
    tol = _tol(spot, strike)
    assert bs.callPriceDelta(spot, strike, t, higher, rate)[0] >= bs.callPriceDelta(spot, strike, t, vol, rate)[0] - tol
    assert bs.putPriceDelta(spot, strike, t, higher, rate)[0] >= bs.putPriceDelta(spot, strike, t, vol, rate)[0] - tol


@PROPERTY_SETTINGS
@given(spot=spots, m=moneyness_ppm, t=times, vol=vols, rate=rates, extra=st.integers(min_value=1, max_value=YEAR))
def test_price_monotone_in_time(bs, spot, m, t, vol, rate, extra):
    """A call gains value with time for r >= 0 (it is worth at least S - K e^{-rT}, which grows with T);
    a put does only where carry cannot outweigh time value: r = 0 is the case theory guarantees."""
    strike = _strike(spot, m)
    later = t + extra
    tol = _tol(spot, strike)
    assert bs.callPriceDelta(spot, strike, later, vol, rate)[0] >= bs.callPriceDelta(spot, strike, t, vol, rate)[0] - tol
    assert bs.putPriceDelta(spot, strike, later, vol, 0)[0] >= bs.putPriceDelta(spot, strike, t, vol, 0)[0] - tol
