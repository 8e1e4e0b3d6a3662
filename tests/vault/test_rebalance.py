"""HedgeVault.rebalance and its envelope, the Chainlink Automation pair, the must path and
emergency mode.

The book is deep in-the-money calls (strike half the spot): their delta is ~1 per option under any
correct pricing, so the hedge sizes below hold for the real library as for an intrinsic stub.
Every expected value that depends on the block (delta, marks) is read back at the transaction's
own block with `block_identifier`; the execution bound is recomputed in Python from the pool's
reserves (`hv.execution_bound`).
"""

from __future__ import annotations

import pytest
from brownie import chain
from eth_abi import decode

from tests.vault.conftest import DAY, NUM, USD, WAD, reverts_with

(NONE, OUTSIDE_DUST, OUTSIDE_HARD_BAND, EMERGENCY, INTERVAL_NOT_ELAPSED, ORACLE_INVALID, PAUSED, KEEPER_LATE,
 BUDGET_SPENT) = range(9)
DUST = WAD // 10
HARD_BAND = 5 * WAD
MAX_TRADE = 5 * WAD
BOUNTY = 10 * USD


def _holders_delta(vault, block) -> int:
    return vault.valuation.call(block_identifier=block)[3]


def _check(vault) -> tuple:
    """rebalanceCheck() as a plain tuple: (needed, reason, target, size, limitQuote, buyBase,
    baseBudgetWad, lossBudgetQuote)."""
    return tuple(vault.rebalanceCheck())


# ------------------------------------------------------------------------- the happy path


def test_keeper_rebalances_to_the_contracts_target(hv, vault, adapter, calls, keeper):
    check = _check(vault)
    assert check[0] and check[1] == OUTSIDE_DUST and check[5]  # needed, outside the dust, buy base
    assert abs(check[2] - 3 * WAD) < WAD // 1_000  # target ~ the holders' delta
    assert check[4] == hv.execution_bound(check[3], True)
    bound = hv.execution_bound(check[2], True)
    tx = hv.rebalance()
    block = tx.block_number
    delta = _holders_delta(vault, block)
    target = hv.weth.balanceOf(vault)
    assert target == check[2]
    assert abs(target - delta) < WAD // 10**6  # the full hedge, up to a block's drift in delta
    quote_in = adapter.quoteInForBaseOut.call(target, block_identifier=block - 1)
    spot = hv.spot_wad()
    assert quote_in <= bound
    ev = tx.events["Rebalanced"]
    assert list(ev.values()) == [0, keeper, OUTSIDE_DUST, -delta, target - delta, spot, target, -quote_in, 0]
    state = vault.hedgeState()
    loss = hv.loss_at_oracle(target, quote_in, True)
    assert 0 < loss < quote_in * 70 // 10_000  # the 0.3% fee and ~0.3% impact on a 1,000 WETH pool
    assert tuple(state) == (1, chain[block].timestamp, False, target, loss)
    assert _check(vault)[:2] == (False, NONE)


def test_rebalance_sells_base_when_the_book_shrinks(hv, vault, market, adapter, calls, keeper):
    hv.rebalance()
    base = hv.weth.balanceOf(vault)
    hv.settle(calls, price_usd=3_000)  # the calls leave the book: the hedge is now pure risk
    hv.arbitrage()
    check = _check(vault)
    assert check[0] and not check[5] and check[2] == 0
    floor = hv.execution_bound(base, False)
    assert check[4] == floor
    quote_before = hv.usdc.balanceOf(vault)
    tx = hv.rebalance()
    quote_out = adapter.quoteOutForBaseIn.call(base, block_identifier=tx.block_number - 1)
    assert quote_out >= floor
    assert hv.weth.balanceOf(vault) == 0
    assert hv.usdc.balanceOf(vault) - quote_before == quote_out
    ev = tx.events["Rebalanced"]
    assert (ev["baseChangeWad"], ev["quoteChange"], ev["preDeltaWad"], ev["postDeltaWad"]) == (-base, quote_out, base, 0)


