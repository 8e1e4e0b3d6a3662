"""Item 3: oracle faults, as a table: every fault x every consumer.

Two extra stacks share the deployed pool and adapter but have their own OptionMarket and
HedgeVault, wired (feeds are immutable) to a price feed with 8 or with 18 decimals, an 8-decimal
vol feed and an L2 sequencer-uptime feed (TestRawFeed: answer 0 = up, startedAt = up since). Each
holds the same book: a 100k USDC deposit, a live 7-day call series with open interest, a series
that expired and was settled (its holders may redeem), and a series that expired with its
settlement round posted but is not yet settled.

Defence: every valuing path reads `HedgeVault.oraclePrices` (OracleLib: heartbeat, positive,
complete round, not in the future, bounds, decimals normalised, sequencer up past its grace) and
reverts with the failing check's custom error. Documented degradation (docs/CONTRACTS.md, "Without
a trusted price"): `totalAssets` reverts, the max* views return 0, `rebalanceCheck` reports
OracleInvalid, the lens reports oracleOk = false; `settle` reads only its settlement round (a
later fault of the live feed does not block it), and redeeming a settled series pays quote without
reading the oracle while the vault holds the quote.

Consumers are exercised with eth_call (the revert is the same as a transaction's), so the whole
table costs one snapshot, one fault and a handful of calls per row.
"""

from __future__ import annotations

import pytest
from brownie import OptionMarket, TestFeed, TestRawFeed, chain

from scripts.lib.vault import (
    MARKET_ORDER,
    VaultParams,
)
from tests.adversarial.helpers import reverts_named
from tests.vault.conftest import DAY, USD, WAD, reverts_with

PRICE_HEARTBEAT = 3_600
GRACE = 3_600
ORACLE_INVALID = 5


class AltStack:
    """A market + vault pair on the deployed pool, with its own feeds."""

    def __init__(self, hv, price_decimals: int):
        d = hv.deployer
        p = VaultParams()
        self.hv = hv
        self.decimals = price_decimals
        self.price_feed = TestFeed.deploy(price_decimals, 3_000 * 10**price_decimals, {"from": d, "silent": True})
        self.vol_feed = TestFeed.deploy(8, 80 * 10**6, {"from": d, "silent": True})
        self.sequencer = TestRawFeed.deploy(0, {"from": d, "silent": True})
        up = chain.time() - 10 * DAY
        self.sequencer.setRound(1, 0, up, up, 1, {"from": d})
        self.market = OptionMarket.deploy(d, d, hv.lister, hv.usdc, 6, p.struct("market", MARKET_ORDER),
                                          {"from": d, "silent": True})
        wiring = (hv.usdc, hv.weth, self.market, hv.adapter, self.price_feed, self.vol_feed, self.sequencer, d, d,
                  hv.guardian)
        self.vault = hv.deploy_vault(wiring, p, d)
        self.market.initializeVault(self.vault, {"from": d})
        self.vault.grantRole(self.vault.KEEPER_ROLE(), hv.keeper, {"from": d})

    def answer(self, usd) -> int:
        return int(usd * 10**self.decimals)

    def refresh(self):
        d = self.hv.deployer
        self.price_feed.updateAnswer(self.price_feed.latestRoundData()[1], self.hv.tx(d))
        self.vol_feed.updateAnswer(self.vol_feed.latestRoundData()[1], self.hv.tx(d))

    def list_at(self, strike_usd: int, expiry: int) -> int:
        tx = self.market.listSeries(strike_usd * WAD, expiry, True, self.hv.tx(self.hv.lister))
        return tx.events["SeriesListed"]["id"]

    def buy(self, who, sid: int, amount: int):
        self.hv.mint_usd(who, 10**12)
        self.hv.usdc.approve(self.market, 2**256 - 1, self.hv.tx(who))
        return self.market.buy(sid, amount, 10**12, chain.time() + 600, self.hv.tx(who))


@pytest.fixture(scope="module")
def stacks(hv, depositor, buyer):
    """Both stacks in lockstep (same absolute expiries), with the book described above."""
    out = {dec: AltStack(hv, dec) for dec in (8, 18)}
    now = chain.time()
    live_expiry, settled_expiry, pending_expiry = now + 7 * DAY, now + 3_700, now + 3_800
    for s in out.values():
        hv.mint_usd(depositor, 110_000 * USD)
        hv.usdc.approve(s.vault, 2**256 - 1, hv.tx(depositor))
        s.vault.deposit(100_000 * USD, depositor, hv.tx(depositor))
        s.live = s.list_at(2_700, live_expiry)
        s.settled = s.list_at(2_700, settled_expiry)
        s.pending = s.list_at(2_700, pending_expiry)
        for sid in (s.live, s.settled, s.pending):
            s.buy(buyer, sid, 2 * WAD)
    chain.sleep(pending_expiry - chain.time() + 1)
    for s in out.values():
        s.refresh()  # the first round after both expiries: the settlement round of both series
    for s in out.values():
        s.settlement_round = s.price_feed.latestRound()
        s.market.settle(s.settled, s.settlement_round, hv.tx(hv.deployer))
    return out


