"""Vectorised delta-hedging backtest: write a book, hedge it as the keeper would, count the cost.

The vault sells the book at t = 0 for its model premium. At every grid step the keeper's own
decision (keeper.decision.decide: the policy, then the vault's envelope modelled by
keeper/envelope.py: dust, interval, hard band and must path, toward-zero rule, max trade, the
leaky-bucket budgets) picks the trade, and the venue (keeper/sim/venue.py: the pool's fee and its
constant-product impact, the pool arbitraged back to the oracle between steps) and gas (gas per
rebalance × gwei × the gas token's USD price) cost it. Cash accrues at the rate r (a negative
balance borrows at r). Options settle in cash at the first grid time at or after their expiry;
options still live at the end are marked at the hedger's model. The final hedge is unwound
through the venue in slices of at most the max trade, a transaction each (`exit_cost`; off only
to compare with the textbook).

Per path it reports

* ``cost``: present value at t = 0 of every cash flow of writing and hedging the book
  (hedge trades, interest, costs, payoffs, final marks), i.e. what the book cost to deliver.
  Without frictions its mean is the model premium (Hull's "cost of hedging" experiment);
* ``hedge_error``: terminal P&L of the writer who received the premium,
  ``premium e^{rT} - cost e^{rT}`` — zero for a perfect continuous hedge.

Everything is vectorised across paths; the only Python loop is over time steps, because a
hedge decision depends on the previous one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper import decision
from keeper.envelope import Envelope, EnvelopeState
from keeper.greeks import (
    SECONDS_PER_YEAR,
    JumpParams,
    OptionBook,
    bs_delta_gamma,
    bs_price,
    merton_delta_gamma,
    merton_price,
)
from keeper.policy import HedgeInputs, HedgePolicy, ewma_variance
from keeper.sim.venue import Venue

FloatArray = NDArray[np.float64]
_EXPIRY_EPS_YEARS = 1e-9  # a grid time within ~30 ms of an expiry counts as that expiry
# Gas of one keeper rebalance at 8 live series (docs/BENCHMARKS.md, `benchmarks/bench_vault_gas.py`).
REBALANCE_GAS = 218_029.0
# A keeper trade cut to the max trade is followed by another once it lands (the keeper ticks on every
# block); at most this many in one step of the grid (a 5-base max trade: 40 base outside the band).
MAX_ROUNDS_PER_STEP = 8


@dataclass(frozen=True)
class BacktestConfig:
    """Market frictions and the hedger's model.

    ``hedger_vol`` is the volatility the keeper prices and hedges with (with ``jumps`` it is
    the diffusion vol of a Merton model the keeper uses instead of Black-Scholes; the vault's
    own delta is always Black-Scholes at that vol, as on chain). ``fee_bps`` is the venue's fee;
    ``pool_base_reserve`` its depth (constant-product impact); gas costs ``gas_price_gwei * 1e-9 *
    gas_per_hedge`` native tokens, priced at the spot (base = gas token) unless ``native_usd``
    is given. ``vol_halflife_s`` sets the EWMA vol forecast the policies read. ``envelope`` is
    the vault's (the deploy defaults unless given; ``Envelope.unbounded()`` for the textbook);
    ``inclusion_margin_s`` as in the live keeper (keeper.tick.TickContext).
    """

    hedger_vol: float
    rate: float = 0.0
    jumps: JumpParams | None = None
    fee_bps: float = 0.0
    gas_price_gwei: float = 0.0
    gas_per_hedge: float = REBALANCE_GAS
    pool_base_reserve: float | None = None
    native_usd: float | None = None
    vol_halflife_s: float = 86_400.0
    envelope: Envelope = Envelope()
    exit_cost: bool = True
    inclusion_margin_s: float = 60.0
    landing_delay_s: float = 12.0  # a rebalance lands a block after the snapshot (the vault's lastRebalanceAt)
    record_decisions: bool = False  # keep every step's decision code (DecisionPlan.code) per path

    def __post_init__(self) -> None:
        if not (math.isfinite(self.hedger_vol) and self.hedger_vol > 0.0):
            raise ValueError(f"hedger_vol must be finite and positive, got {self.hedger_vol!r}")
        for name in ("fee_bps", "gas_price_gwei", "gas_per_hedge"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        if not math.isfinite(self.rate):
            raise ValueError(f"rate must be finite, got {self.rate!r}")
        if self.pool_base_reserve is not None and not self.pool_base_reserve > 0.0:
            raise ValueError(f"pool_base_reserve must be positive, got {self.pool_base_reserve!r}")
        if not self.vol_halflife_s > 0.0:
            raise ValueError(f"vol_halflife_s must be positive, got {self.vol_halflife_s!r}")

    @property
    def gas_native(self) -> float:
        return self.gas_price_gwei * 1e-9 * self.gas_per_hedge

    @property
    def venue(self) -> Venue:
        return Venue(self.fee_bps, self.pool_base_reserve)


@dataclass(frozen=True)
class BacktestResult:
    """Per-path outcomes (arrays of shape ``(n_paths,)``) and the model premium."""

    policy: str
    premium: float  # USD at t = 0, received for the book
    cost: FloatArray  # USD, PV at t = 0
    hedge_error: FloatArray  # USD at the horizon
    trades: NDArray[np.int64]
    trading_cost: FloatArray  # USD, PV: the venue's fee and impact against the oracle, the exit included
    gas_cost: FloatArray  # USD, PV, the exit's transaction included
    exit_cost: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))  # USD, PV: unwinding the final hedge
    must_trades: NDArray[np.int64] = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    codes: NDArray[np.int8] | None = None  # (n_paths, n_steps) decision codes with record_decisions
    final_hedge: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))  # base held at the end, before the exit

    @property
    def n_paths(self) -> int:
        return int(self.cost.size)

    def summary(self) -> dict[str, float]:
        """Statistics for a comparison table (USD unless noted)."""
        err = self.hedge_error
        n = err.size
        worst = np.sort(err)[: max(1, int(math.ceil(0.05 * n)))]
        friction = self.trading_cost + self.gas_cost
        pct = 100.0 / self.premium if self.premium > 0 else math.nan
        std_cost = float(self.cost.std(ddof=1)) if n > 1 else 0.0
        return {
            "premium": self.premium,
            "mean_cost": float(self.cost.mean()),
            "mean_friction": float(friction.mean()),  # trading + gas + exit, USD
            "friction_pct_premium": float(friction.mean()) * pct,
            "std_error_pct_premium": (float(err.std(ddof=1)) if n > 1 else 0.0) * pct,
            # Hull's performance measure: the std of the hedging cost over the option's price.
            "std_cost_over_premium": std_cost / self.premium if self.premium > 0 else math.nan,
            "mean_exit_cost": float(self.exit_cost.mean()) if self.exit_cost.size else 0.0,
            "mean_must_trades": float(self.must_trades.mean()) if self.must_trades.size else 0.0,
            "std_cost": std_cost,
            "mean_error": float(err.mean()),
            "se_mean_error": float(err.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
            "std_error": float(err.std(ddof=1)) if n > 1 else 0.0,
            "es95_error": float(worst.mean()),  # mean of the worst 5 % hedge errors
            "mean_trades": float(self.trades.mean()),
            "mean_trading_cost": float(self.trading_cost.mean()),
            "mean_gas_cost": float(self.gas_cost.mean()),
        }


def _check_paths(paths: FloatArray, times: FloatArray) -> None:
    if paths.ndim != 2 or paths.shape[1] < 2:
        raise ValueError(f"paths must have shape (n_paths, n_steps + 1) with n_steps >= 1, got {paths.shape}")
    if times.shape != (paths.shape[1],):
        raise ValueError(f"times has shape {times.shape}; expected ({paths.shape[1]},) to match paths")
    if times[0] != 0.0 or (np.diff(times) <= 0.0).any():
        raise ValueError("times must start at 0 and increase strictly (years)")
    if not (paths > 0.0).all() or not np.isfinite(paths).all():
        raise ValueError("paths must be positive and finite")


def _book_delta_gamma(
    spot: FloatArray, book: OptionBook, live: NDArray[np.bool_], t: float, config: BacktestConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Option delta, gamma and |gamma|-weighted time to expiry per path (live options only)."""
    k = book.strikes[live]
    tau = np.maximum(book.expiries[live] - t, 0.0)
    q = book.quantities[live]
    s = spot[:, None]
    if config.jumps is None:
        w = np.where(book.is_call[live], 1.0, -1.0)
        delta, gamma = bs_delta_gamma(s, k, tau, config.hedger_vol, config.rate, w)
    else:
        delta, gamma = merton_delta_gamma(s, k, tau, config.hedger_vol, config.rate, book.is_call[live], config.jumps)
    qg = np.abs(gamma * q)
    weight = qg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_w = np.where(weight > 0.0, (qg * tau).sum(axis=1) / weight, tau.min())
    return (delta * q).sum(axis=1), (gamma * q).sum(axis=1), tau_w


