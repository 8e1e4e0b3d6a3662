"""Without a trusted price the vault stands still: every path that values the book refuses with
OracleLib's custom error (stale, out of bounds, non-positive, sequencer down), the max* views say 0
and the keeper's views report the failure instead of reverting."""

from __future__ import annotations

import pytest
from brownie import TestRawFeed, chain

from scripts.lib.vault import VaultParams
from tests.vault.conftest import DAY, NUM, USD, WAD, reverts_with

PRICE_HEARTBEAT = 3_600
VOL_HEARTBEAT = 86_400
ORACLE_INVALID = 5


def _stale_price(hv):
    """Let the price feed's heartbeat lapse (the vol feed stays fresh)."""
    updated_at = hv.price_feed.latestRoundData()[3]
    chain.sleep(PRICE_HEARTBEAT + 10)
    hv.vol_feed.updateAnswer(hv.vol_feed.latestRoundData()[1], {"from": hv.deployer})
    return updated_at


def test_stale_price_stops_deposits_withdrawals_writes_and_hedges(hv, vault, market, calls, depositor, buyer, keeper):
    updated_at = _stale_price(hv)
    stale = ("OracleStaleAnswer", hv.price_feed, updated_at, PRICE_HEARTBEAT, NUM)
    hv.mint_usd(depositor, USD)
    hv.usdc.approve(vault, USD, {"from": depositor})
    with reverts_with(*stale):
        vault.deposit(USD, depositor, {"from": depositor})
    with reverts_with(*stale):
        vault.mint(10**12, depositor, {"from": depositor})
    with reverts_with(*stale):
        vault.withdraw(USD, depositor, depositor, {"from": depositor})
    with reverts_with(*stale):
        vault.redeem(10**12, depositor, depositor, {"from": depositor})
    with reverts_with(*stale):
        market.buy(calls, WAD, 10**12, chain.time() + 600, {"from": buyer})
    with reverts_with(*stale):
        market.listSeries(3_000 * WAD, chain.time() + 7 * DAY, True, {"from": hv.lister})
    with reverts_with(*stale):
        vault.rebalance(3 * WAD, 0, chain.time() + 600, 0, {"from": keeper})
    with reverts_with(*stale):
        vault.updateMarginState({"from": keeper})
    with reverts_with(*stale):
        vault.totalAssets()
    for view in (vault.maxDeposit, vault.maxMint, vault.maxWithdraw, vault.maxRedeem):
        assert view(depositor) == 0
    assert tuple(vault.rebalanceCheck())[:2] == (False, ORACLE_INVALID)
    assert vault.checkUpkeep(b"")[0] is False


def test_a_fresh_round_restores_service(hv, vault, calls, depositor):
    _stale_price(hv)
    assert vault.maxWithdraw(depositor) == 0
    hv.refresh_oracles()
    assert vault.maxWithdraw(depositor) > 0
    hv.deposit(depositor, USD)
    assert tuple(vault.rebalanceCheck())[:2] == (True, 1)


def test_stale_vol_feed_also_stops_the_vault(hv, vault, calls, depositor):
    updated_at = hv.vol_feed.latestRoundData()[3]
    chain.sleep(VOL_HEARTBEAT + 10)
    hv.set_price(3_000)  # the price stays fresh
    with reverts_with("OracleStaleAnswer", hv.vol_feed, updated_at, VOL_HEARTBEAT, NUM):
        vault.totalAssets()
    assert vault.maxWithdraw(depositor) == 0


@pytest.mark.parametrize("usd,error,bound", [(0.5, "OracleAnswerBelowMin", WAD), (2_000_000, "OracleAnswerAboveMax", 10**24)])
def test_price_outside_its_bounds_is_refused(hv, vault, usd, error, bound):
    hv.set_price(usd)
    with reverts_with(error, hv.price_feed, int(usd * WAD), bound):
        vault.oraclePrices()


@pytest.mark.parametrize("vol,error,bound", [(0.01, "OracleAnswerBelowMin", 5 * 10**16), (3.5, "OracleAnswerAboveMax", 3 * WAD)])
def test_vol_outside_its_bounds_is_refused(hv, vault, vol, error, bound):
    hv.set_vol(vol)
    with reverts_with(error, hv.vol_feed, int(vol * 10**8) * 10**10, bound):
        vault.oraclePrices()


@pytest.mark.parametrize("answer", [0, -1])
def test_non_positive_price_is_refused(hv, vault, answer):
    hv.price_feed.updateAnswer(answer, {"from": hv.deployer})
    with reverts_with("OracleNonPositiveAnswer", hv.price_feed, answer):
        vault.oraclePrices()


def test_sequencer_down_or_in_grace_period_stops_the_vault(hv, deployer):
    """A second vault wired to an L2 sequencer-uptime feed (answer 0 = up, startedAt = since when)."""
    sequencer = TestRawFeed.deploy(0, {"from": deployer})
    c = hv.record.contracts
    params = VaultParams()
    vault = hv.deploy_vault(
        (c["usd"], c["weth"], c["option_market"], c["swap_adapter"], c["price_feed"], c["vol_feed"], sequencer,
         deployer, deployer, deployer),
        params, deployer,
    )
    grace = params.oracle["sequencerGraceSeconds"]
    up_since = chain.time() - 60
    sequencer.setRound(1, 0, up_since, up_since, 1, {"from": deployer})
    with reverts_with("SequencerGracePeriodNotOver", up_since, grace):
        vault.oraclePrices()
    assert vault.maxDeposit(deployer) == 0
    sequencer.setRound(2, 0, up_since - grace, up_since - grace, 2, {"from": deployer})
    assert vault.oraclePrices()[0] == hv.spot_wad()
    sequencer.setRound(3, 1, chain.time(), chain.time(), 3, {"from": deployer})
    with reverts_with("SequencerDown"):
        vault.oraclePrices()


def test_lens_reports_the_oracle_failure_instead_of_reverting(hv, vault, lens, calls):
    updated_at = _stale_price(hv)
    snap = lens.riskSnapshot(vault)
    oracle_ok, total_assets, price_updated_at, check = snap[8], snap[5], snap[11], snap[22]
    assert oracle_ok is False
    assert total_assets == 0
    assert price_updated_at == updated_at
    assert tuple(check)[:2] == (False, ORACLE_INVALID)
