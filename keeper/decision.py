"""The one hedge decision: the policy picks the moment and the size, the vault's envelope bounds it.

The live keeper (keeper/tick.py, one element, the chain's own `rebalanceCheck`) and the backtester
(keeper/sim/backtest.py, one element per path, the envelope modelled by keeper/envelope.py) both
call `decide`, so what is backtested is what trades:

* the must path (emergency, or outside the hard band past its grace) overrides the policy: the
  trade is the contract's own target, which is all the vault accepts from anyone then;
* otherwise the policy decides. When it holds, the keeper holds: what the vault allows is not an
  order. When it trades, the vault must allow a keeper trade now (`check.needed`) and the target
  is clipped into the envelope (toward zero, max trade, budgets left); nothing left worth a trade
  is a hold, never the contract's target in its place;
* one exception to the policy's size: outside the hard band with the grace ending before the
  transaction lands, the vault may take the trade as the must path, which accepts only its own
  target; that target is also a valid keeper trade, so the keeper sends it.

The loss budget needs the venue's price for the trade: `fit_loss_budget` cuts a trade to fit it
(the service applies the same rule in integers with the pool's live quote).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keeper import envelope as env_mod
from keeper.envelope import Check, Envelope, EnvelopeState
from keeper.policy import HedgeInputs, HedgePlan, HedgePolicy

FloatArray = NDArray[np.float64]

# Outcome per path (`DecisionPlan.code`).
HOLD_POLICY = 0  # the policy holds
HOLD_NOT_ALLOWED = 1  # the policy trades, the vault allows no keeper trade now (dust, interval, budget spent)
HOLD_ENVELOPE = 2  # the policy trades, nothing worth a trade is left inside the envelope
TRADE = 3
TRADE_CLIPPED = 4  # the policy's trade, cut by a limit of the envelope
TRADE_MUST = 5  # the must path: the contract's own target
TRADE_MUST_SOON = 6  # the must path opens before inclusion: the contract's target, valid either way
HOLD_LOSS_BUDGET = 7  # what fits the loss budget is under the dust

TRADES = (TRADE, TRADE_CLIPPED, TRADE_MUST, TRADE_MUST_SOON)

# A trade cut to fit the loss budget aims at this share of what is left: the pool may move a little
# before the transaction is included.
LOSS_BUDGET_HEADROOM = 0.9


@dataclass(frozen=True)
class DecisionPlan:
    """Per path: trade or hold, to what, and why."""

    code: NDArray[np.int8]
    target_base: FloatArray  # the base held after the trade (= before, on a hold)
    size_base: FloatArray  # |target - base|, 0 on a hold
    clip_flags: NDArray[np.int8]  # envelope.CLIP_* bits that bound a policy trade (or left nothing of it)
    policy: HedgePlan  # what the policy wanted, before the envelope
    check: Check

    @property
    def trade(self) -> NDArray[np.bool_]:
        return np.isin(self.code, TRADES)

    @property
    def must(self) -> NDArray[np.bool_]:
        return (self.code == TRADE_MUST) | (self.code == TRADE_MUST_SOON)


def decide(
    policy: HedgePolicy,
    inputs: HedgeInputs,
    envelope: Envelope,
    chk: Check,
    state: EnvelopeState,
    holders_delta: ArrayLike,
    now_s: float,
    inclusion_margin_s: float = 0.0,
) -> DecisionPlan:
    """The decision for every path. `inputs` is the policy's view (the keeper's model Greeks);
    `holders_delta` and `chk` are the vault's (its own model, its own verdict)."""
    base = np.atleast_1d(np.asarray(inputs.hedge_base, dtype=np.float64))
    holders = np.broadcast_to(np.asarray(holders_delta, dtype=np.float64), base.shape)
    wanted = policy.plan(inputs)
    clipped, size, flags = env_mod.clip(envelope, chk, base, holders, wanted.target_base)

    must_soon = (
        (np.abs(base - holders) > envelope.hard_band_base)
        & (now_s + inclusion_margin_s >= np.maximum(state.last_rebalance_s, state.deployed_at_s) + envelope.must_grace_s)
        & (np.abs(chk.target_base - base) <= chk.base_left)
    )
    code = np.select(
        [chk.must, ~wanted.trade, ~chk.needed, size == 0.0, must_soon, flags != 0],
        [TRADE_MUST, HOLD_POLICY, HOLD_NOT_ALLOWED, HOLD_ENVELOPE, TRADE_MUST_SOON, TRADE_CLIPPED],
        TRADE,
    ).astype(np.int8)
    contract = np.isin(code, (TRADE_MUST, TRADE_MUST_SOON))
    target = np.where(contract, chk.target_base, np.where(np.isin(code, TRADES), clipped, base))
    said = np.isin(code, (TRADE_CLIPPED, HOLD_ENVELOPE))
    return DecisionPlan(code, target, np.abs(target - base), np.where(said, flags, 0).astype(np.int8), wanted, chk)


def decide_modelled(
    policy: HedgePolicy,
    inputs: HedgeInputs,
    envelope: Envelope,
    state: EnvelopeState,
    holders_delta: ArrayLike,
    now_s: float,
    inclusion_margin_s: float,
    loss_usd: Callable[[FloatArray, NDArray[np.bool_]], FloatArray],
) -> DecisionPlan:
    """The decision where no chain answers (the backtester, the replay of a recorded run): the
    vault's verdict modelled by `envelope.check`, then `decide`, then the loss budget at the
    venue's price (`loss_usd(size, buy)`)."""
    base = np.atleast_1d(np.asarray(inputs.hedge_base, dtype=np.float64))
    chk = env_mod.check(envelope, state, base, holders_delta, now_s)
    plan = decide(policy, inputs, envelope, chk, state, holders_delta, now_s, inclusion_margin_s)
    return fit_loss_budget(plan, base, loss_usd, envelope.dust_base)


def fit_loss_budget(plan: DecisionPlan, base: ArrayLike, loss_usd: Callable[[FloatArray, NDArray[np.bool_]], FloatArray],
                    dust_base: float) -> DecisionPlan:
    """Cut keeper trades whose execution loss against the oracle (`loss_usd(size, buy)`) exceeds the
    loss budget left, by the ratio (the loss is convex in size and zero at zero, so the cut fits);
    under the dust it is a hold. The must path is not held to the budgets."""
    base = np.asarray(base, dtype=np.float64)
    keeper = np.isin(plan.code, (TRADE, TRADE_CLIPPED))
    buy = plan.target_base > base
    loss = np.where(keeper, loss_usd(plan.size_base, buy), 0.0)
    left = plan.check.loss_left_usd
    over = keeper & (loss > left)
    if not over.any():
        return plan
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = np.where(over, plan.size_base * left * LOSS_BUDGET_HEADROOM / loss, plan.size_base)
    gone = over & (cut < dust_base)
    size = np.where(gone, 0.0, cut)
    code = np.where(gone, HOLD_LOSS_BUDGET, np.where(over, TRADE_CLIPPED, plan.code)).astype(np.int8)
    return replace(plan, code=code, size_base=size, target_base=np.where(buy, base + size, base - size))
