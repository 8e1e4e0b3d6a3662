"""The keeper's decision under the vault's rebalance rules (keeper/tick.py), pure: no chain.

The vault decides nothing but bounds every keeper trade: toward zero (crossing by at most the dust),
size <= maxTradeBaseWad, window budgets; its must path (Emergency, KeeperLate) takes only its own
target. The keeper trades when the chain allows it AND its policy wants to, inside that envelope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest

from keeper.greeks import SECONDS_PER_YEAR, OptionBook, book_greeks
from keeper.policy import HOLD_IN_BAND, REBALANCE, FixedBand, HedgePlan, Hold, PolicyState, Rebalance
from keeper.snapshot import REASONS, SnapshotError, parse
from keeper.tick import TickContext, clip_to_envelope, decide, execution_bound, fit_loss_budget, loss_at_oracle

WAD = 10**18
USD = 10**6
NOW = 1_800_000_000
SPOT = 3_000.0
VOL = 0.8


def holders_delta(calls: float, strike: float = 3_000.0, days: float = 7.0) -> float:
    """What the holders of `calls` calls are long, as the keeper prices it (the vault agrees to ~1e-6)."""
    book = OptionBook(np.array([strike]), np.array([days * 86_400 / SECONDS_PER_YEAR]), np.array([True]),
                      np.array([-calls]))
    return -float(book_greeks(SPOT, book, VOL, 0.05).option_delta)


def raw_snapshot(*, calls: float = 10.0, base: float = 0.0, reason: str = "OutsideDust", emergency: bool = False,
                 base_budget: float = 200.0, loss_budget_usd: float = 2_000.0, max_trade: float = 5.0,
                 quote_usd: float = 1_000_000.0, oracle_ok: bool = True) -> dict:
    """A riskSnapshot as VaultLens returns it (ABI names), consistent the way the vault computes it:
    the contract's target is the full hedge stepped by maxTradeBaseWad."""
    holders = int(round(holders_delta(calls) * WAD)) if calls else 0
    base_wad = int(round(base * WAD))
    full = max(holders, 0)
    size = min(abs(full - base_wad), int(max_trade * WAD))
    buy = full > base_wad
    needed = reason in ("OutsideDust", "OutsideHardBand", "Emergency", "KeeperLate")
    return {
        "blockNumber": 100, "timestamp": NOW, "quoteBalance": int(quote_usd * USD), "baseBalanceWad": base_wad,
        "owedQuote": 0, "totalAssets": int(quote_usd * USD), "totalSupply": 10**18, "paused": reason == "Paused",
        "oracleOk": oracle_ok, "spotWad": int(SPOT * WAD), "volWad": int(VOL * WAD), "priceUpdatedAt": NOW - 60,
        "volUpdatedAt": NOW - 60, "dexSpotWad": int(SPOT * WAD), "holdersDeltaWad": holders,
        "netDeltaWad": base_wad - holders, "notionalValueWad": int(calls * SPOT * WAD), "worstEquityWad": 10**23,
        "marginRatioBps": 5_000,
        "hedge": {"nonce": 7, "lastRebalanceAt": NOW - 1_000, "emergency": emergency, "baseUsedWad": 0,
                  "lossUsedQuote": 0},
        "hedgeParams": {"dustDeltaWad": WAD // 10, "hardBandWad": 5 * WAD, "minRebalanceIntervalSeconds": 300,
                        "mustGraceSeconds": 3_600, "executionToleranceBps": 50, "maxOracleDeviationBps": 100},
        "riskParams": {"initialMarginBps": 2_000, "maintenanceMarginBps": 1_000, "recoveryMarginBps": 1_500,
                       "stressBps": 2_000, "maxResidualDeltaWad": 20 * WAD},
        "budgetParams": {"windowSeconds": 86_400, "maxTradeBaseWad": int(max_trade * WAD), "maxBaseTradedWad": 200 * WAD,
                         "maxExecutionLossQuote": 2_000 * USD},
        "check": {"needed": needed, "reason": REASONS.index(reason), "targetBaseWad": base_wad + size if buy else base_wad - size,
                  "sizeBaseWad": size, "limitQuote": 0, "buyBase": buy, "baseBudgetWad": int(base_budget * WAD),
                  "lossBudgetQuote": int(loss_budget_usd * USD)},
        "series": [{"id": 1, "strikeWad": 3_000 * WAD, "expiry": NOW + 7 * 86_400, "isCall": True,
                    "openWad": int(calls * WAD)}] if calls else [],
        "rateWad": 5 * WAD // 100,
    }


