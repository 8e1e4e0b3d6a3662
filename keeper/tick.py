"""One tick's decision, top to bottom: snapshot -> book -> Greeks -> policy -> the vault's envelope.

Pure: no RPC, no clock, no disk. The service feeds it a snapshot and sends what it returns.

The decision itself is keeper.decision.decide, the function the backtester runs on every simulated
path: the policy decides, the vault's envelope bounds (docs/KEEPER.md, "Deciding"). Here it is fed
the chain's own `rebalanceCheck`, and its float sizes are cut to the wei by the caps the vault
checks exactly.

The loss budget needs the pool's quote for the trade, which only the service can read: it applies
`fit_loss_budget` before signing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from keeper import decision
from keeper import envelope as env_mod
from keeper.decision import LOSS_BUDGET_HEADROOM
from keeper.envelope import Check, Envelope, EnvelopeState
from keeper.greeks import SECONDS_PER_YEAR, BookGreeks, JumpParams, OptionBook, book_greeks
from keeper.policy import HedgeInputs, HedgePolicy, MarketState, PolicyState, describe_plan
from keeper.snapshot import Snapshot
from keeper.volforecast import GarchView, serve_forecast

WAD = 10**18
BPS = 10_000


@dataclass(frozen=True)
class TickContext:
    """What the decision needs besides the snapshot."""

    policy: HedgePolicy
    jumps: JumpParams | None = None  # Merton model when set
    gas_price_gwei: float = 0.0
    gas_per_hedge: float = 250_000.0
    fee_bps: float = 30.0  # Uniswap V2 fee
    # Time from the snapshot to the transaction's inclusion the keeper allows for: a keeper trade
    # outside the hard band whose must-path grace ends within it may land on the must path.
    inclusion_margin_s: float = 60.0
    # The vault's GARCH forecast this tick (keeper/volforecast.py) when it asks for one; None: EWMA.
    garch: GarchView | None = None


@dataclass(frozen=True)
class Action:
    target_base_wad: int
    expected_nonce: int
    buy_base: bool
    size_base_wad: int
    reason: str
    must: bool = False  # the must path: the contract's own target, the budgets not enforced


@dataclass(frozen=True)
class TickDecision:
    action: Action | None
    reason: str
    greeks: BookGreeks | None = None
    keeper_vs_chain_delta: float | None = None  # keeper's net delta minus the contract's, base
    policy_target_base: float | None = None  # what the policy wanted, before the envelope
    chain_reason: str | None = None  # the vault's rebalanceCheck reason

    def summary(self) -> dict[str, Any]:
        g = self.greeks
        return {
            "decision": "rebalance" if self.action else "hold",
            "reason": self.reason,
            "chain_reason": self.chain_reason,
            "must_path": bool(self.action and self.action.must),
            "target_base": self.action.target_base_wad / WAD if self.action else None,
            "policy_target_base": self.policy_target_base,
            "net_delta": None if g is None else float(g.net_delta),
            "gamma": None if g is None else float(g.gamma),
            "vega_usd": None if g is None else float(g.vega_usd),
            "theta_usd_per_day": None if g is None else float(g.theta_usd_per_day),
            "keeper_vs_chain_delta": self.keeper_vs_chain_delta,
        }


def book_of(snap: Snapshot) -> OptionBook:
    """The vault's written options: negative quantities (the vault is short)."""
    s = snap.series
    return OptionBook(
        strikes=np.array([x.strike for x in s], dtype=float),
        expiries=np.array([max(x.expiry - snap.timestamp, 0) / SECONDS_PER_YEAR for x in s], dtype=float),
        is_call=np.array([x.is_call for x in s], dtype=bool),
        quantities=np.array([-x.open_base for x in s], dtype=float),
    )


def price_book(snap: Snapshot, jumps: JumpParams | None) -> BookGreeks:
    return book_greeks(snap.spot, book_of(snap), snap.vol, snap.rate, hedge_base=snap.base_balance, jumps=jumps)


