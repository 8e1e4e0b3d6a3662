"""The live keeper's vol forecast (keeper/volforecast.py): GARCH on its own spot history, EWMA fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keeper.greeks import SECONDS_PER_YEAR
from keeper.policy import PolicyState, VolForecast
from keeper.volforecast import GarchForecaster, GarchView, serve_forecast

TICK_S = 15.0


def gbm_spots(n: int, vol: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    step_sd = vol * math.sqrt(TICK_S / SECONDS_PER_YEAR)
    return 3_000.0 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0.0, step_sd, n)]))


def feed(fc: GarchForecaster, spots: np.ndarray, start_s: float = 0.0) -> GarchView:
    view = GarchView(None)
    for i, s in enumerate(spots):
        view = fc.observe(float(s), start_s + i * TICK_S)
    return view


class CountingFit:
    def __init__(self, vol: float = 0.5, fail: Exception | None = None) -> None:
        self.calls, self.vol, self.fail = 0, vol, fail

    def __call__(self, returns: np.ndarray, dt_s: float) -> VolForecast:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return VolForecast(self.vol, "garch")


def test_too_few_returns_fall_back_to_the_ewma_and_say_how_many():
    fc = GarchForecaster(min_returns=250)
    view = feed(fc, gbm_spots(37, 0.8))  # 38 snapshots: 37 returns
    assert view.vol is None and view.why_not == "too few returns 37 < 250"
    served = serve_forecast(view, ewma_var=0.65**2, implied_vol=0.8)
    assert served.method == "ewma" and served.vol == pytest.approx(0.65)
    assert str(served) == "ewma 0.65 (garch: too few returns 37 < 250)"


def test_garch_fitted_on_the_keepers_history_serves_a_forecast_near_the_true_vol():
    fc = GarchForecaster(min_returns=250)
    view = feed(fc, gbm_spots(800, 0.8))
    assert view.vol is not None and view.why_not == ""
    assert view.vol == pytest.approx(0.8, rel=0.2)
    served = serve_forecast(view, ewma_var=0.1, implied_vol=0.5)
    assert served.method == "garch" and str(served).startswith("garch 0.")


def test_the_first_fit_comes_with_enough_returns_then_every_refit_every_returns():
    fit = CountingFit()
    fc = GarchForecaster(min_returns=10, refit_every=5, fit=fit)
    feed(fc, gbm_spots(9, 0.8))
    assert fit.calls == 0
    feed(fc, gbm_spots(0, 0.8), start_s=10 * TICK_S)  # the 10th return
    assert fit.calls == 1
    for i in range(4):
        fc.observe(3_000.0, (11 + i) * TICK_S)
    assert fit.calls == 1
    fc.observe(3_000.0, 15 * TICK_S)
    assert fit.calls == 2


def test_a_failed_fit_falls_back_to_the_ewma_with_the_reason_and_is_not_retried_every_tick():
    fit = CountingFit(fail=RuntimeError("optimizer diverged"))
    fc = GarchForecaster(min_returns=10, refit_every=5, fit=fit)
    view = feed(fc, gbm_spots(12, 0.8))
    assert view.vol is None and view.why_not == "fit failed (RuntimeError: optimizer diverged)"
    assert fit.calls == 1
    assert serve_forecast(view, None, implied_vol=0.8).vol == 0.8  # no EWMA yet: the market's implied vol


def test_a_fit_without_a_garch_forecast_is_a_fallback():
    fc = GarchForecaster(min_returns=10, fit=lambda r, dt: VolForecast(0.4, "ewma"))
    view = feed(fc, gbm_spots(12, 0.8))
    assert view.vol is None and "no finite forecast" in view.why_not


def test_the_history_is_bounded_and_repeated_timestamps_add_no_return():
    fc = GarchForecaster(min_returns=10, max_returns=50, fit=CountingFit())
    feed(fc, gbm_spots(120, 0.8))
    assert fc.n_returns == 50
    fc.observe(3_100.0, 120 * TICK_S)  # same block time as the last snapshot
    assert fc.n_returns == 50


def test_an_ewma_vault_serves_the_ewma_without_a_garch_note():
    served = serve_forecast(None, ewma_var=0.49, implied_vol=0.8)
    assert str(served) == "ewma 0.7"
    assert served.for_policy(PolicyState(var_forecast=0.49)).var_forecast == pytest.approx(0.49)


def test_the_served_forecast_is_what_the_policy_reads():
    state = serve_forecast(GarchView(0.9), ewma_var=0.25, implied_vol=0.8).for_policy(PolicyState(var_forecast=0.25))
    assert state.var_forecast == pytest.approx(0.81)