@dataclass(frozen=True)
class Wants:
    """A policy that wants one fixed target (or holds): what the envelope does with it is the test."""

    target_base: float | None
    name: str = "wants"

    def decide(self, book, market, state):
        if self.target_base is None:
            return Hold("wants: hold")
        return Rebalance(self.target_base, f"wants: {self.target_base} base")

    def plan(self, inputs):
        base = np.atleast_1d(np.asarray(inputs.hedge_base, dtype=float))
        holds = self.target_base is None
        zeros = np.zeros(base.shape)
        return HedgePlan(
            trade=np.full(base.shape, not holds), target_base=base if holds else np.full(base.shape, self.target_base),
            outer=zeros, inner=zeros, residual_delta=zeros,
            code=np.full(base.shape, HOLD_IN_BAND if holds else REBALANCE, dtype=np.int8),
            benefit_usd=zeros, cost_usd=zeros,
        )


def tick(raw: dict, policy) -> tuple:
    snap = parse(raw)
    decision, _ = decide(snap, TickContext(policy=policy), PolicyState())
    return snap, decision


def post_delta(snap, target_wad: int) -> int:
    return target_wad - snap.holders_delta_wad


# ---------------------------------------------------------------------------- the envelope


def test_a_policy_target_across_zero_by_more_than_the_dust_is_clipped_to_the_full_hedge():
    raw = raw_snapshot(calls=10, base=2.0)
    snap = parse(raw)
    full = snap.holders_delta  # ~5.3 WETH: post-trade net delta zero
    overshoot = full + 1.0  # net delta +1 WETH after the trade: across zero by 10x the dust
    _, d = tick(raw, Wants(overshoot))
    assert d.action is not None and not d.action.must
    assert d.action.target_base_wad == snap.holders_delta_wad  # stops at zero, leaves the dust to drift
    pre, post = snap.base_balance_wad - snap.holders_delta_wad, post_delta(snap, d.action.target_base_wad)
    assert abs(post) <= abs(pre) and post >= -snap.dust_wad  # what RebalanceLogic._checkTowardZero requires
    assert "not across zero" in d.reason and d.policy_target_base == overshoot


def test_a_policy_target_inside_the_envelope_is_sent_as_it_is():
    raw = raw_snapshot(calls=10, base=1.0)
    _, d = tick(raw, Wants(3.0))  # partway toward the ~5.3 WETH full hedge
    assert d.action is not None and d.action.target_base_wad == 3 * WAD and d.action.buy_base
    assert "clipped" not in d.reason


def test_the_clip_keeps_the_trade_within_max_trade_and_the_base_budget_left():
    snap = parse(raw_snapshot(calls=20, base=0.0, max_trade=5.0, base_budget=200.0))
    target, notes = clip_to_envelope(snap, snap.holders_delta)  # ~10.6 WETH to buy
    assert target == 5 * WAD and any("max trade" in n for n in notes)

    snap = parse(raw_snapshot(calls=20, base=0.0, base_budget=2.5))
    target, notes = clip_to_envelope(snap, snap.holders_delta)
    assert target == int(2.5 * WAD) and any("base budget left" in n for n in notes)


def test_a_sliver_of_budget_below_the_dust_is_not_worth_a_transaction():
    snap = parse(raw_snapshot(calls=10, base=0.0, base_budget=0.05))
    target, notes = clip_to_envelope(snap, snap.holders_delta)
    assert target is None and "below the dust" in notes[-1]


def test_a_buy_is_capped_at_the_contracts_own_buy_when_the_quote_held_limits_it():
    raw = raw_snapshot(calls=10, base=0.0)
    raw["check"]["sizeBaseWad"] = 2 * WAD  # the vault could only pay for 2 WETH
    raw["check"]["targetBaseWad"] = 2 * WAD
    target, notes = clip_to_envelope(parse(raw), 5.0)
    assert target == 2 * WAD and "quote held" in notes[0]


def test_a_policy_target_away_from_zero_is_held_never_replaced_by_the_contracts_target():
    raw = raw_snapshot(calls=10, base=2.0)  # short ~3.3 WETH of delta: a hedge buys
    _, d = tick(raw, Wants(1.0))  # the policy (another model, say) wants to sell
    assert d.action is None and "toward zero" in d.reason


def test_the_keeper_holds_when_its_policy_holds_although_the_chain_allows_a_trade():
    # Net delta ~ -0.53 WETH: outside the vault's dust (0.1), inside the keeper's 1 WETH band. The old
    # keeper fell back to the contract's full-hedge target here; the chain now has no band of its own.
    raw = raw_snapshot(calls=1, base=0.0)
    snap, d = tick(raw, FixedBand(half_width_base=1.0))
    assert snap.check.needed and snap.check.reason == "OutsideDust"
    assert d.action is None and "inside band" in d.reason


def test_the_default_fixed_band_trades_to_the_full_hedge_outside_its_band():
    raw = raw_snapshot(calls=10, base=0.0)
    snap, d = tick(raw, FixedBand(half_width_base=1.0))
    assert d.action is not None and d.action.target_base_wad == snap.check.target_base_wad