def decide(snap: Snapshot, ctx: TickContext, state: PolicyState) -> tuple[TickDecision, PolicyState]:
    check = snap.check
    if snap.paused:
        return TickDecision(None, "vault paused: nothing is sent", chain_reason=check.reason), state
    if not snap.oracle_ok:
        return TickDecision(
            None, f"oracle failed the vault's checks (price age {snap.price_age_s}s, vol age {snap.vol_age_s}s): nothing is sent",
            chain_reason=check.reason,
        ), state
    if check.must:
        # The contract's target, whatever the policy says; no pricing needed (decision.TRADE_MUST).
        action = _action(snap, check.target_base_wad, f"must path ({check.reason}: {check.words}): the contract's own "
                         f"target {check.target_base_wad / WAD:.6g} base; the policy is overridden", must=True)
        return TickDecision(action, action.reason, chain_reason=check.reason), state
    if snap.emergency:
        return TickDecision(None, f"emergency mode, but nothing to hedge beyond the dust ({check.reason})",
                            chain_reason=check.reason), state

    greeks = price_book(snap, ctx.jumps)
    gap = float(greeks.net_delta) - snap.net_delta
    market = MarketState(
        spot=snap.spot, vol=snap.vol, time_s=float(snap.timestamp), rate=snap.rate,
        gas_price_gwei=ctx.gas_price_gwei, gas_per_hedge=ctx.gas_per_hedge, fee_bps=ctx.fee_bps,
    )
    state = state.observe(market)
    forecast = serve_forecast(ctx.garch, state.var_forecast, market.vol)
    inputs = HedgeInputs.from_tick(greeks, market, forecast.for_policy(state))
    plan = decision.decide(
        ctx.policy, inputs, Envelope.from_snapshot(snap), Check.from_snapshot(snap), EnvelopeState.from_snapshot(snap),
        snap.holders_delta, float(snap.timestamp), ctx.inclusion_margin_s,
    )
    code = int(plan.code[0])
    why = f"policy {ctx.policy.name}: {describe_plan(ctx.policy, plan.policy, inputs).reason}; vol forecast {forecast}"
    wanted = float(np.asarray(plan.policy.target_base).reshape(-1)[0])
    if code == decision.HOLD_POLICY:
        return TickDecision(None, why, greeks, gap, chain_reason=check.reason), state
    if code == decision.HOLD_NOT_ALLOWED:
        return TickDecision(None, f"{why}; the vault does not allow a keeper trade now ({check.reason}: {check.words})",
                            greeks, gap, wanted, check.reason), state
    if code == decision.TRADE_MUST_SOON:
        action = _action(snap, check.target_base_wad, f"{why}; the must path opens within {ctx.inclusion_margin_s:g} s: "
                         "the contract's own target, which either path accepts")
        return TickDecision(action, action.reason, greeks, gap, wanted, check.reason), state
    # The decision already clipped the target into the envelope: its size and binding limits, to the wei.
    target, notes = _to_wei(snap, wanted, float(plan.size_base[0]), int(plan.clip_flags[0]))
    if target is None:
        return TickDecision(None, f"{why}; held: {'; '.join(notes)}", greeks, gap, wanted, check.reason), state
    if notes:
        why += f"; clipped to {target / WAD:.6g} base ({'; '.join(notes)})"
    action = _action(snap, target, why)
    return TickDecision(action, action.reason, greeks, gap, wanted, check.reason), state


def clip_to_envelope(snap: Snapshot, target_base: float) -> tuple[int | None, tuple[str, ...]]:
    """The policy's target moved into what the vault accepts from a keeper now (keeper.envelope.clip,
    the rule the backtester runs), in wei; with a note for every limit that bound it. (None, why)
    when nothing worth a trade is left."""
    _, size, flags = env_mod.clip(Envelope.from_snapshot(snap), Check.from_snapshot(snap), np.array([snap.base_balance]),
                                  np.array([snap.holders_delta]), np.array([target_base]))
    return _to_wei(snap, target_base, float(size[0]), int(flags[0]))


