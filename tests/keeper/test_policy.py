"""Hedge policies: bands, hysteresis, long-only clamp, gas and vol adaptation, one rule for tick and paths."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from keeper.greeks import BookGreeks
from keeper.policy import (
    HOLD_IN_BAND,
    HOLD_NOT_WORTH_IT,
    REBALANCE,
    AdaptiveBand,
    FixedBand,
    HedgeInputs,
    HedgePolicy,
    Hold,
    MarketState,
    PolicyState,
    Rebalance,
    TimeInterval,
    WhalleyWilmott,
    ewma_variance,
    forecast_vol,
    gas_half_width,
    whalley_wilmott_half_width,
)


def make_book(option_delta: float, hedge: float, gamma: float = -0.01, tau: float = 30 / 365) -> BookGreeks:
    return BookGreeks(
        spot=2000.0,
        option_delta=option_delta,
        hedge_base=hedge,
        gamma=gamma,
        vega_usd=0.0,
        theta_usd=0.0,
        rho_usd=0.0,
        value_usd=0.0,
        tau_years=tau,
    )


MARKET = MarketState(spot=2000.0, vol=0.8, time_s=1_700_000_000.0, rate=0.05)
STATE = PolicyState()


def test_fixed_band_holds_inside_the_band():
    decision = FixedBand(half_width_base=2.0).decide(make_book(-50.0, 49.0), MARKET, STATE)
    assert isinstance(decision, Hold)
    assert decision.residual_delta == pytest.approx(-1.0)
    assert "inside band" in decision.reason


def test_fixed_band_rebalances_to_the_inner_level_on_the_same_side():
    decision = FixedBand(half_width_base=2.0, rebalance_to=0.5).decide(make_book(-50.0, 45.0), MARKET, STATE)
    assert isinstance(decision, Rebalance)
    assert decision.target_base == pytest.approx(49.0)  # net delta -5 -> -1 (half of the band)
    assert decision.trade_base == pytest.approx(4.0)
    assert decision.residual_delta == pytest.approx(-1.0)


def test_decision_does_not_flicker_after_a_rebalance():
    policy = FixedBand(half_width_base=2.0, rebalance_to=0.5)
    first = policy.decide(make_book(-50.0, 45.0), MARKET, STATE)
    assert isinstance(first, Rebalance)
    # After the trade the deviation sits at the inner level (-1); moves smaller than the gap
    # to the trigger (1 base) in either direction keep holding.
    for wiggle in np.linspace(-0.99, 0.99, 21):
        after = policy.decide(make_book(-50.0 + wiggle, first.target_base), MARKET, STATE)
        assert isinstance(after, Hold), wiggle


def test_rebalance_to_band_edge_is_rejected_because_it_removes_hysteresis():
    with pytest.raises(ValueError, match="rebalance_to"):
        FixedBand(half_width_base=1.0, rebalance_to=1.0)


def test_long_only_target_clamps_at_zero_and_reports_the_residual():
    # Put-heavy book: options delta +8 base; holding 3 base. Desired hedge -8 -> clamp to 0.
    decision = FixedBand(half_width_base=1.0).decide(make_book(8.0, 3.0), MARKET, STATE)
    assert isinstance(decision, Rebalance)
    assert decision.target_base == 0.0
    assert decision.trade_base == pytest.approx(-3.0)
    assert decision.residual_delta == pytest.approx(8.0)
    assert "long-only" in decision.reason


def test_clamped_book_with_no_hedge_holds_and_reports_the_residual():
    decision = FixedBand(half_width_base=1.0).decide(make_book(8.0, 0.0), MARKET, STATE)
    assert isinstance(decision, Hold)
    assert decision.residual_delta == pytest.approx(8.0)
    assert "cannot go short" in decision.reason


def test_time_interval_trades_only_when_due():
    policy = TimeInterval(interval_s=3600.0)
    book = make_book(-50.0, 40.0)
    due = policy.decide(book, MARKET, PolicyState(last_rebalance_s=MARKET.time_s - 3600.0))
    early = policy.decide(book, MARKET, PolicyState(last_rebalance_s=MARKET.time_s - 3599.0))
    assert isinstance(due, Rebalance) and due.target_base == pytest.approx(50.0)
    assert isinstance(early, Hold) and "not due" in early.reason


def test_state_after_rebalance_records_the_time():
    assert PolicyState().after_rebalance(123.0).last_rebalance_s == 123.0


def test_whalley_wilmott_half_width_matches_the_formula():
    h = whalley_wilmott_half_width(
        gamma=-0.02, spot=2000.0, tau_years=0.1, rate=0.05, cost_rate=0.003, risk_aversion=1e-3
    )
    expected = (1.5 * math.exp(-0.05 * 0.1) * 0.003 * 2000.0 * 0.02**2 / 1e-3) ** (1 / 3)
    assert float(h) == pytest.approx(expected, rel=1e-12)


def test_whalley_wilmott_band_scales_with_cube_root_of_cost():
    h1 = whalley_wilmott_half_width(-0.02, 2000.0, 0.1, 0.0, 0.001, 1e-3)
    h8 = whalley_wilmott_half_width(-0.02, 2000.0, 0.1, 0.0, 0.008, 1e-3)
    assert float(h8 / h1) == pytest.approx(2.0, rel=1e-12)


def test_whalley_wilmott_policy_uses_its_band():
    market = MarketState(spot=2000.0, vol=0.8, time_s=0.0, fee_bps=30.0)
    policy = WhalleyWilmott(risk_aversion=1e-3)
    h = float(whalley_wilmott_half_width(-0.01, 2000.0, 30 / 365, 0.0, 0.003, 1e-3))
    inside = policy.decide(make_book(-50.0, 50.0 - 0.9 * h), market, STATE)
    outside = policy.decide(make_book(-50.0, 50.0 - 1.1 * h), market, STATE)
    assert isinstance(inside, Hold) and isinstance(outside, Rebalance)
    assert outside.residual_delta == pytest.approx(-0.8 * h)


def test_adaptive_band_skips_a_hedge_whose_risk_benefit_is_below_gas_cost():
    book = make_book(-50.0, 46.0)
    cheap = MarketState(spot=2000.0, vol=0.8, time_s=0.0, gas_price_gwei=1.0, gas_per_hedge=150_000)
    dear = MarketState(spot=2000.0, vol=0.8, time_s=0.0, gas_price_gwei=20_000.0, gas_per_hedge=150_000)
    policy = AdaptiveBand(risk_aversion=1e-4, min_half_width_base=1.0)
    assert isinstance(policy.decide(book, cheap, STATE), Rebalance)
    skipped = policy.plan(HedgeInputs.from_tick(book, dear, STATE))
    assert int(skipped.code[()] if skipped.code.ndim == 0 else skipped.code[0]) in (HOLD_NOT_WORTH_IT, HOLD_IN_BAND)
    assert isinstance(policy.decide(book, dear, STATE), Hold)


def test_gas_rule_rejects_trade_when_benefit_is_below_cost():
    # Force the band open (tiny floor) so the per-trade benefit test is what decides.
    policy = AdaptiveBand(risk_aversion=1e-6, min_half_width_base=0.0)
    inputs = HedgeInputs(
        spot=2000.0,
        option_delta=-50.0,
        gamma=-0.01,
        hedge_base=49.0,
        tau_years=0.1,
        vol=0.8,
        time_s=0.0,
        last_rebalance_s=-np.inf,
        gas_usd=1e-12,
        cost_rate=0.0,
    )
    plan = policy.plan(inputs)
    # With almost-free gas, the trade is worth it; with gas above the benefit, it is skipped.
    assert bool(np.asarray(plan.trade).reshape(-1)[0])
    benefit = float(np.asarray(plan.benefit_usd).reshape(-1)[0])
    dear = policy.plan(HedgeInputs(**{**inputs.__dict__, "gas_usd": benefit * 10.0}))
    assert not bool(np.asarray(dear.trade).reshape(-1)[0])


def test_adaptive_band_narrows_when_forecast_vol_rises():
    calm = gas_half_width(2000.0, 0.4, 5.0, 1e-4, 1 / 365, 0.5)
    stormy = gas_half_width(2000.0, 1.2, 5.0, 1e-4, 1 / 365, 0.5)
    dear_gas = gas_half_width(2000.0, 0.4, 50.0, 1e-4, 1 / 365, 0.5)
    assert stormy < calm < dear_gas


def test_the_adaptive_band_prices_the_proportional_cost_once():
    """At zero gas the adaptive band is the Whalley-Wilmott band: the gas band is 0 and the per-trade
    test compares the risk removed with the gas alone (it used to charge the proportional cost
    again, which sat the band at ~2x the cost-optimal width)."""
    assert float(gas_half_width(2000.0, 0.8, 0.0, 1e-4, 1 / 365, 0.5)) == 0.0
    rng = np.random.default_rng(3)
    n = 200
    inputs = HedgeInputs(
        spot=2000.0, option_delta=rng.uniform(-30, 0, n), gamma=rng.uniform(0, 0.05, n), hedge_base=rng.uniform(0, 30, n),
        tau_years=0.1, vol=0.8, time_s=0.0, last_rebalance_s=-np.inf, gas_usd=0.0, cost_rate=0.003,
    )
    adaptive = AdaptiveBand(risk_aversion=2e-3, rebalance_to=0.5).plan(inputs)
    ww = WhalleyWilmott(risk_aversion=2e-3, rebalance_to=0.5).plan(inputs)
    assert np.array_equal(adaptive.outer, ww.outer) and np.array_equal(adaptive.trade, ww.trade)
    assert adaptive.trade.any() and not adaptive.trade.all()


def test_adaptive_band_reads_the_forecast_from_state():
    book = make_book(-50.0, 47.0)
    market = MarketState(spot=2000.0, vol=0.8, time_s=0.0, gas_price_gwei=50.0, gas_per_hedge=150_000)
    policy = AdaptiveBand(risk_aversion=2e-4)  # gas band ~21 base at 20 % vol, ~2.1 base at 200 %
    low = policy.decide(book, market, PolicyState(var_forecast=0.2**2))
    high = policy.decide(book, market, PolicyState(var_forecast=2.0**2))
    assert isinstance(low, Hold) and isinstance(high, Rebalance)


def test_gas_half_width_is_infinite_without_variance():
    assert math.isinf(float(gas_half_width(2000.0, 0.0, 5.0, 1e-4, 1 / 365, 0.5)))


@pytest.mark.parametrize(
    "policy",
    [FixedBand(2.0, 0.3), TimeInterval(3600.0), WhalleyWilmott(1e-3), AdaptiveBand(1e-4)],
    ids=lambda p: p.name,
)
def test_tick_decision_equals_the_vectorised_plan(policy: HedgePolicy):
    rng = np.random.default_rng(0)
    n = 64
    inputs = HedgeInputs(
        spot=rng.uniform(1500, 2500, n),
        option_delta=rng.uniform(-60, 5, n),
        gamma=rng.uniform(-0.03, 0, n),
        hedge_base=rng.uniform(0, 60, n),
        tau_years=0.05,
        vol=rng.uniform(0.3, 1.5, n),
        time_s=7200.0,
        last_rebalance_s=rng.choice([0.0, 5000.0], n),
        gas_usd=rng.uniform(0, 30, n),
        cost_rate=0.003,
        rate=0.05,
    )
    plan = policy.plan(inputs)
    assert isinstance(policy, HedgePolicy)
    for i in range(n):
        book = make_book(inputs.option_delta[i], inputs.hedge_base[i], inputs.gamma[i], 0.05)
        market = MarketState(
            spot=inputs.spot[i],
            vol=0.8,
            time_s=7200.0,
            rate=0.05,
            fee_bps=30.0,
            gas_price_gwei=inputs.gas_usd[i] / (1e-9 * 1e6 * inputs.spot[i]),
            gas_per_hedge=1e6,
        )
        state = PolicyState(last_rebalance_s=inputs.last_rebalance_s[i], var_forecast=inputs.vol[i] ** 2)
        decision = policy.decide(book, market, state)
        assert isinstance(decision, Rebalance) == bool(plan.trade[i]), i
        if isinstance(decision, Rebalance):
            assert decision.target_base == pytest.approx(plan.target_base[i], rel=1e-9)


def test_plan_codes_mark_trades():
    plan = FixedBand(1.0).plan(
        HedgeInputs(
            spot=np.array([2000.0, 2000.0]),
            option_delta=np.array([-10.0, -10.0]),
            gamma=-0.01,
            hedge_base=np.array([10.0, 5.0]),
            tau_years=0.1,
            vol=0.8,
            time_s=0.0,
            last_rebalance_s=-np.inf,
        )
    )
    assert list(plan.code) == [HOLD_IN_BAND, REBALANCE]
    assert list(plan.trade) == [False, True]


def test_market_state_prices_gas_in_usd():
    m = MarketState(spot=2000.0, vol=0.5, time_s=0.0, gas_price_gwei=20.0, gas_per_hedge=150_000)
    assert m.gas_usd == pytest.approx(20e-9 * 150_000 * 2000.0)
    assert MarketState(
        spot=2000.0, vol=0.5, time_s=0.0, gas_price_gwei=20.0, gas_per_hedge=150_000, native_usd=1.0
    ).gas_usd == pytest.approx(0.003)


def test_market_state_trade_cost_includes_pool_impact():
    m = MarketState(spot=2000.0, vol=0.5, time_s=0.0, fee_bps=30.0, pool_base_reserve=1000.0)
    assert m.trade_cost_usd(-10.0) == pytest.approx(0.003 * 10 * 2000 + 100 * 2000 / 1000)


def test_market_state_rejects_negative_gas_price():
    with pytest.raises(ValueError, match="gas_price_gwei"):
        MarketState(spot=2000.0, vol=0.5, time_s=0.0, gas_price_gwei=-1.0)


def test_decide_rejects_an_array_book():
    book = make_book(-50.0, 40.0)
    arr = BookGreeks(**{**book.__dict__, "option_delta": np.array([-50.0, -40.0])})
    with pytest.raises(ValueError, match="option_delta"):
        FixedBand(1.0).decide(arr, MARKET, STATE)


def test_ewma_variance_converges_to_realised_variance():
    rng = np.random.default_rng(5)
    dt_s = 3600.0
    sigma = 0.9
    returns = rng.normal(0.0, sigma * math.sqrt(dt_s / 31_536_000), 20_000)
    var = 0.1
    for r in returns:
        var = float(ewma_variance(var, r, dt_s, halflife_s=30 * 86_400.0))
    assert math.sqrt(var) == pytest.approx(sigma, rel=0.1)


def test_policy_state_observe_updates_the_forecast():
    s0 = PolicyState().observe(MARKET)
    s1 = s0.observe(MarketState(spot=2100.0, vol=0.8, time_s=MARKET.time_s + 3600.0))
    assert s0.var_forecast is None and s1.var_forecast is not None
    assert s1.var_forecast > 0.8**2  # a 5 % hourly move raises the forecast


def test_forecast_vol_uses_garch_when_arch_is_installed():
    pytest.importorskip("arch")
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0, 0.6 * math.sqrt(3600 / 31_536_000), 2000)
    fc = forecast_vol(returns, 3600.0)
    assert fc.method == "garch"
    assert fc.vol == pytest.approx(0.6, rel=0.25)


def test_forecast_vol_falls_back_to_ewma_without_arch(monkeypatch):
    monkeypatch.setitem(sys.modules, "arch", None)  # makes `import arch` raise ImportError
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0, 0.6 * math.sqrt(3600 / 31_536_000), 2000)
    fc = forecast_vol(returns, 3600.0)
    assert fc.method == "ewma"
    assert fc.vol == pytest.approx(0.6, rel=0.25)
