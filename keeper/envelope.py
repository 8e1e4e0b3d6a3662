"""The vault's hedging envelope (RebalanceLogic), modelled on arrays: what a rebalance may do now.

The keeper decides when, the chain bounds what (docs/KEEPER.md, "Deciding"). The backtester needs
the bounds without a chain, so this module computes them the way `RebalanceLogic._check` and
`_verify` do, one element per simulated path (a live tick is one element):

* nothing is due within the dust; outside it a keeper may trade toward zero once the minimum
  interval has passed, at once outside the hard band;
* outside the hard band for `must_grace_s` since the last rebalance (or deployment), or in
  emergency, anyone may trade, but only to the contract's own target (the must path);
* a keeper trade moves |net delta| toward zero, never across it by more than the dust, at most
  `max_trade_base`, within the leaky-bucket budgets of base traded and execution loss.

Units are natural (base, USD, seconds); the chain's integers are the keeper's business
(keeper/tick.py). tests/integration/test_keeper_rules.py (`agrees`) holds this model to the vault's own
`rebalanceCheck` on a real chain.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keeper.snapshot import REASONS, Snapshot

FloatArray = NDArray[np.float64]

# IHedgeVault.Reason, in the enum's order (keeper.snapshot.REASONS names them).
NONE, OUTSIDE_DUST, OUTSIDE_HARD_BAND, EMERGENCY, INTERVAL_NOT_ELAPSED, ORACLE_INVALID, PAUSED, KEEPER_LATE, BUDGET_SPENT = (
    range(9)
)


@dataclass(frozen=True)
class Envelope:
    """The vault's HedgeParams and BudgetParams that bound a rebalance (the deploy defaults).

    `Envelope.unbounded()` is the frictionless study: every trade allowed at every step."""

    dust_base: float = 0.1
    hard_band_base: float = 5.0
    min_interval_s: float = 300.0
    must_grace_s: float = 3_600.0
    max_trade_base: float = 5.0
    window_s: float = 86_400.0
    max_base_traded: float = 200.0
    max_loss_usd: float = 2_000.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if math.isnan(value) or value < 0.0:
                raise ValueError(f"envelope.{f.name} must be >= 0, got {value!r}")
        for name in ("window_s", "max_trade_base", "max_base_traded", "max_loss_usd"):
            if getattr(self, name) <= 0.0:
                raise ValueError(f"envelope.{name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def unbounded(cls) -> Envelope:
        inf = math.inf
        return cls(0.0, inf, 0.0, inf, inf, 86_400.0, inf, inf)

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> Envelope:
        return cls(
            dust_base=snap.dust, hard_band_base=snap.hard_band, min_interval_s=float(snap.min_interval_s),
            must_grace_s=float(snap.must_grace_s), max_trade_base=snap.max_trade_base,
            window_s=float(snap.budget_window_s), max_base_traded=snap.max_base_traded, max_loss_usd=snap.max_loss_usd,
        )

    @classmethod
    def from_mapping(cls, raw: dict[str, float]) -> Envelope:
        """From a config table; a ValueError names an unknown field or a value that is not a number."""
        known = {f.name for f in fields(cls)}
        for name in raw:
            if name not in known:
                raise ValueError(f"envelope.{name}: unknown field (known: {', '.join(sorted(known))})")
        values = {}
        for name, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"envelope.{name}: expected a number, got {value!r}")
            values[name] = float(value)
        return cls(**values)


@dataclass(frozen=True)
class EnvelopeState:
    """The vault's HedgeState per path: the last rebalance and the budgets' fills at that moment."""

    last_rebalance_s: FloatArray
    base_used: FloatArray
    loss_used_usd: FloatArray
    emergency: NDArray[np.bool_]
    deployed_at_s: float = 0.0  # the must path's grace also runs from deployment

    @classmethod
    def fresh(cls, n: int, deployed_at_s: float = 0.0) -> EnvelopeState:
        zeros = np.zeros(n)
        return cls(zeros, zeros, zeros, np.zeros(n, dtype=bool), deployed_at_s)

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> EnvelopeState:
        return cls(
            np.array([float(snap.last_rebalance_at)]), np.array([snap.base_used]), np.array([snap.loss_used_usd]),
            np.array([snap.emergency]),
        )

    def budget_left(self, env: Envelope, now_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """RebalanceLogic._budgetLeft: each fill drains `max` per window since the last rebalance."""
        elapsed = np.maximum(np.asarray(now_s, dtype=np.float64) - self.last_rebalance_s, 0.0)
        share = np.minimum(elapsed / env.window_s, 1.0)
        return (_left(self.base_used, env.max_base_traded, share), _left(self.loss_used_usd, env.max_loss_usd, share))

    def after(self, env: Envelope, now_s: float, traded: NDArray[np.bool_], size: FloatArray,
              loss_usd: FloatArray) -> EnvelopeState:
        """The state once `traded` paths rebalanced `size` base at `loss_usd` against the oracle."""
        base_left, loss_left = self.budget_left(env, now_s)
        return replace(
            self,
            last_rebalance_s=np.where(traded, now_s, self.last_rebalance_s),
            base_used=np.where(traded, _fill(env.max_base_traded, base_left, size), self.base_used),
            loss_used_usd=np.where(traded, _fill(env.max_loss_usd, loss_left, loss_usd), self.loss_used_usd),
        )


def _left(used: FloatArray, cap: float, share: FloatArray) -> FloatArray:
    if math.isinf(cap):
        return np.full(used.shape, math.inf)
    return cap - np.minimum(np.maximum(used - cap * share, 0.0), cap)


def _fill(cap: float, left: FloatArray, amount: FloatArray) -> FloatArray:
    return np.zeros(left.shape) if math.isinf(cap) else cap - left + amount


@dataclass(frozen=True)
class Check:
    """`rebalanceCheck` per path: the reason (IHedgeVault.Reason code), whether a trade is allowed,
    the contract's own target (the full hedge stepped by the max trade, long-only) and the budgets left."""

    reason: NDArray[np.int8]
    needed: NDArray[np.bool_]
    must: NDArray[np.bool_]
    target_base: FloatArray
    base_left: FloatArray
    loss_left_usd: FloatArray
    buy_cap_base: FloatArray  # the contract's own buy, capped by the quote held (inf: not modelled)

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> Check:
        """The chain's own verdict (authoritative for a live tick)."""
        c = snap.check
        return cls(
            np.array([REASONS.index(c.reason)], dtype=np.int8), np.array([c.needed]), np.array([c.must]),
            np.array([c.target_base_wad / 1e18]), np.array([c.base_budget_wad / 1e18]),
            np.array([c.loss_budget_quote / 1e6]),
            np.array([c.size_base_wad / 1e18 if _quote_capped(snap) else math.inf]),
        )


