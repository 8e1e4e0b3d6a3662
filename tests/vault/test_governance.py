"""Governance: every setter's hard bounds (ParameterOutOfBounds), who may call what, and the
timelock's delay. Bounds are exercised with the timelock impersonated (each case would otherwise
wait the delay); the delay itself, and every setter end to end, go through schedule/execute."""

from __future__ import annotations

import pytest
from brownie import chain

from tests.vault.conftest import DAY, NUM, TIMELOCK_DELAY, USD, WAD, ZERO_BYTES32, name32, reverts_with

ADMIN = ZERO_BYTES32

# (params struct, field, value, min, max) with the deployed defaults elsewhere in the struct:
# dust 1e17, initial margin 2000, maintenance 1000, minPrice 1e18, maxPrice 1e24,
# minVol 0.05e18, maxVol 3e18, minExpiry 3600.
VAULT_BOUNDS = [
    ("hedge", "dustDeltaWad", 10**12 - 1, 10**12, 10**22),
    ("hedge", "dustDeltaWad", 10**22 + 1, 10**12, 10**22),
    ("hedge", "hardBandWad", WAD // 10 - 1, WAD // 10, 10**24),
    ("hedge", "hardBandWad", 10**24 + 1, WAD // 10, 10**24),
    ("hedge", "minRebalanceIntervalSeconds", DAY + 1, 0, DAY),
    ("hedge", "mustGraceSeconds", 299, 300, 7 * DAY),
    ("hedge", "mustGraceSeconds", 7 * DAY + 1, 300, 7 * DAY),
    ("hedge", "executionToleranceBps", 0, 1, 200),
    ("hedge", "executionToleranceBps", 201, 1, 200),
    ("hedge", "maxOracleDeviationBps", 9, 10, 1_000),
    ("hedge", "maxOracleDeviationBps", 1_001, 10, 1_000),
    ("budget", "windowSeconds", 3_599, 3_600, 7 * DAY),
    ("budget", "windowSeconds", 7 * DAY + 1, 3_600, 7 * DAY),
    ("budget", "maxBaseTradedWad", 10**16 - 1, 10**16, 10**24),
    ("budget", "maxBaseTradedWad", 10**24 + 1, 10**16, 10**24),
    ("budget", "maxExecutionLossQuote", USD - 1, USD, 10**9 * USD),
    ("budget", "maxExecutionLossQuote", 10**9 * USD + 1, USD, 10**9 * USD),
    ("risk", "initialMarginBps", 99, 100, 5_000),
    ("risk", "initialMarginBps", 5_001, 100, 5_000),
    ("risk", "maintenanceMarginBps", 49, 50, 2_000),
    ("risk", "maintenanceMarginBps", 2_001, 50, 2_000),
    ("risk", "recoveryMarginBps", 1_000, 1_001, 2_000),
    ("risk", "recoveryMarginBps", 2_001, 1_001, 2_000),
    ("risk", "stressBps", 99, 100, 5_000),
    ("risk", "stressBps", 5_001, 100, 5_000),
    ("budget", "maxTradeBaseWad", 10**16 - 1, 10**16, 10**23),
    ("budget", "maxTradeBaseWad", 10**23 + 1, 10**16, 10**23),
    ("risk", "maxResidualDeltaWad", 10**23 + 1, 0, 10**23),
    ("oracle", "priceHeartbeatSeconds", 59, 60, 2 * DAY),
    ("oracle", "priceHeartbeatSeconds", 2 * DAY + 1, 60, 2 * DAY),
    ("oracle", "volHeartbeatSeconds", 59, 60, 2 * DAY),
    ("oracle", "volHeartbeatSeconds", 2 * DAY + 1, 60, 2 * DAY),
    ("oracle", "sequencerGraceSeconds", DAY + 1, 0, DAY),
    ("oracle", "minPriceWad", 10**12 - 1, 10**12, 10**24),
    ("oracle", "minPriceWad", 10**24 + 1, 10**12, 10**24),
    ("oracle", "maxPriceWad", 10**27 + 1, WAD, 10**27),
    ("oracle", "minVolWad", 10**16 - 1, 10**16, 3 * WAD),
    ("oracle", "maxVolWad", 5 * WAD + 1, 5 * 10**16, 5 * WAD),
]

MARKET_BOUNDS = [
    ("spreadBps", 2_001, 0, 2_000),
    ("maxLiveSeries", 0, 1, 32),
    ("maxLiveSeries", 33, 1, 32),
    ("minStrikeBps", 1_999, 2_000, 10_000),
    ("minStrikeBps", 10_001, 2_000, 10_000),
    ("maxStrikeBps", 9_999, 10_000, 50_000),
    ("maxStrikeBps", 50_001, 10_000, 50_000),
    ("minExpirySeconds", 599, 600, 30 * DAY),
    ("minExpirySeconds", 30 * DAY + 1, 600, 30 * DAY),
    ("maxExpirySeconds", 3_599, 3_600, 730 * DAY),
    ("maxExpirySeconds", 730 * DAY + 1, 3_600, 730 * DAY),
    ("minTimeToBuySeconds", DAY + 1, 0, DAY),
    ("rateWad", 2 * 10**17 + 1, 0, 2 * 10**17),
    ("minBuyWad", 10**12 - 1, 10**12, 10 * WAD),
    ("minBuyWad", 10 * WAD + 1, 10**12, 10 * WAD),
]

SETTERS = {"hedge": "setHedgeParams", "budget": "setBudgetParams", "risk": "setRiskParams", "oracle": "setOracleParams"}


# ------------------------------------------------------------------------- bounds


@pytest.mark.parametrize("which,field,value,lo,hi", VAULT_BOUNDS, ids=[f"{b[1]}={b[2]}" for b in VAULT_BOUNDS])
def test_vault_parameter_out_of_bounds_reverts(hv, vault, which, field, value, lo, hi):
    struct = hv.params_with(which, **{field: value})
    with reverts_with("ParameterOutOfBounds", name32(field), value, lo, hi):
        getattr(vault, SETTERS[which])(struct, {"from": hv.as_timelock()})


@pytest.mark.parametrize("field,value,lo,hi", MARKET_BOUNDS, ids=[f"{b[0]}={b[1]}" for b in MARKET_BOUNDS])
def test_market_parameter_out_of_bounds_reverts(hv, market, field, value, lo, hi):
    with reverts_with("ParameterOutOfBounds", name32(field), value, lo, hi):
        market.setMarketParams(hv.params_with("market", **{field: value}), {"from": hv.as_timelock()})


def test_deposit_cap_and_bounty_bounds(hv, vault):
    tl = hv.as_timelock()
    with reverts_with("ParameterOutOfBounds", name32("depositCap"), 10**18 + 1, 0, 10**18):
        vault.setDepositCap(10**18 + 1, {"from": tl})
    with reverts_with("ParameterOutOfBounds", name32("emergencyBounty"), 100 * USD + 1, 0, 100 * USD):
        vault.setEmergencyBounty(100 * USD + 1, {"from": tl})


def test_live_series_cap_cannot_drop_below_the_live_count(hv, market):
    for bps in (9_000, 10_000, 11_000):
        hv.list_series(bps, 7 * DAY, True)
    with reverts_with("ParameterOutOfBounds", name32("maxLiveSeries"), 2, 3, 32):
        market.setMarketParams(hv.params_with("market", maxLiveSeries=2), {"from": hv.as_timelock()})
    market.setMarketParams(hv.params_with("market", maxLiveSeries=3), {"from": hv.as_timelock()})


def test_bounds_are_inclusive(hv, vault, market):
    tl = hv.as_timelock()
    vault.setHedgeParams(
        hv.params_with("hedge", executionToleranceBps=200, maxOracleDeviationBps=10, mustGraceSeconds=300), {"from": tl}
    )
    vault.setBudgetParams(hv.params_with("budget", windowSeconds=3_600, maxExecutionLossQuote=USD), {"from": tl})
    vault.setRiskParams(
        hv.params_with("risk", initialMarginBps=5_000, maintenanceMarginBps=50, recoveryMarginBps=51), {"from": tl}
    )
    vault.setDepositCap(10**18, {"from": tl})
    vault.setEmergencyBounty(100 * USD, {"from": tl})
    market.setMarketParams(hv.params_with("market", maxLiveSeries=32, spreadBps=0), {"from": tl})
    assert hv.params("market")["maxLiveSeries"] == 32


# ------------------------------------------------------------------------- through the timelock


@pytest.mark.parametrize("which,field,value", [
    ("hedge", "executionToleranceBps", 100),
    ("budget", "maxBaseTradedWad", 50 * WAD),
    ("risk", "stressBps", 2_500),
    ("oracle", "priceHeartbeatSeconds", 7_200),
])
def test_governance_changes_vault_params_through_the_timelock(hv, vault, which, field, value):
    old = hv.params(which)
    new = hv.params_with(which, **{field: value})
    tx = hv.govern(vault, SETTERS[which], new)
    assert hv.params(which)[field] == value
    event = {"hedge": "SetHedgeParams", "budget": "SetBudgetParams", "risk": "SetRiskParams",
             "oracle": "SetOracleParams"}[which]
    ev = tx.events[event]
    assert tuple(ev["oldParams"]) == tuple(old.values())
    assert tuple(ev["newParams"]) == new


def test_governance_changes_market_params_cap_and_bounty_through_the_timelock(hv, vault, market):
    old = hv.params("market")
    new = hv.params_with("market", maxLiveSeries=32)
    tx = hv.govern(market, "setMarketParams", new)
    assert tuple(tx.events["SetMarketParams"]["oldParams"]) == tuple(old.values())
    assert tuple(tx.events["SetMarketParams"]["newParams"]) == new
    tx = hv.govern(vault, "setDepositCap", 5 * USD)
    assert list(tx.events["SetDepositCap"].values()) == [10_000_000 * USD, 5 * USD]
    tx = hv.govern(vault, "setEmergencyBounty", 1 * USD)
    assert list(tx.events["SetEmergencyBounty"].values()) == [10 * USD, 1 * USD]


def test_timelock_refuses_a_delay_shorter_than_its_minimum(hv, vault, timelock, governor):
    data = vault.setDepositCap.encode_input(1)
    with reverts_with("TimelockInsufficientDelay", TIMELOCK_DELAY - 1, TIMELOCK_DELAY):
        timelock.schedule(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY - 1, {"from": governor})


def test_timelock_refuses_execution_before_the_delay(hv, vault, timelock):
    data = vault.setDepositCap.encode_input(1)
    op, salt = hv.schedule(vault, data)
    ready = b"\x00" * 31 + b"\x04"  # the Ready state's bit in OZ's state bitmap
    with reverts_with("TimelockUnexpectedOperationState", op, ready):
        hv.execute(vault, data, salt)
    chain.sleep(TIMELOCK_DELAY - 120)
    with reverts_with("TimelockUnexpectedOperationState", op, ready):
        hv.execute(vault, data, salt)
    chain.sleep(240)
    hv.execute(vault, data, salt)
    assert vault.depositCap() == 1
    assert timelock.isOperationDone(op)


def test_only_the_governor_proposes_and_executes(hv, vault, timelock, governor, attacker, keeper, guardian):
    data = vault.setDepositCap.encode_input(1)
    for who in (attacker, keeper, guardian):
        with reverts_with("AccessControlUnauthorizedAccount", who, timelock.PROPOSER_ROLE()):
            timelock.schedule(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY, {"from": who})
    op, salt = hv.schedule(vault, data)
    chain.sleep(TIMELOCK_DELAY + 1)
    with reverts_with("AccessControlUnauthorizedAccount", attacker, timelock.EXECUTOR_ROLE()):
        timelock.execute(vault, 0, data, ZERO_BYTES32, salt, {"from": attacker})


def test_governor_can_cancel_a_pending_change(hv, vault, timelock, governor):
    data = vault.setDepositCap.encode_input(1)
    op, salt = hv.schedule(vault, data)
    timelock.cancel(op, {"from": governor})
    chain.sleep(TIMELOCK_DELAY + 1)
    with reverts_with("TimelockUnexpectedOperationState", op, b"\x00" * 31 + b"\x04"):
        hv.execute(vault, data, salt)


def test_the_timelock_delay_changes_only_through_itself(hv, timelock, governor):
    with reverts_with("TimelockUnauthorizedCaller", governor):
        timelock.updateDelay(1, {"from": governor})
    hv.govern(timelock, "updateDelay", 2 * TIMELOCK_DELAY)
    assert timelock.getMinDelay() == 2 * TIMELOCK_DELAY


def test_roles_after_deployment(hv, vault, market, timelock, deployer, governor, guardian, keeper, lister):
    for c in (vault, market):
        assert c.hasRole(ADMIN, timelock) and not c.hasRole(ADMIN, deployer)
        assert c.hasRole(c.GOVERNOR_ROLE(), timelock) and not c.hasRole(c.GOVERNOR_ROLE(), governor)
    assert vault.hasRole(vault.GUARDIAN_ROLE(), guardian)
    assert vault.hasRole(vault.KEEPER_ROLE(), keeper)
    assert market.hasRole(market.LISTER_ROLE(), lister)
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), governor)
    assert timelock.hasRole(ADMIN, timelock) and not timelock.hasRole(ADMIN, deployer)
    assert timelock.getMinDelay() == TIMELOCK_DELAY