@pytest.mark.parametrize("reason", ["IntervalNotElapsed", "None"])
def test_the_keeper_trades_only_when_the_chain_allows_it(reason):
    _, d = tick(raw_snapshot(calls=10, base=0.0, reason=reason), FixedBand(half_width_base=1.0))
    assert d.action is None and reason in d.reason and d.chain_reason == reason


def test_outside_the_hard_band_with_the_grace_ending_before_inclusion_the_keeper_sends_the_contracts_target():
    # The vault decides the path when the trade executes: if the grace has ended by then it is the
    # must path, which refuses any target more than the dust from its own (MustTargetMismatch).
    raw = raw_snapshot(calls=12, base=0.0, reason="OutsideHardBand")
    raw["hedge"]["lastRebalanceAt"] = NOW - 3_590  # the 3,600 s grace ends in 10 s
    snap, d = tick(raw, Wants(2.0))  # a partial trade
    assert d.action is not None and not d.action.must
    assert d.action.target_base_wad == snap.check.target_base_wad and "must path opens" in d.reason

    raw["hedge"]["lastRebalanceAt"] = NOW - 1_000  # the grace is far off: the policy's size stands
    _, d = tick(raw, Wants(2.0))
    assert d.action.target_base_wad == 2 * WAD


# ---------------------------------------------------------------------------- budgets


def test_with_the_budget_spent_the_keeper_holds():
    raw = raw_snapshot(calls=10, base=0.0, reason="BudgetSpent", base_budget=0.0)
    _, d = tick(raw, FixedBand(half_width_base=1.0))
    assert d.action is None and "BudgetSpent" in d.reason and "budget" in d.reason


def test_with_the_budget_spent_the_must_path_still_trades_to_the_contracts_target():
    # RebalanceLogic reports KeeperLate before BudgetSpent: the must path charges the budgets, never waits on them.
    raw = raw_snapshot(calls=20, base=0.0, reason="KeeperLate", base_budget=0.0, loss_budget_usd=0.0)
    snap, d = tick(raw, FixedBand(half_width_base=1.0))
    assert d.action is not None and d.action.must
    assert d.action.target_base_wad == snap.check.target_base_wad


def test_a_trade_over_the_loss_budget_is_cut_to_fit_and_one_under_the_dust_is_held():
    snap = parse(raw_snapshot(calls=10, base=0.0, loss_budget_usd=10.0))
    _, d = tick(raw_snapshot(calls=10, base=0.0, loss_budget_usd=10.0), FixedBand(half_width_base=1.0))
    a = d.action
    value = a.size_base_wad * snap.spot_wad // WAD // 10**12
    quote = value * 1_004 // 1_000  # 0.4% over the oracle value: ~64 USD of loss, 10 left
    cut, note = fit_loss_budget(snap, a, quote)
    assert cut is not None and cut.size_base_wad < a.size_base_wad and "loss budget" in note
    # The loss is convex in size: the cut trade at the same price fits.
    cut_quote = cut.size_base_wad * snap.spot_wad // WAD // 10**12 * 1_004 // 1_000
    assert loss_at_oracle(cut.size_base_wad, cut_quote, True, snap.spot_wad) <= snap.check.loss_budget_quote

    tiny = parse(raw_snapshot(calls=10, base=0.0, loss_budget_usd=0.5))
    held, note = fit_loss_budget(tiny, a, quote)
    assert held is None and "below the dust" in note


def test_the_must_path_is_not_held_to_the_loss_budget():
    snap = parse(raw_snapshot(calls=10, base=0.0, reason="Emergency", emergency=True, loss_budget_usd=0.0))
    _, d = tick(raw_snapshot(calls=10, base=0.0, reason="Emergency", emergency=True, loss_budget_usd=0.0),
                FixedBand(half_width_base=1.0))
    fitted, note = fit_loss_budget(snap, d.action, 10**12)
    assert fitted is d.action and note is None


def test_loss_and_bound_round_as_the_vault_does():
    # 1 WETH at 3000.0000005 USD: the value is 3000.0000005 USD; a buy rounds it down, a sell up.
    spot = 3_000 * WAD + 5 * 10**11
    assert loss_at_oracle(WAD, 3_001_000_000, True, spot) == 1_000_000  # 3001 - floor(3000.0000005)
    assert loss_at_oracle(WAD, 2_999_000_000, False, spot) == 1_000_001  # ceil(3000.0000005) - 2999
    assert loss_at_oracle(WAD, 2_000_000_000, True, spot) == 0  # below the oracle value: no loss
    assert execution_bound(1_000_001, True, 50) == 1_005_002  # rounded up
    assert execution_bound(1_000_001, False, 50) == 995_000  # rounded down


# ---------------------------------------------------------------------------- the must path