def _quote_capped(snap: Snapshot) -> bool:
    """The contract's own buy is short of both the full hedge and the max trade: the quote held caps it."""
    c = snap.check
    full = abs(max(snap.holders_delta_wad, 0) - snap.base_balance_wad)
    return c.needed and c.buy_base and c.size_base_wad < min(full, snap.max_trade_base_wad)


def check(env: Envelope, state: EnvelopeState, base: ArrayLike, holders_delta: ArrayLike, now_s: float) -> Check:
    """RebalanceLogic._check on arrays (the quote-held cap on a buy is not modelled: the
    backtested vault always holds the cash its hedge needs)."""
    base = np.asarray(base, dtype=np.float64)
    holders = np.asarray(holders_delta, dtype=np.float64)
    base_left, loss_left = state.budget_left(env, now_s)
    full = np.maximum(holders, 0.0)
    size = np.minimum(np.abs(full - base), env.max_trade_base)
    target = np.where(full > base, base + size, base - size)
    net = np.abs(base - holders)
    outside_hard = net > env.hard_band_base
    since = np.maximum(state.last_rebalance_s, state.deployed_at_s)
    reason = np.select(
        [
            (size == 0.0) | (net <= env.dust_base),
            state.emergency,
            outside_hard & (now_s >= since + env.must_grace_s),
            (base_left == 0.0) | (loss_left == 0.0),
            outside_hard,
            now_s < state.last_rebalance_s + env.min_interval_s,
        ],
        [NONE, EMERGENCY, KEEPER_LATE, BUDGET_SPENT, OUTSIDE_HARD_BAND, INTERVAL_NOT_ELAPSED],
        OUTSIDE_DUST,
    ).astype(np.int8)
    needed = np.isin(reason, (OUTSIDE_DUST, OUTSIDE_HARD_BAND, EMERGENCY, KEEPER_LATE))
    must = np.isin(reason, (EMERGENCY, KEEPER_LATE))
    return Check(reason, needed, must, target, base_left, loss_left, np.full(base.shape, math.inf))


# Why `clip` bound a keeper's target (bit flags, one per limit that was the binding one).
CLIP_ZERO, CLIP_MAX_TRADE, CLIP_BUDGET, CLIP_QUOTE = 1, 2, 4, 8


def clip(env: Envelope, chk: Check, base: ArrayLike, holders_delta: ArrayLike,
         target: ArrayLike) -> tuple[FloatArray, FloatArray, NDArray[np.int8]]:
    """The policy's target moved into what the vault accepts from a keeper now.

    Returns (target, size, binding-limit flags). A size of 0 means nothing worth a trade is left:
    the target would not move net delta toward zero, or what the limits leave is under the dust
    (a sliver of a refilling budget is not worth a transaction). The keeper stops at the full
    hedge (post-trade net 0), leaving the dust the vault lets a trade cross by to the book's drift
    until inclusion; long-only: the target never goes below 0.
    """
    base = np.asarray(base, dtype=np.float64)
    holders = np.asarray(holders_delta, dtype=np.float64)
    want = np.maximum(np.asarray(target, dtype=np.float64), 0.0)
    buy = base < holders
    wanted = np.where(buy, want - base, base - want)
    full = np.abs(np.maximum(holders, 0.0) - base)
    caps = (full, np.full(base.shape, env.max_trade_base), chk.base_left, np.where(buy, chk.buy_cap_base, math.inf))
    size = functools.reduce(np.minimum, caps, np.maximum(wanted, 0.0))
    flags = np.zeros(base.shape, dtype=np.int8)
    for bit, cap in zip((CLIP_ZERO, CLIP_MAX_TRADE, CLIP_BUDGET, CLIP_QUOTE), caps, strict=True):
        flags |= np.where((cap == size) & (cap < wanted), bit, 0).astype(np.int8)
    size = np.where((size < wanted) & (size < env.dust_base), 0.0, size)
    return np.where(size > 0.0, np.where(buy, base + size, base - size), base), size, flags