def test_governance_grants_and_revokes_roles_through_the_timelock(hv, vault, keeper, attacker):
    role = vault.KEEPER_ROLE()
    hv.govern(vault, "grantRole", role, attacker)
    assert vault.hasRole(role, attacker)
    hv.govern(vault, "revokeRole", role, keeper)
    assert not vault.hasRole(role, keeper)


# ------------------------------------------------------------------------- who may do what


@pytest.mark.parametrize("setter", ["setHedgeParams", "setRiskParams", "setOracleParams", "setDepositCap", "setEmergencyBounty", "unpause"])
def test_vault_setters_are_governor_only(hv, vault, setter, governor, guardian, keeper, attacker, deployer):
    args = {
        "setHedgeParams": (hv.params_with("hedge"),),
        "setRiskParams": (hv.params_with("risk"),),
        "setOracleParams": (hv.params_with("oracle"),),
        "setDepositCap": (1,),
        "setEmergencyBounty": (1,),
        "unpause": (),
    }[setter]
    role = vault.GOVERNOR_ROLE()
    for who in (governor, guardian, keeper, attacker, deployer):
        with reverts_with("AccessControlUnauthorizedAccount", who, role):
            getattr(vault, setter)(*args, {"from": who})


def test_market_params_are_governor_only(hv, market, governor, guardian, keeper, lister, attacker):
    role = market.GOVERNOR_ROLE()
    for who in (governor, guardian, keeper, lister, attacker):
        with reverts_with("AccessControlUnauthorizedAccount", who, role):
            market.setMarketParams(hv.params_with("market"), {"from": who})