# ------------------------------------------------------------------------- faults


def _stale_price(s):
    chain.sleep(PRICE_HEARTBEAT + 10)
    s.vol_feed.updateAnswer(s.vol_feed.latestRoundData()[1], s.hv.tx(s.hv.deployer))
    return ("OracleStaleAnswer", s.price_feed)


def _stale_vol(s):
    chain.sleep(86_400 + 10)
    s.price_feed.updateAnswer(s.price_feed.latestRoundData()[1], s.hv.tx(s.hv.deployer))
    return ("OracleStaleAnswer", s.vol_feed)


def _price(usd, error):
    def fault(s):
        s.price_feed.updateAnswer(s.answer(usd) if usd >= 0 else -1, s.hv.tx(s.hv.deployer))
        return (error, s.price_feed)
    return fault


def _vol(vol, error):
    def fault(s):
        s.vol_feed.updateAnswer(int(vol * 10**8), s.hv.tx(s.hv.deployer))
        return (error, s.vol_feed)
    return fault


def _future_round(s):
    f = s.price_feed
    t = chain.time() + 1_000
    f.updateRoundData(f.latestRound() + 1, f.latestRoundData()[1], t, t, s.hv.tx(s.hv.deployer))
    return ("OracleUpdatedAtInFuture", s.price_feed)


def _sequencer_down(s):
    s.sequencer.setRound(2, 1, chain.time(), chain.time(), 2, s.hv.tx(s.hv.deployer))
    return ("SequencerDown",)


def _sequencer_grace(s):
    up = chain.time() - 60
    s.sequencer.setRound(2, 0, up, up, 2, s.hv.tx(s.hv.deployer))
    return ("SequencerGracePeriodNotOver", up, GRACE)


FAULTS = {
    "stale price": _stale_price,
    "stale vol": _stale_vol,
    "zero price": _price(0, "OracleNonPositiveAnswer"),
    "negative price": _price(-1, "OracleNonPositiveAnswer"),
    "price below min": _price(0.5, "OracleAnswerBelowMin"),
    "price above max": _price(2_000_000, "OracleAnswerAboveMax"),
    "vol below min": _vol(0.01, "OracleAnswerBelowMin"),
    "vol above max": _vol(3.5, "OracleAnswerAboveMax"),
    "round in the future": _future_round,
    "sequencer down": _sequencer_down,
    "sequencer in grace period": _sequencer_grace,
}


# ------------------------------------------------------------------------- consumers


def _consumers(s, hv, depositor, buyer, keeper):
    v, m = s.vault, s.market
    deadline = chain.time() + 10_000
    return {
        "deposit": lambda: v.deposit.call(USD, depositor, {"from": depositor}),
        "mint": lambda: v.mint.call(10**12, depositor, {"from": depositor}),
        "withdraw": lambda: v.withdraw.call(USD, depositor, depositor, {"from": depositor}),
        "redeem shares": lambda: v.redeem.call(10**12, depositor, depositor, {"from": depositor}),
        "buy": lambda: m.buy.call(s.live, WAD, 10**12, deadline, {"from": buyer}),
        "list series": lambda: m.listSeries.call(3_000 * WAD, chain.time() + 7 * DAY, True, {"from": hv.lister}),
        "rebalance": lambda: v.rebalance.call(WAD, 0, deadline, 0, {"from": keeper}),
        "margin update": lambda: v.updateMarginState.call({"from": keeper}),
        "totalAssets": lambda: v.totalAssets(),
    }


