"""The live keeper's volatility forecast: GARCH(1,1) on its own history of spot returns, or the EWMA.

The EWMA lives in `PolicyState` (updated every tick, no fit). A vault configured with
`vol_forecast = "garch"` also keeps a bounded history of log returns from its snapshots here and
refits GARCH (`keeper.policy.forecast_vol`, through `arch`) every `refit_every` new returns: a fit
costs tens of milliseconds, a tick should not. Between fits the last fit's forecast serves. When
there are too few returns for a stable fit, or the fit fails, the EWMA serves, and the tick's
reason says why ("vol forecast ewma 0.65 (garch: too few returns 37 < 250)").

`GarchForecaster` is the service's per-vault memory (mutable, one per vault runner);
`serve_forecast` is the pure choice the tick makes from what it holds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from keeper.policy import PolicyState, VolForecast, forecast_vol

VOL_FORECASTS = ("ewma", "garch")
# GARCH(1,1) has three parameters and a persistent variance: below a few hundred returns the
# fit is noise (forecast_vol's own note). 2,000 returns at a 15 s tick is about 8 hours.
GARCH_MIN_RETURNS = 250
GARCH_MAX_RETURNS = 2_000
GARCH_REFIT_EVERY = 20  # new returns between fits: 5 minutes at a 15 s tick

Fitter = Callable[[np.ndarray, float], VolForecast]


def _fit_garch(returns: np.ndarray, dt_s: float) -> VolForecast:
    return forecast_vol(returns, dt_s, method="garch")


@dataclass(frozen=True)
class GarchView:
    """What the GARCH side holds at one tick: an annualised vol, or None and why not."""

    vol: float | None
    why_not: str = ""


@dataclass(frozen=True)
class ServedForecast:
    """The forecast the policy gets this tick, and which method produced it."""

    method: str  # "garch" or "ewma"
    vol: float  # annualised
    why_not_garch: str = ""  # set when the vault asked for GARCH and the EWMA served instead

    def __str__(self) -> str:
        text = f"{self.method} {self.vol:.4g}"
        return f"{text} (garch: {self.why_not_garch})" if self.why_not_garch else text

    def for_policy(self, state: PolicyState) -> PolicyState:
        """The state the policy reads (`HedgeInputs.from_tick` takes `var_forecast`)."""
        return replace(state, var_forecast=self.vol**2)


def serve_forecast(garch: GarchView | None, ewma_var: float | None, implied_vol: float) -> ServedForecast:
    """GARCH when the vault asks for it and a fit is at hand; else the EWMA (the market's implied
    vol until the EWMA has seen a return)."""
    if garch is not None and garch.vol is not None:
        return ServedForecast("garch", garch.vol)
    ewma_vol = implied_vol if ewma_var is None else math.sqrt(ewma_var)
    return ServedForecast("ewma", ewma_vol, "" if garch is None else garch.why_not)


class GarchForecaster:
    """A bounded history of log returns from snapshots, and a GARCH fit refreshed at a cadence.

    Returns are taken between consecutive snapshots with a later timestamp (a repeated block
    adds nothing). Ticks are not evenly spaced (new blocks, retries), so each return is scaled
    to the median spacing, ``r sqrt(dt_median / dt)``, before the fit, which assumes equal steps.
    """

    def __init__(
        self,
        min_returns: int = GARCH_MIN_RETURNS,
        max_returns: int = GARCH_MAX_RETURNS,
        refit_every: int = GARCH_REFIT_EVERY,
        fit: Fitter = _fit_garch,
    ) -> None:
        if not 2 <= min_returns <= max_returns:
            raise ValueError(f"min_returns must be 2..max_returns ({max_returns}), got {min_returns}")
        if refit_every < 1:
            raise ValueError(f"refit_every must be >= 1, got {refit_every}")
        self.min_returns = min_returns
        self.refit_every = refit_every
        self._fit = fit
        self._returns: deque[float] = deque(maxlen=max_returns)
        self._dts: deque[float] = deque(maxlen=max_returns)
        self._last: tuple[float, float] | None = None  # (spot, time_s)
        self._since_fit = 0
        self._tried = False  # a first fit as soon as there are enough returns, then the cadence
        self._view = GarchView(None, f"too few returns 0 < {min_returns}")

    @property
    def n_returns(self) -> int:
        return len(self._returns)

    def observe(self, spot: float, time_s: float) -> GarchView:
        """Fold one snapshot in; refit when due. Returns what serves now."""
        if not (math.isfinite(spot) and spot > 0.0 and math.isfinite(time_s)):
            return self._view
        if self._last is not None and time_s > self._last[1]:
            self._returns.append(math.log(spot / self._last[0]))
            self._dts.append(time_s - self._last[1])
            self._since_fit += 1
        if self._last is None or time_s > self._last[1]:
            self._last = (spot, time_s)
        if self.n_returns < self.min_returns:
            self._view = GarchView(None, f"too few returns {self.n_returns} < {self.min_returns}")
        elif not self._tried or self._since_fit >= self.refit_every:
            self._view = self._refit()
        return self._view

    def _refit(self) -> GarchView:
        self._since_fit, self._tried = 0, True
        dts = np.asarray(self._dts)
        dt = float(np.median(dts))
        returns = np.asarray(self._returns) * np.sqrt(dt / dts)
        try:
            result = self._fit(returns, dt)
        except Exception as exc:  # a bad fit is a fallback to the EWMA, never a failed tick
            return GarchView(None, f"fit failed ({type(exc).__name__}: {exc})")
        if result.method != "garch" or not (math.isfinite(result.vol) and result.vol > 0.0):
            return GarchView(None, "fit gave no finite forecast (or arch is not installed)")
        return GarchView(result.vol)
