"""The vectorised hedging backtest: convergence to the premium, error scaling, unbiasedness, costs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keeper.envelope import Envelope
from keeper.greeks import SECONDS_PER_YEAR, JumpParams, OptionBook, bs_price, merton_price
from keeper.policy import AdaptiveBand, FixedBand, TimeInterval, WhalleyWilmott
from keeper.sim.backtest import BacktestConfig, run_backtest
from keeper.sim.models import gbm_paths, merton_paths, time_grid

# Hull's delta-hedging experiment (Options, Futures, and Other Derivatives, "Delta hedging"):
# a bank writes 100,000 calls, S0=49, K=50, r=5 %, sigma=20 %, mu=13 %, T=20 weeks.
HULL_T = 20 / 52
HULL_BOOK = OptionBook(np.array([50.0]), np.array([HULL_T]), np.array([True]), np.array([-100_000.0]))
HULL_STEPS = 256


@pytest.fixture(scope="module")
def hull_runs():
    paths = gbm_paths(49.0, 0.13, 0.2, HULL_T, HULL_STEPS, 3000, np.random.default_rng(20))
    times = time_grid(HULL_T, HULL_STEPS)
    # The textbook experiment: no envelope (Hull's bank trades 100,000 shares whenever it likes).
    config = BacktestConfig(hedger_vol=0.2, rate=0.05, envelope=Envelope.unbounded())
    step_s = HULL_T / HULL_STEPS * SECONDS_PER_YEAR
    intervals = (1, 2, 4, 8, 16, 32)
    return intervals, [run_backtest(paths, times, HULL_BOOK, TimeInterval(k * step_s), config) for k in intervals]


def test_premium_is_the_black_scholes_value_of_the_book(hull_runs):
    _, results = hull_runs
    assert results[0].premium == pytest.approx(100_000 * float(bs_price(49.0, 50.0, HULL_T, 0.2, 0.05, True)))
    assert results[0].premium == pytest.approx(240_000, rel=0.01)  # Hull: "about $240,000"


def test_mean_hedging_cost_converges_to_the_black_scholes_premium_as_the_interval_shrinks(hull_runs):
    _, results = hull_runs
    gaps = [abs(r.summary()["mean_cost"] - r.premium) for r in results]
    ses = [r.summary()["std_cost"] / math.sqrt(r.n_paths) for r in results]
    for gap, se in zip(gaps, ses):
        assert gap < 4 * se
    # The bound tightens with the interval: at the finest hedge the mean is within 0.5 %.
    assert ses[0] < ses[-1] / 4
    assert gaps[0] < 0.005 * results[0].premium


def test_hedge_error_std_falls_with_the_square_root_of_the_interval(hull_runs):
    intervals, results = hull_runs
    stds = [r.summary()["std_error"] for r in results]
    slope = np.polyfit(np.log(intervals), np.log(stds), 1)[0]
    assert slope == pytest.approx(0.5, abs=0.07)


def test_all_policies_are_unbiased_with_zero_costs_and_zero_drift():
    t, steps = 30 / 365, 180
    paths = gbm_paths(2000.0, 0.0, 0.8, t, steps, 4000, np.random.default_rng(3))
    book = OptionBook(np.array([2200.0, 1800.0]), np.array([t, t]), np.array([True, False]), np.array([-10.0, -4.0]))
    config = BacktestConfig(hedger_vol=0.8, rate=0.0)
    policies = [
        TimeInterval(6 * 3600.0),
        FixedBand(1.0, 0.5),
        WhalleyWilmott(1e-3, min_half_width_base=0.5),
        AdaptiveBand(1e-3),
    ]
    for policy in policies:
        s = run_backtest(paths, time_grid(t, steps), book, policy, config).summary()
        assert abs(s["mean_error"]) < 4 * s["se_mean_error"], policy.name
        assert s["mean_trades"] > 1.0, policy.name


def test_mean_cost_exceeds_the_premium_by_the_costs_paid():
    t, steps = 30 / 365, 120
    paths = gbm_paths(2000.0, 0.05, 0.8, t, steps, 4000, np.random.default_rng(4))
    book = OptionBook(np.array([2100.0]), np.array([t]), np.array([True]), np.array([-20.0]))
    config = BacktestConfig(
        hedger_vol=0.8, rate=0.05, fee_bps=30.0, gas_price_gwei=30.0, gas_per_hedge=150_000, pool_base_reserve=5_000.0
    )
    res = run_backtest(paths, time_grid(t, steps), book, FixedBand(0.5), config)
    frictionless = res.cost - res.trading_cost - res.gas_cost
    se = frictionless.std() / math.sqrt(frictionless.size)
    assert abs(frictionless.mean() - res.premium) < 4 * se
    assert res.trading_cost.mean() > 0.0 and res.gas_cost.mean() > 0.0
    gas_per_trade = 30e-9 * 150_000 * paths[:, :-1].min()
    assert np.all(res.gas_cost >= res.trades * gas_per_trade * math.exp(-0.05 * t) - 1e-9)


def test_merton_hedger_on_risk_neutral_merton_paths_is_unbiased():
    t, steps, r = 30 / 365, 60, 0.05
    jumps = JumpParams(12.0, -0.04, 0.06)
    paths = merton_paths(2000.0, r, 0.6, jumps, t, steps, 3000, np.random.default_rng(8))
    book = OptionBook(np.array([2100.0]), np.array([t]), np.array([True]), np.array([-10.0]))
    config = BacktestConfig(hedger_vol=0.6, rate=r, jumps=jumps)
    res = run_backtest(paths, time_grid(t, steps), book, TimeInterval(12 * 3600.0), config)
    s = res.summary()
    assert res.premium == pytest.approx(10 * float(merton_price(2000.0, 2100.0, t, 0.6, r, True, jumps)))
    assert abs(s["mean_error"]) < 4 * s["se_mean_error"]


def test_long_only_hedge_leaves_a_written_put_unhedged():
    t, steps = 10 / 365, 40
    paths = gbm_paths(2000.0, 0.0, 0.7, t, steps, 500, np.random.default_rng(6))
    book = OptionBook(np.array([1900.0]), np.array([t]), np.array([False]), np.array([-5.0]))
    res = run_backtest(paths, time_grid(t, steps), book, TimeInterval(3600.0), BacktestConfig(hedger_vol=0.7))
    assert res.trades.sum() == 0
    payoff = 5.0 * np.maximum(1900.0 - paths[:, -1], 0.0)
    np.testing.assert_allclose(res.hedge_error, res.premium - payoff, atol=1e-8)


def test_options_expiring_mid_path_settle_and_live_ones_are_marked_at_model():
    t, steps, r = 20 / 365, 20, 0.03
    paths = gbm_paths(100.0, r, 0.5, t, steps, 50, np.random.default_rng(7))
    times = time_grid(t, steps)
    # One call expires at step 10; the other outlives the paths. A huge band never hedges.
    book = OptionBook(
        np.array([100.0, 105.0]), np.array([times[10], 40 / 365]), np.array([True, True]), np.array([-1.0, -2.0])
    )
    config = BacktestConfig(hedger_vol=0.5, rate=r)
    res = run_backtest(paths, times, book, FixedBand(1e9), config)
    payoff_pv = np.maximum(paths[:, 10] - 100.0, 0.0) * math.exp(-r * times[10])
    mark_pv = 2.0 * bs_price(paths[:, -1], 105.0, 40 / 365 - t, 0.5, r, True) * math.exp(-r * t)
    np.testing.assert_allclose(res.cost, payoff_pv + mark_pv, rtol=1e-12, atol=1e-12)
    assert res.trades.sum() == 0


def test_backtest_rejects_times_that_do_not_match_paths():
    paths = np.full((3, 5), 100.0)
    with pytest.raises(ValueError, match="times has shape"):
        run_backtest(paths, np.linspace(0, 1, 4), HULL_BOOK, FixedBand(1.0), BacktestConfig(hedger_vol=0.2))


def test_backtest_config_rejects_negative_fee():
    with pytest.raises(ValueError, match="fee_bps"):
        BacktestConfig(hedger_vol=0.2, fee_bps=-1.0)


# ---------------------------------------------------------------------------- what the chain lets it trade


def _atm_call_run(exit_cost: bool, envelope: Envelope | None = None, policy=None, record: bool = False):
    t, steps = 14 / 365, 14 * 24
    paths = gbm_paths(2000.0, 0.0, 0.8, t, steps, 400, np.random.default_rng(11))
    book = OptionBook(np.array([2000.0]), np.array([t + 1 / 365]), np.array([True]), np.array([-20.0]))
    config = BacktestConfig(hedger_vol=0.8, fee_bps=30.0, pool_base_reserve=1_000.0, gas_price_gwei=1.0,
                            exit_cost=exit_cost, envelope=envelope or Envelope(),
                            record_decisions=record)
    return paths, run_backtest(paths, time_grid(t, steps), book, policy or TimeInterval(3600.0), config)


def test_the_final_hedge_is_unwound_through_the_venue_and_its_cost_charged():
    paths, with_exit = _atm_call_run(True)
    _, without = _atm_call_run(False)
    # Same decisions on the same paths; the only difference is selling the final hedge.
    assert np.array_equal(with_exit.trades, without.trades)
    assert (with_exit.exit_cost > 0).mean() > 0.5
    np.testing.assert_allclose(with_exit.cost - without.cost, with_exit.exit_cost, rtol=1e-9, atol=1e-6)
    # The exit sells the final hedge on the pool in slices of at most the max trade (5 WETH), the pool
    # back at the oracle between them: each pays the fee and its constant-product impact, and one
    # transaction's gas. About 30 bp of the hedge's value and more, never less.
    q, s = with_exit.final_hedge, paths[:, -1]
    keep = 0.997

    def sell(x):
        return x * s * (1 - keep * 1_000.0 / (1_000.0 + x * keep))

    full, rest = np.floor(q / 5.0), q - 5.0 * np.floor(q / 5.0)
    expected = full * sell(5.0) + sell(rest) + (full + (rest > 0)) * 1e-9 * 218_029.0 * s
    assert (full >= 1).any() and (rest > 0).any()
    np.testing.assert_allclose(with_exit.exit_cost, expected, rtol=1e-9)
    assert np.all(with_exit.exit_cost[q > 0] >= 0.003 * q[q > 0] * s[q > 0])
    assert with_exit.summary()["mean_exit_cost"] > 0.0 and without.summary()["mean_exit_cost"] == 0.0


def test_the_backtested_keeper_never_trades_outside_the_vaults_envelope():
    env = Envelope(dust_base=0.2, hard_band_base=50.0, min_interval_s=7_200.0, max_trade_base=1.5,
                   window_s=86_400.0, max_base_traded=6.0, max_loss_usd=1e9)
    _, res = _atm_call_run(True, env, FixedBand(0.0), record=True)
    _, free = _atm_call_run(True, Envelope.unbounded(), FixedBand(0.0))
    codes = res.codes
    traded = np.isin(codes, (3, 4, 5, 6))
    # The interval: a keeper trade (not the must path) never follows another within 2 hours (2 steps).
    keeper_trades = np.isin(codes, (3, 4))
    assert not (keeper_trades[:, 1:] & traded[:, :-1]).any()
    # The base budget: over any day, at most max x (1 + 1 day / window) = 12 base.
    assert res.trades.max() < free.trades.max()
    assert (np.isin(codes, (4,))).any()  # some trades were clipped by the max trade or the budget
    assert res.must_trades.sum() == 0  # far inside the hard band: never the must path


def test_the_backtester_and_the_keeper_run_one_decision_function():
    import keeper.sim.backtest as backtest
    import keeper.tick as tick
    from keeper import decision

    assert backtest.decision.decide is decision.decide and tick.decision.decide is decision.decide
