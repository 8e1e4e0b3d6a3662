"""Hedge decisions: when to trade the spot hedge, and to what target.

Pure functions of (book Greeks, market, policy state); no I/O. Every policy has two faces:

* ``policy.decide(book, market, state) -> Hold | Rebalance`` for the keeper's tick, with a
  human-readable reason and the residual delta the long-only hedge cannot remove;
* ``policy.plan(inputs) -> HedgePlan`` on arrays (one element per simulated path), which the
  backtester calls once per step. ``decide`` is ``plan`` on one element, so the keeper and the
  backtest run the same rule.

Units: deltas and hedge sizes in base (e.g. WETH); spot in USD per base; gamma in base per
USD; times in seconds; volatilities annualised; risk aversion in 1/USD (exponential utility:
a variance of X USD² costs ``risk_aversion * X / 2`` USD of certainty equivalent).

Hysteresis: a band policy triggers when ``|net delta|`` exceeds its outer half-width and then
trades to the inner level (``rebalance_to`` × half-width on the same side; 0 = centre). The
hedge position itself is the memory: after a trade the deviation sits at the inner level and
must travel the gap to the outer edge before the next trigger, so the decision cannot flicker
on noise smaller than that gap. ``rebalance_to`` is therefore required to be < 1.

Long-only hedge: the spot hedge holds base >= 0. When the options' delta is net positive
(put-heavy book) the desired hedge is negative; the target clamps to 0 and the remaining
delta is reported as ``residual_delta`` in every decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keeper.greeks import SECONDS_PER_YEAR, BookGreeks

FloatArray = NDArray[np.float64]

# Outcome codes of `HedgePlan.code` (int8 per path).
HOLD_IN_BAND = 0
HOLD_NOT_DUE = 1
HOLD_CLAMPED = 2  # desired hedge is below zero and the hedge is already zero: nothing reachable
HOLD_NOT_WORTH_IT = 3  # risk reduction worth less than the transaction's gas
REBALANCE = 4
REBALANCE_CLAMPED = 5  # traded, but the long-only clamp left a residual

_MIN_TRADE_BASE = 1e-12


# ----------------------------------------------------------------------------- inputs and outputs


@dataclass(frozen=True)
class MarketState:
    """What the keeper observes about the market at one tick.

    ``fee_bps`` is the proportional cost of a trade (pool fee plus spread); with
    ``pool_base_reserve`` the constant-product price impact is added, about
    ``|q| / reserve`` of the notional for a trade of ``q`` base. ``native_usd`` is the USD
    price of the gas token; ``None`` means the base is the gas token (WETH on mainnet).
    """

    spot: float
    vol: float
    time_s: float
    rate: float = 0.0
    gas_price_gwei: float = 0.0
    gas_per_hedge: float = 0.0
    fee_bps: float = 0.0
    pool_base_reserve: float | None = None
    native_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("spot", "vol", "time_s", "rate", "gas_price_gwei", "gas_per_hedge", "fee_bps"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
        if self.spot <= 0.0:
            raise ValueError(f"spot must be positive, got {self.spot!r}")
        for name in ("vol", "gas_price_gwei", "gas_per_hedge", "fee_bps"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.pool_base_reserve is not None and not self.pool_base_reserve > 0.0:
            raise ValueError(f"pool_base_reserve must be positive, got {self.pool_base_reserve!r}")
        if self.native_usd is not None and not self.native_usd > 0.0:
            raise ValueError(f"native_usd must be positive, got {self.native_usd!r}")

    @property
    def gas_usd(self) -> float:
        """USD cost of one hedge transaction."""
        native = self.spot if self.native_usd is None else self.native_usd
        return self.gas_price_gwei * 1e-9 * self.gas_per_hedge * native

    @property
    def cost_rate(self) -> float:
        """Proportional cost λ as a fraction of notional (the Whalley-Wilmott λ)."""
        return self.fee_bps * 1e-4

    def trade_cost_usd(self, trade_base: float) -> float:
        """Fee, spread and price impact of trading ``trade_base`` (gas excluded)."""
        return float(trading_cost_usd(trade_base, self.spot, self.cost_rate, self.pool_base_reserve))


def trading_cost_usd(
    trade_base: ArrayLike, spot: ArrayLike, cost_rate: float, pool_base_reserve: float | None
) -> FloatArray:
    """Proportional plus constant-product impact cost of a trade, in USD (vectorised)."""
    q = np.abs(np.asarray(trade_base, dtype=np.float64))
    s = np.asarray(spot, dtype=np.float64)
    cost = cost_rate * q * s
    if pool_base_reserve is not None:
        cost = cost + q * q * s / pool_base_reserve
    return cost


@dataclass(frozen=True)
class PolicyState:
    """What a policy remembers between ticks.

    ``last_rebalance_s`` drives the time-interval policy; ``var_forecast`` is the EWMA
    forecast of annualised variance (None until the first return is seen: the market's
    implied vol is used until then); ``last_spot``/``last_time_s`` feed the next update.
    """

    last_rebalance_s: float = -math.inf
    var_forecast: float | None = None
    last_spot: float | None = None
    last_time_s: float | None = None

    def after_rebalance(self, time_s: float) -> PolicyState:
        """Call once the rebalance transaction is confirmed (not when it is only sent)."""
        return replace(self, last_rebalance_s=time_s)

    def observe(self, market: MarketState, halflife_s: float = 86_400.0) -> PolicyState:
        """Fold a new spot observation into the EWMA variance forecast."""
        if self.last_spot is None or self.last_time_s is None or market.time_s <= self.last_time_s:
            return replace(self, last_spot=market.spot, last_time_s=market.time_s)
        prior = market.vol**2 if self.var_forecast is None else self.var_forecast
        var = ewma_variance(prior, math.log(market.spot / self.last_spot), market.time_s - self.last_time_s, halflife_s)
        return replace(self, var_forecast=float(var), last_spot=market.spot, last_time_s=market.time_s)


def ewma_variance(prior_var: ArrayLike, log_return: ArrayLike, dt_s: float, halflife_s: float) -> FloatArray:
    """EWMA of annualised variance: ``λ prior + (1 - λ) r² / dt`` with ``λ = 2^{-dt/halflife}``.

    The decay depends on elapsed time, so irregular ticks weigh observations correctly.
    """
    if dt_s <= 0.0:
        raise ValueError(f"dt_s must be positive, got {dt_s!r}")
    decay = 0.5 ** (dt_s / halflife_s)
    r = np.asarray(log_return, dtype=np.float64)
    return decay * np.asarray(prior_var, dtype=np.float64) + (1.0 - decay) * r * r * (SECONDS_PER_YEAR / dt_s)


@dataclass(frozen=True)
class VolForecast:
    vol: float
    method: str  # "garch" or "ewma"


def forecast_vol(
    log_returns: ArrayLike, dt_s: float, *, method: str = "garch", halflife_s: float = 86_400.0
) -> VolForecast:
    """Annualised one-step-ahead volatility forecast from a history of log returns.

    GARCH(1,1) with zero mean through ``arch`` when it is installed and ``method="garch"``
    (it needs a few hundred returns to be stable); otherwise, or if the fit fails to produce a
    finite forecast, the EWMA with ``halflife_s`` seeded with the sample variance.
    """
    r = np.asarray(log_returns, dtype=np.float64).ravel()
    if r.size < 2 or not np.isfinite(r).all():
        raise ValueError("log_returns must hold at least two finite returns")
    per_year = SECONDS_PER_YEAR / dt_s
    if method == "garch":
        garch_var = _garch_next_variance(r)
        if garch_var is not None:
            return VolForecast(math.sqrt(garch_var * per_year), "garch")
    # The EWMA recursion unrolled: prior weight decay^n, return i weight (1 - decay) decay^(n-1-i).
    decay = 0.5 ** (dt_s / halflife_s)
    powers = decay ** np.arange(r.size - 1, -1, -1, dtype=np.float64)
    var = decay**r.size * float(r.var()) + (1.0 - decay) * float(powers @ (r * r))
    return VolForecast(math.sqrt(var * per_year), "ewma")


def _garch_next_variance(returns: FloatArray) -> float | None:
    """One-step GARCH(1,1) variance forecast per step, or None without ``arch`` or on a bad fit."""
    try:
        from arch import arch_model
    except ImportError:
        return None
    scale = 100.0 / max(float(returns.std()), 1e-12)  # arch's optimiser prefers returns of order 1-100
    res = arch_model(returns * scale, mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    var = float(res.forecast(horizon=1, reindex=False).variance.values[-1, 0]) / scale**2
    return var if math.isfinite(var) and var > 0.0 else None


@dataclass(frozen=True)
class HedgeInputs:
    """The vectorised view one decision needs; every field is a scalar or an (n,) array."""

    spot: ArrayLike
    option_delta: ArrayLike
    gamma: ArrayLike
    hedge_base: ArrayLike
    tau_years: ArrayLike
    vol: ArrayLike  # the policy's volatility forecast, annualised
    time_s: ArrayLike
    last_rebalance_s: ArrayLike
    gas_usd: ArrayLike = 0.0
    cost_rate: float = 0.0
    rate: float = 0.0
    pool_base_reserve: float | None = None

    @classmethod
    def from_tick(cls, book: BookGreeks, market: MarketState, state: PolicyState) -> HedgeInputs:
        vol = market.vol if state.var_forecast is None else math.sqrt(state.var_forecast)
        return cls(
            spot=market.spot,
            option_delta=book.option_delta,
            gamma=book.gamma,
            hedge_base=book.hedge_base,
            tau_years=book.tau_years,
            vol=vol,
            time_s=market.time_s,
            last_rebalance_s=state.last_rebalance_s,
            gas_usd=market.gas_usd,
            cost_rate=market.cost_rate,
            rate=market.rate,
            pool_base_reserve=market.pool_base_reserve,
        )


@dataclass(frozen=True)
class HedgePlan:
    """Per-path outcome of one decision step (arrays of equal shape)."""

    trade: NDArray[np.bool_]
    target_base: FloatArray
    outer: FloatArray  # trigger half-width, base
    inner: FloatArray  # deviation traded to, base
    residual_delta: FloatArray  # net delta after the decision
    code: NDArray[np.int8]
    benefit_usd: FloatArray  # certainty-equivalent value of the risk removed (adaptive policy)
    cost_usd: FloatArray  # gas + trading cost of the trade


@dataclass(frozen=True)
class Hold:
    reason: str
    residual_delta: float = 0.0


@dataclass(frozen=True)
class Rebalance:
    target_base: float
    reason: str
    trade_base: float = 0.0  # signed, + buys base
    residual_delta: float = 0.0


Decision = Hold | Rebalance


@runtime_checkable
class HedgePolicy(Protocol):
    """What the keeper and the backtester call; every policy in this module implements it."""

    @property
    def name(self) -> str: ...

    def plan(self, inputs: HedgeInputs) -> HedgePlan: ...

    def decide(self, book: BookGreeks, market: MarketState, state: PolicyState) -> Decision: ...


# ----------------------------------------------------------------------------- shared machinery


def _arrays(inputs: HedgeInputs) -> dict[str, FloatArray]:
    names = ("spot", "option_delta", "gamma", "hedge_base", "tau_years", "vol", "time_s", "last_rebalance_s", "gas_usd")
    raw = {n: np.asarray(getattr(inputs, n), dtype=np.float64) for n in names}
    shape = np.broadcast_shapes(*(a.shape for a in raw.values()))
    return {n: np.broadcast_to(a, shape) for n, a in raw.items()}


def _finish(
    a: dict[str, FloatArray],
    trigger: NDArray[np.bool_],
    desired_dev: FloatArray,
    outer: FloatArray,
    inner: FloatArray,
    hold_code: int,
    inputs: HedgeInputs,
    benefit_check: tuple[float, ArrayLike] | None = None,
) -> HedgePlan:
    """Turn a trigger and a desired deviation into a clamped, costed plan.

    ``benefit_check = (risk_aversion, horizon_years)`` enables the gas rule: skip a trade whose
    variance reduction over the horizon, valued at ``risk_aversion / 2`` USD per USD², is worth
    less than its gas (the proportional cost is the Whalley-Wilmott band's to price).
    """
    hedge, opt = a["hedge_base"], a["option_delta"]
    dev = opt + hedge
    desired = desired_dev - opt
    target = np.maximum(desired, 0.0)
    clamped = desired < 0.0
    trade_size = target - hedge
    reachable = np.abs(trade_size) > _MIN_TRADE_BASE
    trade = trigger & reachable
    cost = np.where(
        trade, a["gas_usd"] + trading_cost_usd(trade_size, a["spot"], inputs.cost_rate, inputs.pool_base_reserve), 0.0
    )
    after = opt + target
    benefit = np.zeros_like(dev)
    worth = np.ones_like(trade)
    if benefit_check is not None:
        risk_aversion, horizon = benefit_check
        var_cut = (dev * dev - after * after) * a["spot"] ** 2 * a["vol"] ** 2 * np.asarray(horizon, dtype=np.float64)
        benefit = 0.5 * risk_aversion * var_cut
        worth = benefit >= a["gas_usd"]
    do = trade & worth
    code = np.full(dev.shape, hold_code, dtype=np.int8)
    code[trigger & ~reachable & clamped] = HOLD_CLAMPED
    code[trade & ~worth] = HOLD_NOT_WORTH_IT
    code[do] = np.where(clamped[do], REBALANCE_CLAMPED, REBALANCE)
    return HedgePlan(
        trade=do,
        target_base=np.where(do, target, hedge),
        outer=np.broadcast_to(outer, dev.shape),
        inner=np.broadcast_to(inner, dev.shape),
        residual_delta=np.where(do, after, dev),
        code=code,
        benefit_usd=np.where(trade, benefit, 0.0),
        cost_usd=cost,
    )


def _band_plan(
    a: dict[str, FloatArray],
    outer: FloatArray,
    rebalance_to: float,
    inputs: HedgeInputs,
    benefit_check: tuple[float, ArrayLike] | None = None,
) -> HedgePlan:
    dev = a["option_delta"] + a["hedge_base"]
    trigger = np.abs(dev) > outer
    # An infinite band never triggers; keep its inner level finite so no inf*0 reaches the plan.
    inner = np.where(np.isfinite(outer), rebalance_to * outer, 0.0)
    return _finish(a, trigger, np.sign(dev) * inner, outer, inner, HOLD_IN_BAND, inputs, benefit_check)


def _check_band_limits(lo: float, hi: float) -> None:
    if not (lo >= 0.0 and hi > 0.0 and lo <= hi):
        raise ValueError(f"need 0 <= min_half_width_base <= max_half_width_base and max > 0, got {lo!r} and {hi!r}")


def _check_rebalance_to(value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"rebalance_to must be in [0, 1) so the inner level sits strictly inside the trigger "
            f"band (hysteresis), got {value!r}"
        )


def describe_plan(policy: HedgePolicy, plan: HedgePlan, inputs: HedgeInputs) -> Decision:
    """One-element plan -> Decision with a reason that carries its numbers and units."""
    code = int(plan.code.reshape(-1)[0])
    scalar = {
        f: float(np.asarray(getattr(plan, f)).reshape(-1)[0])
        for f in ("target_base", "outer", "inner", "residual_delta", "benefit_usd", "cost_usd")
    }
    hedge = float(np.asarray(inputs.hedge_base).reshape(-1)[0])
    dev = float(np.asarray(inputs.option_delta).reshape(-1)[0]) + hedge
    band = f"|net delta| {abs(dev):.6g} base vs band {scalar['outer']:.6g} base"
    residual = scalar["residual_delta"]
    if code in (REBALANCE, REBALANCE_CLAMPED):
        reason = f"{policy.name}: {band}; trade to net delta {residual:.6g} base"
        if code == REBALANCE_CLAMPED:
            reason += " (long-only: target clamped at 0 base, residual reported)"
        if scalar["benefit_usd"] > 0.0:
            reason += f"; risk benefit {scalar['benefit_usd']:.4g} USD >= cost {scalar['cost_usd']:.4g} USD"
        return Rebalance(scalar["target_base"], reason, scalar["target_base"] - hedge, residual)
    reasons = {
        HOLD_IN_BAND: f"{policy.name}: inside band, {band}",
        HOLD_NOT_DUE: f"{policy.name}: not due, {band}",
        HOLD_CLAMPED: (
            f"{policy.name}: {band}, but the hedge is already 0 base and cannot go short; residual {residual:.6g} base"
        ),
        HOLD_NOT_WORTH_IT: (
            f"{policy.name}: {band}, but risk benefit {scalar['benefit_usd']:.4g} USD < the transaction's gas"
        ),
    }
    return Hold(reasons[code], residual)


class _DecideMixin:
    """`decide` is `plan` on one element: the keeper and the backtest share one rule."""

    def decide(self, book: BookGreeks, market: MarketState, state: PolicyState) -> Decision:
        for name in ("option_delta", "gamma", "hedge_base"):
            value = getattr(book, name)
            if np.ndim(value) != 0 or not math.isfinite(float(value)):
                raise ValueError(f"book.{name} must be a finite scalar for a tick decision, got {value!r}")
        inputs = HedgeInputs.from_tick(book, market, state)
        return describe_plan(self, self.plan(inputs), inputs)  # type: ignore[arg-type, attr-defined]


# ----------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class FixedBand(_DecideMixin):
    """Trade when |net delta| exceeds a fixed half-width (base units)."""

    half_width_base: float
    rebalance_to: float = 0.0
    name: str = "fixed-band"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_width_base) and self.half_width_base >= 0.0):
            raise ValueError(f"half_width_base must be finite and >= 0, got {self.half_width_base!r}")
        _check_rebalance_to(self.rebalance_to)

    def plan(self, inputs: HedgeInputs) -> HedgePlan:
        a = _arrays(inputs)
        outer = np.full(a["spot"].shape, self.half_width_base)
        return _band_plan(a, outer, self.rebalance_to, inputs)


@dataclass(frozen=True)
class TimeInterval(_DecideMixin):
    """Re-hedge to delta-neutral every ``interval_s`` seconds (the textbook discrete hedge)."""

    interval_s: float
    name: str = "interval"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0.0):
            raise ValueError(f"interval_s must be finite and positive, got {self.interval_s!r}")

    def plan(self, inputs: HedgeInputs) -> HedgePlan:
        a = _arrays(inputs)
        # A small tolerance so float time grids (k * dt) do not skip a due step.
        due = a["time_s"] - a["last_rebalance_s"] >= self.interval_s * (1.0 - 1e-9)
        zeros = np.zeros(a["spot"].shape)
        return _finish(a, due, zeros, zeros, zeros, HOLD_NOT_DUE, inputs)


def whalley_wilmott_half_width(
    gamma: ArrayLike, spot: ArrayLike, tau_years: ArrayLike, rate: float, cost_rate: float, risk_aversion: float
) -> FloatArray:
    """Whalley & Wilmott (1997) asymptotically optimal no-trade half-width (base units).

    ``H = (3/2 · e^{-r τ} · λ S Γ² / γ)^{1/3}`` with λ the proportional cost, Γ the book gamma
    and γ the risk aversion (Whalley, A.E. and Wilmott, P., "An asymptotic analysis of an
    optimal hedging model for option pricing with transaction costs", Mathematical Finance
    7(3), 307-324, 1997).
    """
    if not risk_aversion > 0.0:
        raise ValueError(f"risk_aversion must be positive, got {risk_aversion!r}")
    g = np.asarray(gamma, dtype=np.float64)
    return np.cbrt(1.5 * np.exp(-rate * np.asarray(tau_years)) * cost_rate * np.asarray(spot) * g * g / risk_aversion)


@dataclass(frozen=True)
class WhalleyWilmott(_DecideMixin):
    """The Whalley-Wilmott band around delta-neutral.

    In continuous time the optimal rule trades just back to the band edge; a keeper acting at
    discrete ticks would then trade at almost every tick, so the default trades to 80 % of the
    half-width (``rebalance_to``), which keeps the hysteresis gap. ``max_half_width_base`` caps
    the band inside the vault's hard band: beyond it, after the grace, the must path takes the trade
    (to the contract's full hedge, a bounty paid). ``min_half_width_base``
    floors the band when λ or Γ is ~0.
    """

    risk_aversion: float
    rebalance_to: float = 0.8
    min_half_width_base: float = 0.0
    max_half_width_base: float = math.inf
    name: str = "whalley-wilmott"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.risk_aversion) and self.risk_aversion > 0.0):
            raise ValueError(f"risk_aversion must be finite and positive, got {self.risk_aversion!r}")
        _check_rebalance_to(self.rebalance_to)
        _check_band_limits(self.min_half_width_base, self.max_half_width_base)

    def plan(self, inputs: HedgeInputs) -> HedgePlan:
        a = _arrays(inputs)
        h = whalley_wilmott_half_width(
            a["gamma"], a["spot"], a["tau_years"], inputs.rate, inputs.cost_rate, self.risk_aversion
        )
        outer = np.minimum(np.maximum(h, self.min_half_width_base), self.max_half_width_base)
        return _band_plan(a, outer, self.rebalance_to, inputs)


def gas_half_width(
    spot: ArrayLike,
    vol: ArrayLike,
    gas_usd: ArrayLike,
    risk_aversion: float,
    horizon_years: ArrayLike,
    rebalance_to: float,
) -> FloatArray:
    """Smallest deviation x whose trade to ``rebalance_to · x`` pays for its gas.

    Solves ``(γ/2)(1 - ρ²) x² S² σ² h = gas`` for x >= 0: the hedging-error variance removed over
    the horizon h, valued at γ/2 per USD², equals the transaction's gas. The proportional cost is
    not in it: the Whalley-Wilmott band beside it prices that (counting it in both made the band
    too wide). Higher forecast vol narrows the band; dearer gas widens it; at zero gas it is 0.
    With no variance (σ = 0 or h = 0) and gas to pay, the band is infinite: never worth trading.
    """
    s = np.asarray(spot, dtype=np.float64)
    a = 0.5 * risk_aversion * (1.0 - rebalance_to**2) * s * s * np.asarray(vol) ** 2 * horizon_years
    c = np.asarray(gas_usd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.sqrt(c / a)
    return np.where(a > 0.0, x, np.where(c > 0.0, np.inf, 0.0))


@dataclass(frozen=True)
class AdaptiveBand(_DecideMixin):
    """A band that adapts to forecast volatility and to gas.

    Half-width = max(Whalley-Wilmott band, gas band, floor), where the gas band
    (:func:`gas_half_width`) is the deviation at which the variance the trade removes over
    ``horizon_s``, at the *forecast* volatility, is worth its gas. On top of the band, each
    proposed trade (after the long-only clamp) must itself pass that test, so a hedge is skipped
    when gas is dear relative to the risk it removes. The proportional cost is priced once, by
    the Whalley-Wilmott band: at zero gas the adaptive band is that band. The forecast volatility
    comes from the policy state (EWMA, or a GARCH forecast the keeper stores there).
    """

    risk_aversion: float
    horizon_s: float = 86_400.0
    rebalance_to: float = 0.5
    min_half_width_base: float = 0.0
    max_half_width_base: float = math.inf  # inside the vault's hard band (see WhalleyWilmott)
    name: str = "adaptive"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.risk_aversion) and self.risk_aversion > 0.0):
            raise ValueError(f"risk_aversion must be finite and positive, got {self.risk_aversion!r}")
        if not (math.isfinite(self.horizon_s) and self.horizon_s > 0.0):
            raise ValueError(f"horizon_s must be finite and positive, got {self.horizon_s!r}")
        _check_rebalance_to(self.rebalance_to)
        _check_band_limits(self.min_half_width_base, self.max_half_width_base)

    def plan(self, inputs: HedgeInputs) -> HedgePlan:
        a = _arrays(inputs)
        horizon = np.minimum(self.horizon_s / SECONDS_PER_YEAR, np.maximum(a["tau_years"], 0.0))
        ww = whalley_wilmott_half_width(
            a["gamma"], a["spot"], a["tau_years"], inputs.rate, inputs.cost_rate, self.risk_aversion
        )
        gas = gas_half_width(a["spot"], a["vol"], a["gas_usd"], self.risk_aversion, horizon, self.rebalance_to)
        outer = np.minimum(np.maximum(np.maximum(ww, gas), self.min_half_width_base), self.max_half_width_base)
        return _band_plan(a, outer, self.rebalance_to, inputs, benefit_check=(self.risk_aversion, horizon))


# ----------------------------------------------------------------------------- by name (config files)

POLICY_CLASSES: dict[str, type] = {
    "fixed_band": FixedBand,
    "whalley_wilmott": WhalleyWilmott,
    "adaptive": AdaptiveBand,
    "interval": TimeInterval,
}
# The keeper's default: the Whalley-Wilmott band, cost-aware, its risk aversion calibrated on the
# demo's book and costs (docs/HEDGING.md, "The keeper's default"; `hv calibrate` fits it for yours:
# it is in 1/USD, so it scales with the book), its band capped inside the vault's 5-base hard band
# so the must path stays the exception. The fixed band of the vault's former on-chain width
# (`fixed_band`, 1 base) stays an opt-in.
DEFAULT_POLICY = "whalley_wilmott"
DEFAULT_POLICY_PARAMS: dict[str, dict[str, float]] = {
    "whalley_wilmott": {"risk_aversion": 0.01, "max_half_width_base": 2.5, "rebalance_to": 0.5},
    "fixed_band": {"half_width_base": 1.0},
}


def policy_param_names(name: str) -> tuple[str, ...]:
    """The numeric parameters a policy takes by name (its dataclass fields but the display name)."""
    return tuple(f.name for f in fields(POLICY_CLASSES[name]) if f.name != "name")


def build_policy(name: str, params: dict[str, float] | None = None) -> HedgePolicy:
    """The policy `name` with its defaults overridden by `params`; ValueError names a bad one."""
    merged = {**DEFAULT_POLICY_PARAMS.get(name, {}), **(params or {})}
    unknown = sorted(set(merged) - set(policy_param_names(name)))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for {name} (known: {', '.join(policy_param_names(name))})")
    try:
        policy: HedgePolicy = POLICY_CLASSES[name](**merged)
    except TypeError as exc:  # a required parameter missing
        raise ValueError(str(exc).split(".", 1)[-1].replace("__init__() ", "")) from None
    return policy