def _book_value(
    spot: FloatArray, book: OptionBook, live: NDArray[np.bool_], t: float, config: BacktestConfig
) -> FloatArray:
    """Signed model value of the live options per path (written options negative)."""
    if not live.any():
        return np.zeros(spot.shape)
    args = (
        spot[:, None],
        book.strikes[live],
        np.maximum(book.expiries[live] - t, 0.0),
        config.hedger_vol,
        config.rate,
        book.is_call[live],
    )
    price = bs_price(*args) if config.jumps is None else merton_price(*args, config.jumps)
    return (price * book.quantities[live]).sum(axis=1)


def book_premium(spot0: FloatArray, book: OptionBook, config: BacktestConfig) -> float:
    """What the vault is paid for writing `book` at t = 0: its model value at the hedger's model."""
    return -float(_book_value(spot0, book, np.ones(len(book), bool), 0.0, config).mean())


def exit_slices(venue: Venue, hedge: FloatArray, spot: FloatArray, max_trade: float) -> tuple[FloatArray, FloatArray]:
    """Selling `hedge` in slices of at most `max_trade`: the venue loss and the number of transactions."""
    held = np.maximum(hedge, 0.0)
    if math.isinf(max_trade):
        return np.where(held > 0, venue.loss_usd(held, False, spot), 0.0), (held > 0).astype(np.float64)
    full = np.floor(held / max_trade)
    rest = held - full * max_trade
    loss = full * venue.loss_usd(np.full(held.shape, max_trade), False, spot) + venue.loss_usd(rest, False, spot)
    return loss, full + (rest > 0)


