"""VaultLens.riskSnapshot: the keeper's one-call read agrees, field by field, with the individual
views evaluated at the same block."""

from __future__ import annotations

from brownie import web3

from tests.vault.conftest import DAY, USD, WAD

FIELDS = (
    "blockNumber", "timestamp", "quoteBalance", "baseBalanceWad", "owedQuote", "totalAssets", "totalSupply",
    "paused", "oracleOk", "spotWad", "volWad", "priceUpdatedAt", "volUpdatedAt", "dexSpotWad", "holdersDeltaWad",
    "netDeltaWad", "notionalValueWad", "worstEquityWad", "marginRatioBps", "hedge", "hedgeParams", "riskParams",
    "check", "series", "rateWad",
)


def _plain(value):
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _snapshot(lens, vault, block):
    return dict(zip(FIELDS, _plain(lens.riskSnapshot.call(vault, block_identifier=block))))


def test_snapshot_matches_individual_views(hv, vault, market, lens, depositor, buyer):
    hv.deposit(depositor, 200_000 * USD)
    calls = hv.list_series(5_000, 7 * DAY, True)
    puts = hv.list_series(11_000, 14 * DAY, False)
    short = hv.list_series(9_000, 3_600 + 60, True)
    hv.buy(buyer, calls, 4 * WAD)
    hv.buy(buyer, puts, 2 * WAD)
    hv.buy(buyer, short, WAD)
    hv.rebalance()
    hv.settle(short, price_usd=3_050)  # leaves an owed payoff
    hv.arbitrage()

    block = web3.eth.block_number
    at = {"block_identifier": block}
    s = _snapshot(lens, vault, block)
    nav, worst, notional, holders = vault.valuation.call(**at)
    spot, vol = vault.oraclePrices.call(**at)
    base = hv.weth.balanceOf.call(vault, **at)

    assert s["blockNumber"] == block
    assert s["timestamp"] == web3.eth.get_block(block).timestamp
    assert s["quoteBalance"] == hv.usdc.balanceOf.call(vault, **at)
    assert s["baseBalanceWad"] == base > 0
    assert s["owedQuote"] == market.owedQuote.call(**at) > 0
    assert s["totalAssets"] == vault.totalAssets.call(**at) == nav
    assert s["totalSupply"] == vault.totalSupply.call(**at)
    assert s["paused"] is False and s["oracleOk"] is True
    assert (s["spotWad"], s["volWad"]) == (spot, vol)
    assert s["priceUpdatedAt"] == hv.price_feed.latestRoundData.call(**at)[3]
    assert s["volUpdatedAt"] == hv.vol_feed.latestRoundData.call(**at)[3]
    assert s["dexSpotWad"] == hv.adapter.spotPriceWad.call(**at)
    assert s["holdersDeltaWad"] == holders
    assert s["netDeltaWad"] == base - holders
    assert s["notionalValueWad"] == notional == 6 * spot
    assert s["worstEquityWad"] == worst
    assert s["marginRatioBps"] == worst * 10_000 // notional
    assert s["hedge"] == _plain(vault.hedgeState.call(**at))
    assert s["hedgeParams"] == _plain(vault.hedgeParams.call(**at))
    assert s["riskParams"] == _plain(vault.riskParams.call(**at))
    assert s["check"] == _plain(vault.rebalanceCheck.call(**at))
    assert s["series"] == _plain(market.liveSeries.call(**at))
    assert {x[0] for x in s["series"]} == {calls, puts}
    assert s["rateWad"] == hv.params("market")["rateWad"]


def test_snapshot_of_an_empty_vault(hv, vault, lens):
    s = _snapshot(lens, vault, web3.eth.block_number)
    assert s["totalAssets"] == s["totalSupply"] == s["notionalValueWad"] == 0
    assert s["marginRatioBps"] == 2**256 - 1  # nothing written: unbounded
    assert s["series"] == ()
    assert s["check"][:2] == (False, 0)


def test_snapshot_reports_pause(hv, vault, lens, guardian):
    vault.pause({"from": guardian})
    s = _snapshot(lens, vault, web3.eth.block_number)
    assert s["paused"] is True
    assert s["check"][:2] == (False, 6)
