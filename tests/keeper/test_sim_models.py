"""Market models and CSV replay: shapes, seeding, moments, and the Merton price by Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keeper.greeks import JumpParams, merton_price
from keeper.sim.models import gbm_paths, merton_paths, regime_switching_paths, time_grid
from keeper.sim.replay import parse_price_csv, replay_paths, resample

JUMPS = JumpParams(intensity=5.0, mean_log_jump=-0.08, jump_vol=0.12)


def all_models(seed: int, n_paths: int = 200, n_steps: int = 50):
    rng = np.random.default_rng(seed)
    return {
        "gbm": gbm_paths(100.0, 0.05, 0.6, 0.5, n_steps, n_paths, rng),
        "merton": merton_paths(100.0, 0.05, 0.4, JUMPS, 0.5, n_steps, n_paths, rng),
        "regime": regime_switching_paths(100.0, 0.05, (0.3, 1.0), (4.0, 12.0), 0.5, n_steps, n_paths, rng),
    }


def test_every_model_returns_paths_of_shape_paths_by_steps_plus_one_starting_at_s0():
    for name, paths in all_models(1).items():
        assert paths.shape == (200, 51), name
        np.testing.assert_array_equal(paths[:, 0], 100.0)
        assert np.all(paths > 0.0) and np.all(np.isfinite(paths)), name


def test_same_seed_gives_same_paths_and_another_seed_does_not():
    a, b, c = all_models(7), all_models(7), all_models(8)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a[name], c[name])


def test_time_grid_spans_the_horizon():
    np.testing.assert_allclose(time_grid(0.5, 4), [0.0, 0.125, 0.25, 0.375, 0.5])


def test_gbm_terminal_mean_and_log_variance_match_parameters():
    paths = gbm_paths(100.0, 0.1, 0.5, 1.0, 4, 200_000, np.random.default_rng(2))
    terminal = paths[:, -1]
    se = terminal.std() / math.sqrt(terminal.size)
    assert abs(terminal.mean() - 100.0 * math.exp(0.1)) < 4 * se
    assert np.log(terminal / 100.0).var() == pytest.approx(0.25, rel=0.02)


def test_merton_paths_keep_the_compensated_drift():
    paths = merton_paths(100.0, 0.03, 0.3, JUMPS, 1.0, 20, 200_000, np.random.default_rng(3))
    terminal = paths[:, -1]
    se = terminal.std() / math.sqrt(terminal.size)
    assert abs(terminal.mean() - 100.0 * math.exp(0.03)) < 4 * se


def test_merton_paths_log_variance_includes_the_jumps():
    paths = merton_paths(100.0, 0.0, 0.3, JUMPS, 1.0, 50, 100_000, np.random.default_rng(4))
    expected = 0.3**2 + JUMPS.total_variance_rate
    assert np.log(paths[:, -1] / 100.0).var() == pytest.approx(expected, rel=0.03)


def test_risk_neutral_merton_paths_reprice_the_merton_formula():
    rng = np.random.default_rng(11)
    r, t = 0.05, 0.5
    paths = merton_paths(100.0, r, 0.25, JUMPS, t, 1, 400_000, rng)
    payoff = np.maximum(paths[:, -1] - 105.0, 0.0) * math.exp(-r * t)
    se = payoff.std() / math.sqrt(payoff.size)
    assert abs(payoff.mean() - float(merton_price(100.0, 105.0, t, 0.25, r, True, JUMPS))) < 4 * se


def test_regime_occupancy_matches_the_stationary_law():
    _, regimes = regime_switching_paths(
        100.0, 0.0, (0.3, 1.0), (6.0, 18.0), 2.0, 500, 2000, np.random.default_rng(5), return_regimes=True
    )
    assert regimes.mean() == pytest.approx(6.0 / 24.0, abs=0.02)


def test_regime_volatility_follows_the_regime():
    paths, regimes = regime_switching_paths(
        100.0, 0.0, (0.2, 1.2), (1.0, 1.0), 1.0, 365, 500, np.random.default_rng(6), return_regimes=True
    )
    log_ret = np.diff(np.log(paths), axis=1)
    dt = 1.0 / 365
    calm = log_ret[regimes == 0].std() / math.sqrt(dt)
    turbulent = log_ret[regimes == 1].std() / math.sqrt(dt)
    assert calm == pytest.approx(0.2, rel=0.05)
    assert turbulent == pytest.approx(1.2, rel=0.05)


def test_models_reject_bad_parameters():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="s0"):
        gbm_paths(-1.0, 0.0, 0.5, 1.0, 10, 10, rng)
    with pytest.raises(ValueError, match="n_steps"):
        gbm_paths(100.0, 0.0, 0.5, 1.0, 0, 10, rng)
    with pytest.raises(ValueError, match="sigma"):
        merton_paths(100.0, 0.0, -0.5, JUMPS, 1.0, 10, 10, rng)


CSV = """timestamp,price
2024-01-01T00:00:00Z,2000
2024-01-01T01:00:00Z,2010.5
2024-01-01T02:00:00Z,1990
2024-01-01T03:00:00Z,2005
"""


def test_parse_price_csv_reads_iso_timestamps_and_skips_the_header():
    t, p = parse_price_csv(CSV)
    np.testing.assert_array_equal(np.diff(t), 3600.0)
    np.testing.assert_array_equal(p, [2000.0, 2010.5, 1990.0, 2005.0])


def test_parse_price_csv_reads_unix_milliseconds_and_sorts():
    t, p = parse_price_csv("1704070800000,2\n1704067200000,1\n")
    np.testing.assert_array_equal(t, [1704067200.0, 1704070800.0])
    np.testing.assert_array_equal(p, [1.0, 2.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1,100\n1,101\n", "duplicate"),
        ("1,100\n2,-5\n", "positive"),
        ("1,100\nyesterday,5\n", "timestamp"),
        ("1,100\n", "at least two"),
    ],
)
def test_parse_price_csv_rejects_bad_rows(text, match):
    with pytest.raises(ValueError, match=match):
        parse_price_csv(text)


def test_resample_carries_the_last_price_forward():
    grid = resample(np.array([0.0, 100.0, 250.0]), np.array([1.0, 2.0, 3.0]), 50.0)
    np.testing.assert_array_equal(grid, [1.0, 1.0, 2.0, 2.0, 2.0, 3.0])


def test_replay_windows_reproduce_the_history_rescaled_to_s0():
    t = np.arange(11) * 3600.0
    p = 100.0 * np.exp(np.cumsum(np.r_[0.0, np.linspace(-0.02, 0.02, 10)]))
    paths = replay_paths(
        t, p, dt_s=3600.0, n_steps=10, n_paths=1, rng=np.random.default_rng(0), s0=50.0, method="windows"
    )
    np.testing.assert_allclose(paths[0], p * 0.5)


def test_bootstrap_paths_use_only_historical_returns():
    rng = np.random.default_rng(1)
    t = np.arange(201) * 60.0
    p = 100.0 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0, 0.01, 200)]))
    paths = replay_paths(t, p, dt_s=60.0, n_steps=300, n_paths=50, rng=rng, method="bootstrap", mean_block_steps=10)
    hist = np.diff(np.log(p))
    drawn = np.diff(np.log(paths), axis=1).ravel()
    assert paths.shape == (50, 301)
    assert np.all(np.min(np.abs(drawn[:, None] - hist[None, :]), axis=1) < 1e-12)