def _to_wei(snap: Snapshot, target_base: float, size_base: float, flags: int) -> tuple[int | None, tuple[str, ...]]:
    """The envelope's clipped size (`size_base`, 0: nothing worth a trade; `flags`: the limits that
    bound it, envelope.CLIP_*) as a target in wei, with a note per binding limit.

    The size is then cut to the wei by the same limits in integers, so float rounding can never
    push a trade past a cap the vault checks exactly (maxTradeBaseWad, the budget, across zero).
    """
    if not math.isfinite(target_base):
        return None, (f"the policy's target {target_base!r} is not a number",)
    base, check = snap.base_balance_wad, snap.check
    pre = base - snap.holders_delta_wad
    buy = pre < 0
    full_size = abs(max(snap.holders_delta_wad, 0) - base)  # to post-trade net delta zero (or base 0)
    notes = tuple(note for bit, note in (
        (env_mod.CLIP_ZERO, f"not across zero: the full hedge is {full_size / WAD:.6g} base away"),
        (env_mod.CLIP_MAX_TRADE, f"max trade {snap.max_trade_base:.6g} base"),
        (env_mod.CLIP_BUDGET, f"base budget left {check.base_budget_wad / WAD:.6g} base"),
        (env_mod.CLIP_QUOTE, f"the contract's own buy {check.size_base_wad / WAD:.6g} base (quote held)"),
    ) if flags & bit)
    if size_base <= 0.0:
        want = max(target_base, 0.0)
        if (want - snap.base_balance if buy else snap.base_balance - want) <= 0.0:
            return None, (f"the policy's target {target_base:.6g} base would not move net delta {pre / WAD:+.6g} base "
                          "toward zero on the vault's books",)
        return None, notes + (f"what is left is below the dust {snap.dust:.6g} base",)
    caps = [full_size, snap.max_trade_base_wad, check.base_budget_wad]
    if buy and check.buy_base and check.needed:
        caps.append(check.size_base_wad)
    size = min(int(round(size_base * WAD)), *caps)
    return (base + size if buy else base - size), notes


def loss_at_oracle(size_wad: int, quote_amount: int, buy_base: bool, spot_wad: int, quote_decimals: int = 6) -> int:
    """What a trade pays over (buy) or receives under (sell) its oracle value, in quote units,
    rounded up: RebalanceLogic._lossAtOracle, the quantity the vault's loss budget limits."""
    scale = WAD * 10 ** (18 - quote_decimals)
    if buy_base:
        return max(quote_amount - size_wad * spot_wad // scale, 0)
    return max(-(-size_wad * spot_wad // scale) - quote_amount, 0)


def fit_loss_budget(snap: Snapshot, action: Action, quote_amount: int) -> tuple[Action | None, str | None]:
    """The action if the pool's `quote_amount` for it keeps its loss within the loss budget left;
    else the trade cut to fit (the loss is convex in size and zero at zero, so a cut by the ratio
    fits), with a note; (None, why) when what fits is below the dust. The must path is not held
    to the budgets (the vault charges but does not enforce them)."""
    if action.must:
        return action, None
    left = snap.check.loss_budget_quote
    loss = loss_at_oracle(action.size_base_wad, quote_amount, action.buy_base, snap.spot_wad)
    if loss <= left:
        return action, None
    size = int(action.size_base_wad * left * LOSS_BUDGET_HEADROOM // loss)
    note = (f"loss budget left {left / 1e6:,.2f} USD < this trade's loss {loss / 1e6:,.2f} USD against the oracle")
    if size < snap.dust_wad:
        return None, f"{note}; what fits, {size / WAD:.6g} base, is below the dust"
    target = snap.base_balance_wad + size if action.buy_base else snap.base_balance_wad - size
    return replace(action, target_base_wad=target, size_base_wad=size,
                   reason=f"{action.reason}; cut to {size / WAD:.6g} base ({note})"), note


def execution_bound(fair_quote: int, buy_base: bool, tolerance_bps: int) -> int:
    """The vault's own execution bound (RebalanceLogic._bound) from the adapter's `quoteTrade` (`atOracle`):
    the most quote a buy may pay (rounded up), the least a sell must get (rounded down)."""
    if buy_base:
        return -(-fair_quote * (BPS + tolerance_bps) // BPS)
    return fair_quote * (BPS - tolerance_bps) // BPS


def _action(snap: Snapshot, target_wad: int, reason: str, must: bool = False) -> Action:
    return Action(
        target_base_wad=target_wad, expected_nonce=snap.hedge_nonce, buy_base=target_wad > snap.base_balance_wad,
        size_base_wad=abs(target_wad - snap.base_balance_wad), reason=reason, must=must,
    )