def test_the_keeper_decides_when_any_net_outside_the_dust_may_be_hedged(hv, vault, keeper, depositor, buyer):
    """No on-chain band picks the moment: half a WETH of net delta may be hedged at once."""
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, WAD // 2)
    assert _check(vault)[:2] == (True, OUTSIDE_DUST)
    tx = vault.rebalance(WAD // 4, 0, chain.time() + 600, 0, {"from": keeper})  # half-way: the keeper's call
    assert tx.events["Rebalanced"]["baseChangeWad"] == WAD // 4


# ------------------------------------------------------------------------- guards


def test_rebalance_after_deadline_reverts(hv, vault, calls, keeper):
    deadline = chain.time() - 1
    with reverts_with("DeadlinePassed", deadline, NUM):
        vault.rebalance(3 * WAD, 0, deadline, 0, {"from": keeper})


def test_stale_nonce_reverts_and_a_replay_cannot_hedge_twice(hv, vault, calls, keeper):
    with reverts_with("StaleNonce", 7, 0):
        vault.rebalance(3 * WAD, 0, chain.time() + 600, 7, {"from": keeper})
    target = vault.rebalanceCheck()[2]
    vault.rebalance(target, 0, chain.time() + 600, 0, {"from": keeper})
    with reverts_with("StaleNonce", 0, 1):
        vault.rebalance(target, 0, chain.time() + 600, 0, {"from": keeper})


def test_rebalance_inside_the_dust_is_not_needed(hv, vault, keeper, depositor, buyer):
    hv.deposit(depositor, 100_000 * USD)
    check = _check(vault)
    assert check[:6] == (False, NONE, 0, 0, 0, False)
    assert check[6:] == (200 * WAD, 2_000 * USD)  # the whole budgets are left
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, WAD // 20)  # |delta| 0.05 < dust 0.1
    assert _check(vault)[:2] == (False, NONE)
    with reverts_with("RebalanceNotNeeded", NONE):
        vault.rebalance(WAD // 20, 0, chain.time() + 600, 0, {"from": keeper})


def test_minimum_interval_applies_inside_the_hard_band(hv, vault, calls, keeper, buyer):
    hv.rebalance()
    hv.arbitrage()  # the buy moved the pool: a second one waits for arbitrage, inside the tolerance
    hv.buy(buyer, calls, 2 * WAD)  # net ~ -2: inside the hard band
    assert _check(vault)[:2] == (False, INTERVAL_NOT_ELAPSED)
    with reverts_with("RebalanceNotNeeded", INTERVAL_NOT_ELAPSED):
        hv.rebalance()
    hv.advance(300)
    assert _check(vault)[:2] == (True, OUTSIDE_DUST)
    hv.rebalance()


def test_outside_the_hard_band_the_interval_is_waived_and_the_step_capped(hv, vault, calls, buyer):
    hv.rebalance()
    hv.arbitrage()
    base = hv.weth.balanceOf(vault)
    hv.buy(buyer, calls, 6 * WAD)  # net ~ -6 > hard band 5
    check = _check(vault)
    assert check[:2] == (True, OUTSIDE_HARD_BAND)
    assert check[2] == base + MAX_TRADE and check[3] == MAX_TRADE
    tx = hv.rebalance()
    assert tx.events["Rebalanced"]["reason"] == OUTSIDE_HARD_BAND
    assert hv.weth.balanceOf(vault) == base + MAX_TRADE


def test_only_the_keeper_rebalances_outside_the_must_path(hv, vault, calls, attacker, guardian, governor, lister):
    target = vault.rebalanceCheck()[2]
    for who in (attacker, guardian, governor, lister):
        with reverts_with("Unauthorized", who):
            vault.rebalance(target, 0, chain.time() + 600, 0, {"from": who})


def test_rebalance_refused_when_the_dex_is_off_the_oracle(hv, vault, calls, keeper):
    hv.move_pool_bps(150)
    dex = hv.dex_spot_wad()
    assert dex > hv.spot_wad() * 10_100 // 10_000
    with reverts_with("DexPriceDeviation", dex, hv.spot_wad(), 100):
        hv.rebalance()
    hv.arbitrage()
    hv.rebalance()


def test_trade_larger_than_the_cap_reverts(hv, vault, keeper, depositor, buyer):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 8 * WAD)
    too_big = MAX_TRADE + WAD // 2
    with reverts_with("TradeTooLarge", too_big, MAX_TRADE):
        vault.rebalance(too_big, 0, chain.time() + 600, 0, {"from": keeper})


def test_trade_to_the_current_position_is_refused(hv, vault, calls, keeper):
    with reverts_with("ZeroAmount"):
        vault.rebalance(0, 0, chain.time() + 600, 0, {"from": keeper})


def test_the_contracts_bound_binds_whatever_the_keeper_asks(hv, vault, adapter, calls, keeper):
    """A pool 80 bps dearer than the oracle (inside the 100 bps manipulation guard) is refused: the
    bound prices the trade at the oracle with the fee, the impact and a 50 bps tolerance only."""
    hv.move_pool_bps(80)
    size = 3 * WAD
    quote_in = adapter.quoteInForBaseOut(size)
    bound = hv.execution_bound(size, True)
    assert quote_in > bound
    for keeper_limit in (0, 10**15):  # no limit, and a limit looser than the bound
        with reverts_with("SlippageExceeded", quote_in, bound):
            vault.rebalance(size, keeper_limit, chain.time() + 600, 0, {"from": keeper})
    hv.arbitrage()
    vault.rebalance(size, 0, chain.time() + 600, 0, {"from": keeper})


def test_the_bound_follows_the_tolerance_the_governor_sets(hv, vault, adapter, calls, keeper):
    hv.move_pool_bps(40)
    size = 3 * WAD
    quote_in = adapter.quoteInForBaseOut(size)
    vault.setHedgeParams(hv.params_with("hedge", executionToleranceBps=10), {"from": hv.as_timelock()})
    with reverts_with("SlippageExceeded", quote_in, hv.execution_bound(size, True)):
        vault.rebalance(size, 0, chain.time() + 600, 0, {"from": keeper})
    vault.setHedgeParams(hv.params_with("hedge", executionToleranceBps=50), {"from": hv.as_timelock()})
    assert quote_in <= hv.execution_bound(size, True)
    vault.rebalance(size, 0, chain.time() + 600, 0, {"from": keeper})


def test_keeper_limit_can_only_tighten_the_bound(hv, vault, adapter, calls, keeper):
    size = 3 * WAD
    quote_in = adapter.quoteInForBaseOut(size)
    with reverts_with("SlippageExceeded", quote_in, quote_in - 1):
        vault.rebalance(size, quote_in - 1, chain.time() + 600, 0, {"from": keeper})
    tx = vault.rebalance(size, quote_in, chain.time() + 600, 0, {"from": keeper})
    assert tx.events["Rebalanced"]["quoteChange"] == -quote_in


def test_keeper_min_out_on_a_sell_is_enforced(hv, vault, adapter, calls, keeper):
    hv.rebalance()
    base = hv.weth.balanceOf(vault)
    hv.settle(calls, price_usd=3_000)
    hv.arbitrage()
    quote_out = adapter.quoteOutForBaseIn(base)
    with reverts_with("SlippageExceeded", quote_out, quote_out + 1):
        vault.rebalance(0, quote_out + 1, chain.time() + 600, hv.nonce(), {"from": keeper})


# ------------------------------------------------------------------------- toward zero


@pytest.fixture
def short_two(hv, vault, depositor, buyer):
    """Net delta ~ -2 WETH (2 deep in-the-money calls, no hedge)."""
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 2 * WAD)
    return sid