@pytest.mark.parametrize("reason, emergency", [("KeeperLate", False), ("Emergency", True)])
def test_the_must_path_uses_the_contracts_own_target_whatever_the_policy_says(reason, emergency):
    raw = raw_snapshot(calls=20, base=0.0, reason=reason, emergency=emergency)
    for policy in (FixedBand(half_width_base=50.0), Wants(None), Wants(1.0)):  # hold, hold, a smaller trade
        snap, d = tick(raw, policy)
        assert d.action is not None and d.action.must, d.reason
        assert d.action.target_base_wad == snap.check.target_base_wad
        assert d.action.expected_nonce == 7 and reason in d.reason and d.summary()["must_path"]


def test_emergency_with_nothing_due_holds():
    raw = raw_snapshot(calls=10, base=0.0, reason="None", emergency=True)
    raw["check"].update(sizeBaseWad=0, targetBaseWad=0, buyBase=False)
    raw["holdersDeltaWad"] = raw["netDeltaWad"] = 0
    _, d = tick(raw, FixedBand(half_width_base=1.0))
    assert d.action is None and "emergency" in d.reason


def test_paused_and_a_failing_oracle_send_nothing():
    _, d = tick(raw_snapshot(reason="Paused"), FixedBand(half_width_base=1.0))
    assert d.action is None and "paused" in d.reason
    raw = raw_snapshot(reason="OracleInvalid", oracle_ok=False)
    _, d = tick(raw, FixedBand(half_width_base=1.0))
    assert d.action is None and "oracle" in d.reason


# ---------------------------------------------------------------------------- the snapshot's own checks


@pytest.mark.parametrize("tamper, message", [
    (lambda r: r["check"].update(needed=False), "needed=False"),
    (lambda r: r["check"].update(reason=REASONS.index("IntervalNotElapsed")), "needed=True"),
    (lambda r: r.update(raw_snapshot(calls=0, base=0.05)), "inside the dust"),  # 0.05 WETH net, "due"
    (lambda r: r.update(raw_snapshot(calls=5, reason="OutsideHardBand")), "inside the hard band"),  # ~2.7 WETH
    (lambda r: r["check"].update(baseBudgetWad=201 * WAD), "exceed the budgets"),
    (lambda r: r["check"].update(needed=False, reason=REASONS.index("BudgetSpent")), "budget is spent"),
    (lambda r: r["check"].update(reason=REASONS.index("Emergency")), "emergency"),
    (lambda r: r["check"].update(reason=99), "not an IHedgeVault.Reason"),
])
def test_a_snapshot_that_contradicts_the_rules_is_not_believed(tamper, message):
    raw = raw_snapshot(calls=10, base=0.0)
    tamper(raw)
    with pytest.raises(SnapshotError, match=message):
        parse(raw)


def test_a_consistent_snapshot_parses_with_the_new_fields():
    snap = parse(raw_snapshot(calls=10, base=1.0, base_budget=150.0, loss_budget_usd=1_234.5))
    assert snap.dust == 0.1 and snap.hard_band == 5.0 and snap.must_grace_s == 3_600
    assert snap.execution_tolerance_bps == 50 and snap.budget_window_s == 86_400
    assert snap.max_base_traded == 200.0 and snap.max_loss_usd == 2_000.0
    assert snap.check.base_budget_wad == 150 * WAD and snap.check.loss_budget_quote == 1_234_500_000
    assert math.isclose(snap.net_delta, 1.0 - snap.holders_delta)
    assert replace(snap.check, reason="KeeperLate").must and not snap.check.must


@dataclass
class RecordsVol:
    """A policy that holds and remembers the volatility it was given (as HedgeInputs reads it)."""

    name: str = "records"
    seen_var: float | None = None

    def plan(self, inputs):
        self.seen_var = float(np.asarray(inputs.vol)) ** 2
        return Wants(None).plan(inputs)


def test_the_tick_reason_names_the_garch_forecast_and_the_policy_gets_it():
    from keeper.volforecast import GarchView

    policy = RecordsVol()
    decision, _ = decide(parse(raw_snapshot()), TickContext(policy=policy, garch=GarchView(0.71)), PolicyState())
    assert "vol forecast garch 0.71" in decision.reason
    assert policy.seen_var == pytest.approx(0.71**2)


def test_the_tick_reason_says_the_ewma_served_and_why_not_garch():
    from keeper.volforecast import GarchView

    policy = RecordsVol()
    ctx = TickContext(policy=policy, garch=GarchView(None, "too few returns 37 < 250"))
    decision, _ = decide(parse(raw_snapshot()), ctx, PolicyState())
    assert f"vol forecast ewma {VOL:.4g} (garch: too few returns 37 < 250)" in decision.reason
    assert policy.seen_var == pytest.approx(VOL**2)
