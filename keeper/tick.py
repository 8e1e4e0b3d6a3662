"""One tick's decision, top to bottom: snapshot -> book -> Greeks -> policy -> chain cross-check.

Pure: no RPC, no clock, no disk. The service feeds it a snapshot and sends what it returns.
The chain has the last word: the keeper only trades when the vault's own `rebalanceCheck` says
a rebalance is due, and only to a target the contract will accept (|delta| not growing past
the band, size within the cap); otherwise it falls back to the contract's own target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from keeper.greeks import SECONDS_PER_YEAR, BookGreeks, JumpParams, OptionBook, book_greeks
from keeper.policy import HedgePolicy, MarketState, PolicyState, Rebalance
from keeper.snapshot import Snapshot

WAD = 10**18


@dataclass(frozen=True)
class TickContext:
    """What the decision needs besides the snapshot."""

    policy: HedgePolicy | None  # None: follow the contract's own check ("contract" policy)
    jumps: JumpParams | None = None  # Merton model when set
    gas_price_gwei: float = 0.0
    gas_per_hedge: float = 250_000.0
    fee_bps: float = 30.0  # Uniswap V2 fee


@dataclass(frozen=True)
class Action:
    target_base_wad: int
    expected_nonce: int
    buy_base: bool
    size_base_wad: int
    reason: str


@dataclass(frozen=True)
class TickDecision:
    action: Action | None
    reason: str
    greeks: BookGreeks | None = None
    keeper_vs_chain_delta: float | None = None  # keeper's net delta minus the contract's, base

    def summary(self) -> dict[str, Any]:
        g = self.greeks
        return {
            "decision": "rebalance" if self.action else "hold",
            "reason": self.reason,
            "target_base": self.action.target_base_wad / WAD if self.action else None,
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
    if snap.paused:
        return TickDecision(None, "vault paused: nothing is sent"), state
    if not snap.oracle_ok:
        return TickDecision(
            None, f"oracle failed the vault's checks (price age {snap.price_age_s}s, vol age {snap.vol_age_s}s): nothing is sent"
        ), state
    if snap.emergency:
        if snap.check.needed:
            return TickDecision(_chain_action(snap, "emergency: the contract's full-hedge target"),
                                "emergency mode: hedging to the contract's target"), state
        return TickDecision(None, "emergency mode, but the hedge is already at the contract's target"), state

    greeks = price_book(snap, ctx.jumps) if snap.series else None
    gap = None if greeks is None else float(greeks.net_delta) - snap.net_delta
    market = MarketState(
        spot=snap.spot, vol=snap.vol, time_s=float(snap.timestamp), rate=snap.rate,
        gas_price_gwei=ctx.gas_price_gwei, gas_per_hedge=ctx.gas_per_hedge, fee_bps=ctx.fee_bps,
    )
    state = state.observe(market)

    if ctx.policy is None or greeks is None:
        if snap.check.needed:
            return TickDecision(_chain_action(snap, f"contract check: {snap.check.reason}"),
                                f"contract check: {snap.check.reason}", greeks, gap), state
        return TickDecision(None, f"contract check: no rebalance due ({snap.check.reason})", greeks, gap), state

    wanted = ctx.policy.decide(greeks, market, state)
    if not snap.check.needed:
        why = f"policy {ctx.policy.name}: {wanted.reason}"
        if isinstance(wanted, Rebalance):
            why += f"; the contract does not allow it yet ({snap.check.reason})"
        return TickDecision(None, why, greeks, gap), state
    if isinstance(wanted, Rebalance):
        target = _acceptable_target(snap, wanted.target_base)
        if target is not None:
            action = _action(snap, target, f"policy {ctx.policy.name}: {wanted.reason}")
            return TickDecision(action, action.reason, greeks, gap), state
    action = _chain_action(snap, f"contract check {snap.check.reason}; policy target not acceptable, using the contract's")
    return TickDecision(action, action.reason, greeks, gap), state


def _acceptable_target(snap: Snapshot, target_base: float) -> int | None:
    """The policy's target in wei, if the contract will accept it; else None."""
    if not np.isfinite(target_base) or target_base < 0:
        return None
    target = int(round(target_base * WAD))
    size = abs(target - snap.base_balance_wad)
    if size == 0 or size > snap.max_trade_base_wad:
        return None
    holders = int(round(snap.holders_delta * WAD))
    pre = abs(snap.base_balance_wad - holders)
    post = abs(target - holders)
    if post > max(pre, int(round(snap.band * WAD))):
        return None
    return target


def _action(snap: Snapshot, target_wad: int, reason: str) -> Action:
    return Action(
        target_base_wad=target_wad, expected_nonce=snap.hedge_nonce, buy_base=target_wad > snap.base_balance_wad,
        size_base_wad=abs(target_wad - snap.base_balance_wad), reason=reason,
    )


def _chain_action(snap: Snapshot, reason: str) -> Action:
    return _action(snap, snap.check.target_base_wad, reason)