@pytest.mark.parametrize("decimals", [8, 18])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_consumer_refuses_a_faulty_oracle_with_its_named_error(hv, stacks, depositor, buyer, keeper, lens, fault,
                                                                      decimals):
    """Defence: OracleLib through `HedgeVault.oraclePrices`, on every valuing path. Each consumer
    reverts with the fault's own custom error (first argument: the failing feed); the views degrade
    as documented; settlement and option redemption keep working."""
    s = stacks[decimals]
    expected = FAULTS[fault](s)
    name, args = expected[0], expected[1:]
    for consumer, call in _consumers(s, hv, depositor, buyer, keeper).items():
        ctx = reverts_with(name, *args) if name.startswith("Sequencer") else reverts_named(name, *args)
        with ctx:
            call()
            raise AssertionError(f"{consumer} did not revert under '{fault}'")
    # Views: refuse quietly.
    v = s.vault
    for view in (v.maxDeposit, v.maxMint, v.maxWithdraw, v.maxRedeem):
        assert view(depositor) == 0, view
    assert tuple(v.rebalanceCheck())[:2] == (False, ORACLE_INVALID)
    assert v.checkUpkeep(b"")[0] is False
    snap = lens.riskSnapshot(v)
    assert snap[8] is False and snap[5] == 0  # oracleOk, totalAssets
    # Degradation, not a stop: the settlement round was posted before the fault; holders of the
    # settled series are paid in quote without an oracle read.
    tx = s.market.settle(s.pending, s.settlement_round, hv.tx(hv.deployer))
    assert tx.events["SeriesSettled"]["settlementPriceWad"] == 3_000 * WAD
    held = s.market.balanceOf(buyer, s.settled)
    payoff = s.market.settledSeries(s.settled)[1]
    before = hv.usdc.balanceOf(buyer)
    s.market.redeem(s.settled, held, hv.tx(buyer))
    assert hv.usdc.balanceOf(buyer) - before == payoff * held // WAD // 10**12 > 0


@pytest.mark.parametrize("decimals", [8, 18])
def test_a_healthy_oracle_lets_every_consumer_through(hv, stacks, depositor, buyer, keeper, decimals):
    """Control row for the table above: with no fault, the same calls succeed (so each refusal is
    the fault's doing). The pending series is settled first; the rebalance call asks for the
    contract's own target."""
    s = stacks[decimals]
    s.refresh()
    s.market.settle(s.pending, s.settlement_round, hv.tx(hv.deployer))
    hv.arbitrage()
    calls = _consumers(s, hv, depositor, buyer, keeper)
    check = s.vault.rebalanceCheck()
    assert check[0]
    calls["rebalance"] = lambda: s.vault.rebalance.call(check[2], 0, chain.time() + 600, 0, {"from": keeper})
    for call in calls.values():
        call()
    assert s.vault.maxWithdraw(depositor) > 0


def test_8_and_18_decimal_price_feeds_value_the_vault_identically(hv, stacks):
    """Defence: OracleLib normalises every answer to 18 decimals (`_toWad`), and settlement scales by
    the feed's `decimals()`. The two stacks hold the same book: the same oracle price, marks, delta,
    premiums and settlement payoffs, to the wei."""
    s8, s18 = stacks[8], stacks[18]
    s8.refresh()
    s18.refresh()
    assert _ints(s8.vault.oraclePrices()) == _ints(s18.vault.oraclePrices()) == (3_000 * WAD, 8 * WAD // 10)
    assert s8.market.quote(s8.live, WAD) == s18.market.quote(s18.live, WAD)
    assert _ints(s8.market.book(3_000 * WAD, 8 * WAD // 10)) == _ints(s18.market.book(3_000 * WAD, 8 * WAD // 10))
    assert _ints(s8.market.settledSeries(s8.settled)[1:]) == _ints(s18.market.settledSeries(s18.settled)[1:])
    assert s8.market.settledSeries(s8.settled)[1] == 300 * WAD  # 3,000 - 2,700: the scale was applied once
    s8.price_feed.updateAnswer(s8.answer(0.5), hv.tx(hv.deployer))
    s18.price_feed.updateAnswer(s18.answer(0.5), hv.tx(hv.deployer))
    for s in (s8, s18):  # the same bound refuses the same price whatever the scale
        with reverts_with("OracleAnswerBelowMin", s.price_feed, WAD // 2, WAD):
            s.vault.oraclePrices()


def _ints(values) -> tuple:
    return tuple(int(v) for v in values)


@pytest.mark.parametrize("answer", [0, -1])
def test_a_non_positive_settlement_round_cannot_settle(hv, stacks, answer):
    """Defence: `OptionMarket._settlementPrice` (SettlementPriceInvalid): when the first round after
    expiry itself answers <= 0, the series is not settled on it."""
    s = stacks[8]
    f = s.price_feed
    rid = s.settlement_round
    f.updateRoundData(rid, answer, f.getRoundData(rid)[3], f.getRoundData(rid)[2], hv.tx(hv.deployer))
    with reverts_with("SettlementPriceInvalid", answer):
        s.market.settle(s.pending, rid, hv.tx(hv.deployer))