def test_only_the_guardian_pauses(vault, keeper, attacker, governor):
    role = vault.GUARDIAN_ROLE()
    for who in (keeper, attacker, governor):
        with reverts_with("AccessControlUnauthorizedAccount", who, role):
            vault.pause({"from": who})


def test_guardian_pauses_but_only_governance_unpauses(hv, vault, guardian):
    vault.pause({"from": guardian})
    assert vault.paused()
    with reverts_with("EnforcedPause"):
        vault.pause({"from": guardian})
    with reverts_with("AccessControlUnauthorizedAccount", guardian, vault.GOVERNOR_ROLE()):
        vault.unpause({"from": guardian})
    hv.govern(vault, "unpause")
    assert not vault.paused()
    with reverts_with("ExpectedPause"):
        vault.unpause({"from": hv.as_timelock()})


def test_guardian_cannot_move_funds_or_grant_roles(hv, vault, guardian, depositor, buyer):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 3 * WAD)
    shares = vault.balanceOf(depositor) // 10
    with reverts_with("ERC20InsufficientAllowance", guardian, 0, NUM):
        vault.withdraw(USD, guardian, depositor, {"from": guardian})
    with reverts_with("ERC20InsufficientAllowance", guardian, 0, shares):
        vault.redeem(shares, guardian, depositor, {"from": guardian})
    with reverts_with("Unauthorized", guardian):
        hv.rebalance(caller=guardian)
    with reverts_with("OnlyMarket", guardian):
        vault.payout(guardian, 1, {"from": guardian})
    with reverts_with("AccessControlUnauthorizedAccount", guardian, ADMIN):
        vault.grantRole(vault.KEEPER_ROLE(), guardian, {"from": guardian})
    assert hv.usdc.balanceOf(guardian) == 0 and hv.weth.balanceOf(guardian) == 0


def test_keeper_cannot_set_params_list_or_pause(hv, vault, market, keeper):
    with reverts_with("AccessControlUnauthorizedAccount", keeper, vault.GOVERNOR_ROLE()):
        vault.setHedgeParams(hv.params_with("hedge", dustDeltaWad=10**15), {"from": keeper})
    with reverts_with("AccessControlUnauthorizedAccount", keeper, market.LISTER_ROLE()):
        market.listSeries(hv.spot_wad(), chain.time() + 7 * DAY, True, {"from": keeper})
    with reverts_with("AccessControlUnauthorizedAccount", keeper, vault.GUARDIAN_ROLE()):
        vault.pause({"from": keeper})