def test_a_flip_to_the_other_side_is_refused(hv, vault, keeper, short_two):
    """-2 -> +2 keeps |delta| and would be "due" forever: the churn the toward-zero rule stops."""
    holders = vault.valuation()[3]
    with reverts_with("NotTowardZero", NUM, NUM, DUST):
        vault.rebalance(2 * holders, 0, chain.time() + 600, 0, {"from": keeper})


def test_crossing_zero_by_more_than_the_dust_is_refused_even_when_delta_shrinks(hv, vault, keeper, short_two):
    holders = vault.valuation()[3]
    with reverts_with("NotTowardZero", NUM, NUM, DUST):
        vault.rebalance(holders + WAD // 2, 0, chain.time() + 600, 0, {"from": keeper})  # -2 -> ~+0.5


def test_crossing_zero_within_the_dust_is_allowed(hv, vault, keeper, short_two):
    holders = vault.valuation()[3]
    tx = vault.rebalance(holders + DUST // 2, 0, chain.time() + 600, 0, {"from": keeper})
    ev = tx.events["Rebalanced"]
    assert 0 < ev["postDeltaWad"] <= DUST and ev["preDeltaWad"] < 0


def test_a_trade_away_from_zero_is_refused(hv, vault, keeper, calls):
    hv.rebalance()
    hv.advance(300)
    base = hv.weth.balanceOf(vault)
    hv.settle(calls, price_usd=3_000)  # net = +base: only selling moves toward zero
    hv.arbitrage()
    with reverts_with("NotTowardZero", base, NUM, DUST):
        vault.rebalance(base + WAD, 0, chain.time() + 600, hv.nonce(), {"from": keeper})


def test_rebalance_refused_while_paused(hv, vault, calls, guardian):
    vault.pause({"from": guardian})
    assert _check(vault)[:2] == (False, PAUSED)
    with reverts_with("EnforcedPause"):
        hv.rebalance()


# ------------------------------------------------------------------------- budgets


def test_the_base_budget_refuses_a_keeper_trade_past_it(hv, vault, calls, keeper):
    vault.setBudgetParams(hv.params_with("budget", maxBaseTradedWad=2 * WAD), {"from": hv.as_timelock()})
    check = _check(vault)
    assert check[6] == 2 * WAD
    with reverts_with("BaseBudgetExceeded", check[2], 2 * WAD):
        hv.rebalance()
    vault.rebalance(2 * WAD, 0, chain.time() + 600, 0, {"from": keeper})
    check = _check(vault)
    assert check[:2] == (False, BUDGET_SPENT) and check[6] == 0


def test_the_loss_budget_refuses_a_trade_that_would_lose_more(hv, vault, adapter, calls, keeper):
    vault.setBudgetParams(hv.params_with("budget", maxExecutionLossQuote=10 * USD), {"from": hv.as_timelock()})
    size = 3 * WAD
    loss = hv.loss_at_oracle(size, adapter.quoteInForBaseOut(size), True)
    assert loss > 10 * USD  # ~0.6% of ~9,000 USDC
    with reverts_with("LossBudgetExceeded", loss, 10 * USD):
        vault.rebalance(size, 0, chain.time() + 600, 0, {"from": keeper})


def test_the_budgets_drain_linearly_over_the_window(hv, vault, calls, keeper, buyer):
    budget = hv.params("budget")
    tx = hv.rebalance()
    used_base, used_loss = vault.hedgeState()[3:5]
    assert used_base == tx.events["Rebalanced"]["baseChangeWad"]
    hv.advance(budget["windowSeconds"] // 4)
    elapsed = chain.time() - vault.hedgeState()[1]
    check = _check(vault)
    leak = budget["maxBaseTradedWad"] * elapsed // budget["windowSeconds"]
    assert check[6] == budget["maxBaseTradedWad"] - max(used_base - leak, 0)
    loss_leak = budget["maxExecutionLossQuote"] * elapsed // budget["windowSeconds"]
    assert check[7] == budget["maxExecutionLossQuote"] - max(used_loss - loss_leak, 0)
    hv.advance(budget["windowSeconds"])
    assert _check(vault)[6:] == (budget["maxBaseTradedWad"], budget["maxExecutionLossQuote"])


# ------------------------------------------------------------------------- automation


def test_check_upkeep_reports_only_the_must_path(hv, vault, calls, keeper):
    needed, data = vault.checkUpkeep(b"")
    check = _check(vault)
    assert check[0] and not needed  # the keeper may trade; Automation waits for the must path
    assert decode(["uint256", "uint256", "uint256"], bytes(data)) == (check[2], check[4], 0)


def test_upkeep_paused(hv, vault, emergency, guardian, attacker):
    _, data = vault.checkUpkeep(b"")
    vault.pause({"from": guardian})
    assert vault.checkUpkeep(b"")[0] is False
    with reverts_with("EnforcedPause"):
        vault.performUpkeep(data, {"from": attacker})


# ------------------------------------------------------------------------- emergency


@pytest.fixture
def emergency(hv, vault, depositor, buyer):
    """7 deep in-the-money calls on 12k USDC, unhedged, then the price jumps 30%: the worst
    stress equity falls below maintenance and the vault enters emergency mode."""
    hv.deposit(depositor, 12_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 7 * WAD)
    hv.move_price(3_900)
    tx = vault.updateMarginState({"from": buyer})
    assert "EmergencyEntered" in tx.events
    return sid


def _tighten_margins(hv, vault):
    """Governance raises every margin level (initial 50%, maintenance 49%, recovery 49.5%)."""
    vault.setRiskParams(
        hv.params_with("risk", initialMarginBps=5_000, maintenanceMarginBps=4_900, recoveryMarginBps=4_950),
        {"from": hv.as_timelock()},
    )


@pytest.fixture
def affordable_emergency(hv, vault, depositor, buyer):
    """4 deep in-the-money calls on 7k USDC, unhedged, then governance tightens the margin levels:
    emergency, with enough quote in the vault to buy the whole hedge (~4 WETH) in one step."""
    hv.deposit(depositor, 7_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 4 * WAD)
    _tighten_margins(hv, vault)
    tx = vault.updateMarginState({"from": buyer})
    assert "EmergencyEntered" in tx.events
    return sid


def test_in_emergency_anyone_rebalances_to_the_contracts_target_for_the_bounty(hv, vault, emergency, attacker):
    check = _check(vault)
    assert check[:2] == (True, EMERGENCY)
    assert check[2] == MAX_TRADE  # full hedge ~7, capped at one step
    before = hv.usdc.balanceOf(attacker)
    tx = vault.rebalance(MAX_TRADE, 0, chain.time() + 600, 0, {"from": attacker})
    ev = tx.events["Rebalanced"]
    assert (ev["caller"], ev["reason"], ev["bounty"]) == (attacker, EMERGENCY, BOUNTY)
    assert hv.usdc.balanceOf(attacker) - before == BOUNTY
    assert hv.weth.balanceOf(vault) == MAX_TRADE


def test_in_emergency_a_target_off_the_contracts_by_more_than_the_dust_reverts(hv, vault, emergency, attacker, keeper):
    for who, target in ((attacker, MAX_TRADE - DUST - 1), (keeper, MAX_TRADE + DUST + 1), (attacker, 0)):
        with reverts_with("MustTargetMismatch", target, MAX_TRADE):
            vault.rebalance(target, 0, chain.time() + 600, 0, {"from": who})


def test_in_emergency_the_trade_is_the_contracts_own_target(hv, vault, emergency, attacker):
    """The caller's target only pins the trade: one within the dust executes at the contract's."""
    tx = vault.rebalance(MAX_TRADE - DUST, 0, chain.time() + 600, 0, {"from": attacker})
    assert tx.events["Rebalanced"]["baseChangeWad"] == MAX_TRADE
    assert hv.weth.balanceOf(vault) == MAX_TRADE


def test_in_emergency_anyone_may_perform_upkeep_once(hv, vault, emergency, attacker):
    needed, data = vault.checkUpkeep(b"")
    assert needed
    tx = vault.performUpkeep(data, {"from": attacker})
    assert tx.events["Rebalanced"]["bounty"] == BOUNTY
    with reverts_with("StaleNonce", 0, 1):
        vault.performUpkeep(data, {"from": attacker})


def test_emergency_rebalance_that_restores_margin_leaves_emergency(hv, vault, affordable_emergency, attacker):
    check = _check(vault)
    assert check[:2] == (True, EMERGENCY)
    tx = vault.rebalance(check[2], 0, chain.time() + 600, 0, {"from": attacker})
    worst, notional = vault.valuation.call(block_identifier=tx.block_number)[1:3]
    recovery = notional * 4_950 // 10_000
    assert worst >= recovery  # hedged deep in-the-money calls barely move under stress
    assert list(tx.events["EmergencyExited"].values()) == [worst, recovery]
    assert not vault.hedgeState()[2]


def test_no_bounty_for_dust_once_the_book_is_hedged(hv, vault, affordable_emergency, attacker):
    """Bounty farming: with the book hedged, nobody can keep calling `rebalance` for a dust trade
    (the delta drifts every block under any smooth pricing) and collect a bounty each time."""
    _tighten_margins(hv, vault)
    vault.rebalance(_check(vault)[2], 0, chain.time() + 600, 0, {"from": attacker})
    if not vault.hedgeState()[2]:
        # Hedging restored the margin; push the vault back into emergency to test the rule there.
        vault.setRiskParams(
            hv.params_with("risk", initialMarginBps=5_000, maintenanceMarginBps=4_999, recoveryMarginBps=5_000),
            {"from": hv.as_timelock()},
        )
        hv.move_price(3_600)
        vault.updateMarginState({"from": attacker})
    hv.advance(60)
    check = _check(vault)
    assert check[0] is False, check
    with reverts_with("RebalanceNotNeeded", NUM):
        vault.rebalance(check[2], 0, chain.time() + 600, 1, {"from": attacker})


def test_emergency_rebalance_is_not_needed_inside_the_dust(hv, vault, depositor, buyer, attacker):
    """A book whose net delta is within the dust (holders ~0.05 delta, no base) that falls into
    emergency (governance raises the margin levels): a dust trade is not worth a bounty."""
    hv.deposit(depositor, 9_000 * USD)
    calls = hv.list_series(5_000, 7 * DAY, True)
    puts = hv.list_series(20_000, 7 * DAY, False)
    hv.buy(buyer, calls, 7 * WAD)
    hv.buy(buyer, puts, 13 * WAD // 2)
    vault.setHedgeParams(hv.params_with("hedge", dustDeltaWad=WAD), {"from": hv.as_timelock()})
    assert 0 < vault.valuation()[3] < WAD
    _tighten_margins(hv, vault)
    vault.updateMarginState({"from": attacker})
    assert vault.hedgeState()[2]
    check = _check(vault)
    assert check[0] is False
    with reverts_with("RebalanceNotNeeded", NUM):
        vault.rebalance(check[2], 0, chain.time() + 600, 0, {"from": attacker})


# ------------------------------------------------------------------------- margin state


def test_margin_state_enters_below_maintenance_and_exits_only_above_recovery(hv, vault, depositor, buyer):
    hv.deposit(depositor, 12_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 7 * WAD)
    tx = vault.updateMarginState({"from": buyer})
    assert tx.return_value is False and not set(tx.events.keys()) & {"EmergencyEntered", "EmergencyExited"}

    hv.move_price(3_900)
    tx = vault.updateMarginState({"from": buyer})
    worst, notional = vault.valuation.call(block_identifier=tx.block_number)[1:3]
    maintenance, recovery = notional * 1_000 // 10_000, notional * 1_500 // 10_000
    assert worst < maintenance
    assert tx.return_value is True
    assert list(tx.events["EmergencyEntered"].values()) == [worst, maintenance]

    # Recapitalise to halfway between maintenance and recovery: still in emergency (hysteresis).
    top_up = (maintenance - worst + (recovery - maintenance) // 2) // 10**12
    hv.deposit(depositor, top_up)
    tx = vault.updateMarginState({"from": buyer})
    worst = vault.valuation.call(block_identifier=tx.block_number)[1]
    assert maintenance <= worst < recovery
    assert tx.return_value is True and "EmergencyExited" not in tx.events

    hv.deposit(depositor, (recovery - worst) // 10**12 + USD)
    tx = vault.updateMarginState({"from": buyer})
    worst = vault.valuation.call(block_identifier=tx.block_number)[1]
    assert tx.return_value is False
    assert list(tx.events["EmergencyExited"].values()) == [worst, recovery]
    assert not vault.hedgeState()[2]


def test_a_vault_with_nothing_written_never_enters_emergency(hv, vault, depositor):
    hv.deposit(depositor, 1 * USD)
    hv.set_price(100)
    tx = vault.updateMarginState({"from": depositor})
    assert tx.return_value is False and "EmergencyEntered" not in tx.events


# ------------------------------------------------------------------------- cash limits


def _affordable(hv, vault) -> int:
    """The full hedge scaled down so that the contract's bound for it fits the quote held."""
    full = vault.valuation()[3] - hv.weth.balanceOf(vault)
    quote = hv.usdc.balanceOf(vault)
    bound = hv.execution_bound(full, True)
    return full if bound <= quote else full * quote // bound


@pytest.fixture
def cash_short(hv, vault, depositor, buyer):
    """9k USDC and 7 deep in-the-money calls, with the per-trade cap raised to 10 WETH: the full
    hedge (~7 WETH, ~21k USDC) costs more quote than the vault holds (~19.7k)."""
    vault.setBudgetParams(hv.params_with("budget", maxTradeBaseWad=10 * WAD), {"from": hv.as_timelock()})
    hv.deposit(depositor, 9_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 7 * WAD)
    return sid


def test_hedge_target_is_capped_by_the_quote_held(hv, vault, cash_short, keeper):
    check = _check(vault)
    affordable = _affordable(hv, vault)
    assert affordable < vault.valuation()[3]  # less than the full hedge
    assert check[:2] == (True, OUTSIDE_HARD_BAND) and check[3] == affordable and check[2] == affordable
    assert check[4] <= hv.usdc.balanceOf(vault)  # the execution bound itself is payable
    tx = hv.rebalance()
    assert hv.weth.balanceOf(vault) == affordable
    assert tx.events["Rebalanced"]["quoteChange"] < 0


def test_keeper_target_beyond_the_quote_held_reverts_with_insufficient_funds(hv, vault, adapter, cash_short, keeper):
    target = 7 * WAD
    quote_in = adapter.quoteInForBaseOut(target)
    balance = hv.usdc.balanceOf(vault)
    assert quote_in > balance
    with reverts_with("InsufficientFunds", quote_in, balance):
        vault.rebalance(target, 0, chain.time() + 600, 0, {"from": keeper})


def test_emergency_bounty_scales_with_trades_smaller_than_the_hard_band(hv, vault, emergency, attacker):
    vault.setBudgetParams(hv.params_with("budget", maxTradeBaseWad=WAD // 2), {"from": hv.as_timelock()})
    check = _check(vault)
    assert check[:2] == (True, EMERGENCY) and check[3] == WAD // 2
    before = hv.usdc.balanceOf(attacker)
    tx = vault.rebalance(check[2], 0, chain.time() + 600, 0, {"from": attacker})
    assert tx.events["Rebalanced"]["bounty"] == BOUNTY // 10  # 0.5 of a 5 WETH hard band
    assert hv.usdc.balanceOf(attacker) - before == BOUNTY // 10