def venue_loss(venue: Venue, spot: FloatArray, size: FloatArray, buy: NDArray[np.bool_]) -> FloatArray:
    return venue.loss_usd(size, buy, spot)


def _chain_delta(spot: FloatArray, book: OptionBook, live: NDArray[np.bool_], t: float, config: BacktestConfig) -> FloatArray:
    """The option delta as the vault books it: Black-Scholes at the vol oracle, whatever the keeper's model."""
    tau = np.maximum(book.expiries[live] - t, 0.0)
    w = np.where(book.is_call[live], 1.0, -1.0)
    delta, _ = bs_delta_gamma(spot[:, None], book.strikes[live], tau, config.hedger_vol, config.rate, w)
    return (delta * book.quantities[live]).sum(axis=1)


def run_backtest(
    paths: FloatArray, times: FloatArray, book: OptionBook, policy: HedgePolicy, config: BacktestConfig
) -> BacktestResult:
    """Hedge ``book`` on every path with ``policy`` inside the vault's envelope; see the module
    docstring for the accounting.

    ``paths``: spot, shape ``(n_paths, n_steps + 1)``; ``times``: years from 0, shape
    ``(n_steps + 1,)``; ``book.expiries`` are years from t = 0.
    """
    paths = np.asarray(paths, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    _check_paths(paths, times)
    n_paths, n_cols = paths.shape
    r = config.rate
    env, venue = config.envelope, config.venue

    premium = book_premium(paths[:, 0], book, config)
    hedge = np.zeros(n_paths)
    cash = np.zeros(n_paths)
    trades = np.zeros(n_paths, dtype=np.int64)
    must_trades = np.zeros(n_paths, dtype=np.int64)
    trading_cost = np.zeros(n_paths)
    gas_cost = np.zeros(n_paths)
    last_rebalance = np.full(n_paths, -np.inf)
    state = EnvelopeState.fresh(n_paths)
    codes = np.zeros((n_paths, n_cols - 1), dtype=np.int8) if config.record_decisions else None
    var = np.full(n_paths, config.hedger_vol**2 + (config.jumps.total_variance_rate if config.jumps else 0.0))
    settled = np.zeros(len(book), dtype=bool)
    signs = np.where(book.is_call, 1.0, -1.0)

    for i in range(n_cols):
        t = float(times[i])
        now_s = t * SECONDS_PER_YEAR
        spot = paths[:, i]
        if i:
            dt = t - float(times[i - 1])
            cash *= math.exp(r * dt)
            var = ewma_variance(var, np.log(spot / paths[:, i - 1]), dt * SECONDS_PER_YEAR, config.vol_halflife_s)
        due = ~settled & (book.expiries <= t + _EXPIRY_EPS_YEARS)
        for j in np.flatnonzero(due):
            cash += book.quantities[j] * np.maximum(signs[j] * (spot - book.strikes[j]), 0.0)
        settled |= due
        live = ~settled
        if i == n_cols - 1 or not live.any():
            break
        delta, gamma, tau = _book_delta_gamma(spot, book, live, t, config)
        holders = -(delta if config.jumps is None else _chain_delta(spot, book, live, t, config))
        gas_usd = config.gas_native * (spot if config.native_usd is None else config.native_usd)
        # The keeper ticks again as soon as its trade lands: a trade the max trade cut short (outside
        # the hard band the interval is waived) is followed by another in the same step.
        pending = np.ones(n_paths, dtype=bool)
        for k in range(MAX_ROUNDS_PER_STEP):
            now_k = now_s + k * config.landing_delay_s
            inputs = HedgeInputs(
                spot=spot, option_delta=delta, gamma=gamma, hedge_base=hedge, tau_years=tau, vol=np.sqrt(var),
                time_s=now_k, last_rebalance_s=last_rebalance, gas_usd=gas_usd, cost_rate=config.fee_bps * 1e-4,
                rate=r, pool_base_reserve=config.pool_base_reserve,
            )
            plan = decision.decide_modelled(policy, inputs, env, state, holders, now_k, config.inclusion_margin_s,
                                            functools.partial(venue_loss, venue, spot))
            traded = plan.trade & pending
            buy = plan.target_base > hedge
            size = np.where(traded, plan.size_base, 0.0)
            loss = np.where(traded, venue.loss_usd(size, buy, spot), 0.0)
            gas_paid = np.where(traded, gas_usd, 0.0)
            target = np.where(traded, plan.target_base, hedge)
            cash -= (target - hedge) * spot + loss + gas_paid
            disc = math.exp(-r * t)
            gas_cost += gas_paid * disc
            trading_cost += loss * disc
            trades += traded
            must_trades += plan.must & traded
            if codes is not None and k == 0:
                codes[:, i] = plan.code
            state = state.after(env, now_k + config.landing_delay_s, traded, size, loss)
            last_rebalance = np.where(traded, now_k, last_rebalance)
            hedge = target
            pending = traded & (size >= env.max_trade_base * (1.0 - 1e-12))
            if not pending.any():
                break

    t_end = float(times[i])
    spot = paths[:, i]
    exit_cost = np.zeros(n_paths)
    final_hedge = hedge
    if config.exit_cost:
        # Unwinding the final hedge: sells through the venue of at most the max trade each, one
        # transaction per slice, the pool arbitraged back between them.
        exit_loss, n_tx = exit_slices(venue, hedge, spot, env.max_trade_base)
        exit_gas = n_tx * config.gas_native * (spot if config.native_usd is None else config.native_usd)
        cash += hedge * spot - exit_loss - exit_gas
        hedge = np.zeros(n_paths)
        disc = math.exp(-r * t_end)
        exit_cost = (exit_loss + exit_gas) * disc
        trading_cost += exit_loss * disc
        gas_cost += exit_gas * disc
    wealth = cash + hedge * spot + _book_value(spot, book, ~settled, t_end, config)
    growth = math.exp(r * t_end)
    cost = -wealth / growth
    return BacktestResult(
        policy=policy.name,
        premium=premium,
        cost=cost,
        hedge_error=premium * growth + wealth,
        trades=trades,
        trading_cost=trading_cost,
        gas_cost=gas_cost,
        exit_cost=exit_cost,
        must_trades=must_trades,
        final_hedge=final_hedge,
        codes=None if codes is None else codes[:, : max(i, 1)],
    )
