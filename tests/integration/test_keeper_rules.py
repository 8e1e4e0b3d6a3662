"""The keeper under the vault's rebalance rules, against a real Anvil with the deployed stack.

The vault bounds what a keeper trade may do (toward zero, crossing by at most the dust; max trade;
window budgets on base traded and on execution loss) and opens a must path (anyone, to the
contract's own target, for a bounty) in emergency or when the keeper is late outside the hard band.
Each test checks that the keeper's own decision is one the vault accepts, or a hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from eth_account import Account
from keeper_helpers import KEEPER_KEY, metric

from keeper.chain import SimulationFailed
from keeper.envelope import Envelope, EnvelopeState
from keeper.envelope import check as envelope_check
from keeper.policy import HOLD_IN_BAND, REBALANCE, FixedBand, HedgePlan
from keeper.snapshot import REASONS

WAD = 10**18
USD = 10**6
KEEPER = Account.from_key(KEEPER_KEY).address


def _plan(hedge, target, trade: bool) -> HedgePlan:
    hedge = np.atleast_1d(np.asarray(hedge, dtype=float))
    zeros = np.zeros(hedge.shape)
    return HedgePlan(trade=np.full(hedge.shape, trade), target_base=np.broadcast_to(target, hedge.shape).astype(float),
                     outer=zeros, inner=zeros, residual_delta=zeros,
                     code=np.full(hedge.shape, REBALANCE if trade else HOLD_IN_BAND, dtype=np.int8),
                     benefit_usd=zeros, cost_usd=zeros)


@dataclass(frozen=True)
class Overshoot:
    """A policy (a keeper with another model, say) whose target crosses zero: `by` base past the full hedge."""

    by: float
    name: str = "overshoot"

    def plan(self, inputs):
        return _plan(inputs.hedge_base, -np.asarray(inputs.option_delta, dtype=float) + self.by, True)


@dataclass(frozen=True)
class Never:
    """A policy that never wants to trade."""

    name: str = "never"

    def plan(self, inputs):
        return _plan(inputs.hedge_base, np.asarray(inputs.hedge_base, dtype=float), False)


def agrees(market, snap) -> None:
    """The backtester's model of the envelope (keeper/envelope.py) gives the vault's own verdict."""
    deployed_at = float(market.w3.eth.get_block(market.d.block)["timestamp"])
    model = envelope_check(Envelope.from_snapshot(snap), replace(EnvelopeState.from_snapshot(snap), deployed_at_s=deployed_at),
                           np.array([snap.base_balance]), np.array([snap.holders_delta]), float(snap.timestamp))
    c = snap.check
    assert REASONS[int(model.reason[0])] == c.reason, (REASONS[int(model.reason[0])], c.reason)
    assert bool(model.needed[0]) == c.needed and bool(model.must[0]) == c.must
    assert model.base_left[0] == pytest.approx(c.base_budget_wad / WAD, abs=1e-9)
    assert model.loss_left_usd[0] == pytest.approx(c.loss_budget_quote / USD, abs=1e-6)
    if c.needed and c.size_base_wad < snap.max_trade_base_wad and not c.buy_base:
        assert model.target_base[0] == pytest.approx(c.target_base_wad / WAD, abs=1e-9)


def book(market, accounts, calls: float, expiry_days: int = 30) -> int:
    market.deposit(accounts[5], 1_000_000)
    series = market.list_series(3000, market.now() + expiry_days * 86_400, True)
    market.buy(accounts[6], series, calls)
    return series


def use_policy(service, policy) -> None:
    r = service.runners[0]
    r.ctx = replace(r.ctx, policy=policy)


def tick(service):
    for r in service.runners:
        r.next_allowed = 0.0
    [d] = service.tick_all()
    return d


def rebalanced(market, block: int | None = None) -> list[dict]:
    logs = market.vault.events.Rebalanced().get_logs(from_block=block or 0)
    return [dict(e["args"]) for e in logs]


def set_budget(market, window_s: int = 86_400, base_wad: int = 200 * WAD, loss_quote: int = 2_000 * USD,
               max_trade_wad: int = 5 * WAD) -> None:
    market.govern(market.vault,
                  market.vault.encode_abi("setBudgetParams", [(window_s, max_trade_wad, base_wad, loss_quote)]))
    market.refresh_oracles()
    market.arbitrage_to_oracle()


def test_a_policy_target_across_zero_is_clipped_to_the_full_hedge_and_the_vault_accepts_it(market, accounts,
                                                                                            make_service):
    book(market, accounts, calls=6)  # ~ -3.4 WETH of net delta: outside the dust, inside the hard band
    service = make_service()
    use_policy(service, Overshoot(by=1.0))  # +1 WETH after the trade: across zero by 10x the dust
    snap = service.runners[0].client.snapshot()
    agrees(market, snap)
    assert snap.check.reason == "OutsideDust"

    # The unclipped target is what the vault refuses, by name:
    overshoot = snap.holders_delta_wad + WAD
    data = service.runners[0].client.rebalance_data(overshoot, 0, snap.timestamp + 300, snap.hedge_nonce)
    with pytest.raises(SimulationFailed) as refused:
        service.sender.simulate(service.runners[0].client.vault, data)
    assert refused.value.reason.startswith("NotTowardZero(preDeltaWad=")

    d = tick(service)
    assert d.action is not None and "not across zero" in d.reason, d.reason
    assert market.hedge_nonce() == 1
    [event] = rebalanced(market)
    dust = snap.dust_wad
    assert abs(event["postDeltaWad"]) <= dust and abs(event["postDeltaWad"]) < abs(event["preDeltaWad"])
    assert event["caller"] == KEEPER and event["bounty"] == 0
    assert metric(service, "hv_failed_simulations_total", vault="eth", reason="NotTowardZero") == 0


def test_the_keeper_holds_where_its_policy_holds_although_the_vault_would_allow_a_trade(market, accounts,
                                                                                         make_service):
    book(market, accounts, calls=1.5)  # ~ -0.85 WETH: outside the dust, inside a 1 WETH band
    service = make_service()
    use_policy(service, FixedBand(half_width_base=1.0))
    d = tick(service)
    assert service.runners[0].last_snapshot.check.needed
    agrees(market, service.runners[0].last_snapshot)
    assert d.action is None and "inside band" in d.reason
    assert market.hedge_nonce() == 0


def test_the_must_path_sends_the_contracts_target_and_with_the_budget_spent_the_keeper_holds(market, accounts,
                                                                                              make_service):
    set_budget(market, base_wad=WAD)  # 1 WETH a day
    series = book(market, accounts, calls=12)  # ~ -6.7 WETH: outside the 5 WETH hard band
    service = make_service()
    use_policy(service, Never())  # the keeper's policy holds: only the must path may trade
    snap = service.runners[0].client.snapshot()
    agrees(market, snap)
    # Never rebalanced: the grace runs from deployment, so outside the hard band the keeper may, nobody else.
    assert snap.check.reason == "OutsideHardBand" and not snap.check.must
    market.advance(3_601)
    market.refresh_oracles()
    market.arbitrage_to_oracle()
    snap = service.runners[0].client.snapshot()
    agrees(market, snap)
    assert snap.check.reason == "KeeperLate" and snap.check.must

    d = tick(service)
    assert d.action is not None and d.action.must and d.action.target_base_wad == snap.check.target_base_wad
    [event] = rebalanced(market)
    assert event["reason"] == 7 and event["caller"] == KEEPER and event["bounty"] > 0  # KeeperLate, bounty paid
    assert metric(service, "hv_must_hedges_total", vault="eth") == 1

    # The must trade (5 WETH, the max trade) overfilled the 1 WETH budget: nothing is left for days.
    use_policy(service, Overshoot(by=0.0))  # a policy that wants the full hedge now
    market.advance(600)
    market.refresh_oracles()
    market.arbitrage_to_oracle()  # the pool back at the oracle after the hedge's buy
    d = tick(service)
    snap = service.runners[0].last_snapshot
    agrees(market, snap)
    assert snap.check.reason == "BudgetSpent" and snap.check.base_budget_wad == 0
    assert d.action is None and "BudgetSpent" in d.reason
    assert market.hedge_nonce() == 1

    # Outside the hard band again and late: the must path opens, the spent budget does not stop it.
    market.buy(accounts[6], series, 8)
    market.advance(3_601)
    market.refresh_oracles()
    market.arbitrage_to_oracle()
    d = tick(service)
    assert d.action is not None and d.action.must, d.reason
    assert market.hedge_nonce() == 2 and rebalanced(market)[-1]["reason"] == 7


def test_a_trade_over_the_loss_budget_is_cut_to_fit_and_the_vault_accepts_it(market, accounts, make_service):
    set_budget(market, loss_quote=10 * USD)  # 10 USD a day: a 3.4 WETH trade pays ~30 USD of fee alone
    book(market, accounts, calls=6)
    service = make_service()
    use_policy(service, Overshoot(by=0.0))
    d = tick(service)
    assert d.action is not None and "cut to" in d.reason and "loss budget" in d.reason, d.reason
    assert market.hedge_nonce() == 1
    [event] = rebalanced(market)
    assert 0 < event["baseChangeWad"] < 2 * WAD  # a part of the hedge
    loss_used = market.vault.functions.hedgeState().call()[4]
    assert loss_used <= 10 * USD
    assert metric(service, "hv_failed_simulations_total", vault="eth", reason="LossBudgetExceeded") == 0
