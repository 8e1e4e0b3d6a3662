"""The keeper settles expired series (real Anvil, the deployed stack, the keeper service).

Until a series is settled its holders cannot redeem and the vault refuses deposits
(`SettlementPending`, the fix for the deposit-settle-redeem attack in tests/adversarial), so the
keeper settles, with the first price round at or after expiry (however late it came), found by
bisection on the feed.
"""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from keeper.errors import decode_revert
from keeper.settlement import Settler

from keeper_helpers import metric

WAD = 10**18
HOUR = 3_600
DAY = 86_400


def tick(service):
    for r in service.runners:
        r.next_allowed = 0.0
    [decision] = service.tick_all()
    return decision


def tick_until_quiet(service, market, max_ticks: int = 6) -> None:
    """Tick until a tick sends nothing (a rebalance or a settlement each take one), with the pool
    arbitraged back to the oracle between ticks, as it is on a live market."""
    for _ in range(max_ticks):
        market.arbitrage_to_oracle()
        before = len(service.journal.all_txs())
        assert tick(service) is not None, "tick failed"
        if len(service.journal.all_txs()) == before:
            return
    raise AssertionError("the keeper kept sending")


def settled(market, series_id: int) -> tuple[bool, int]:
    _, payoff_per_unit, is_settled = market.market.functions.settledSeries(series_id).call()
    return is_settled, payoff_per_unit


def deposit_refused(market, who: str) -> str | None:
    market._fund(who, usd=1_000 * 10**6)
    market.send(market.usd.functions.approve(market.vault.address, 1_000 * 10**6), who)
    try:
        market.vault.functions.deposit(1_000 * 10**6, who).call({"from": who})
    except ContractLogicError as exc:
        return decode_revert(exc.data)
    return None


@pytest.fixture
def expiring_book(market, accounts):
    """1M USDC of deposits, a 2-hour at-the-money call and a 30-day one, both bought."""
    market.deposit(accounts[5], 1_000_000)
    short = market.list_series(3000, market.now() + 2 * HOUR, True)
    market.buy(accounts[6], short, 5)
    market.buy(accounts[6], market.list_series(3000, market.now() + 30 * 86_400, True), 5)
    return short


def test_keeper_settles_with_the_first_round_after_expiry_and_deposits_reopen(market, accounts, make_service,
                                                                               expiring_book):
    service = make_service()
    tick_until_quiet(service, market)  # the opening hedge
    expiry = market.market.functions.seriesOf(expiring_book).call()[1]

    # Expired, but the latest price round is from before expiry: nothing to settle with yet.
    market.advance(expiry - market.now() - 60)
    market.refresh_oracles()
    market.advance(120)
    assert deposit_refused(market, accounts[9]) == f"SettlementPending(seriesId={expiring_book})"
    tick_until_quiet(service, market)  # the expired call's delta fell to its step: the hedge may follow it
    assert settled(market, expiring_book) == (False, 0)
    assert not [t for t in service.journal.all_txs() if t.note.startswith("settle")]

    # Three rounds after expiry: the first one (3,300) settles, not the latest (3,500).
    for price in (3300, 3400, 3500):
        market.set_price(price)
        market.arbitrage_to_oracle()
        market.advance(60)
    market.refresh_oracles()
    tick_until_quiet(service, market)
    assert settled(market, expiring_book) == (True, 300 * WAD)
    assert metric(service, "hv_settlements_total", vault="eth") == 1
    assert deposit_refused(market, accounts[9]) is None
    notes = [t.note for t in service.journal.all_txs()]
    assert notes.count(f"settle series {expiring_book}") == 1


def test_keeper_settles_with_a_round_days_after_expiry(market, accounts, make_service, expiring_book):
    """The feed is silent for two days after expiry (no round in any hour-long window), then runs
    on: the keeper finds the first round after expiry and settles at its price, not the latest's,
    and deposits reopen."""
    service = make_service()
    tick_until_quiet(service, market)
    expiry = market.market.functions.seriesOf(expiring_book).call()[1]
    market.advance(expiry - market.now() + 2 * DAY)
    market.set_price(3300)  # the first round since expiry, two days late
    first = market.price_feed.functions.latestRoundData().call()[0]
    market.set_vol(market.vol_feed.functions.latestRoundData().call()[1] / 10**8)
    for price in (3400, 3500):
        market.advance(HOUR)
        market.set_price(price)
    assert deposit_refused(market, accounts[9]) == f"SettlementPending(seriesId={expiring_book})"
    settler = Settler(service.rpc, market.market.address, market.price_feed.address)
    assert settler.settlement_round(expiry) == first

    tick_until_quiet(service, market)
    assert settled(market, expiring_book) == (True, 300 * WAD)
    assert metric(service, "hv_settlements_total", vault="eth") == 1
    assert deposit_refused(market, accounts[9]) is None


def test_a_settlement_the_market_refuses_is_skipped_and_the_hedge_goes_on(market, accounts, make_service,
                                                                          expiring_book):
    """The first round after expiry answers 0 (a broken feed update, fixed in the next round): the
    market refuses to settle on it (`SettlementPriceInvalid`) and the first round cannot be skipped;
    the keeper logs the refusal, retries later, and keeps ticking well instead of failing every tick."""
    service = make_service()
    tick_until_quiet(service, market)
    expiry = market.market.functions.seriesOf(expiring_book).call()[1]
    spot = market.spot()
    market.advance(expiry - market.now() + 60)
    market.set_price(0)
    market.advance(60)
    market.set_price(spot)
    market.set_vol(market.vol_feed.functions.latestRoundData().call()[1] / 10**8)
    refused = 'hv_failed_simulations_total'
    for _ in range(6):  # a rebalance may come first: settlements wait for a tick with no hedge due
        market.arbitrage_to_oracle()
        assert tick(service) is not None  # no tick fails
        if metric(service, refused, vault="eth", reason="SettlementPriceInvalid"):
            break
    assert metric(service, refused, vault="eth", reason="SettlementPriceInvalid") == 1
    assert metric(service, "hv_ticks_total", vault="eth", outcome="hold") >= 1
    assert not [t for t in service.journal.all_txs() if t.note.startswith("settle")]
    assert settled(market, expiring_book) == (False, 0)
    # Not retried on the next tick (the retry waits), so the failure is not counted again.
    tick(service)
    assert metric(service, refused, vault="eth", reason="SettlementPriceInvalid") == 1


def test_bisection_finds_the_first_round_at_or_after_expiry(market, chain):
    node, deployment = chain
    from keeper.chain import RpcClient

    settler = Settler(RpcClient([node.url]), deployment.address("option_market"), deployment.address("price_feed"))
    times = []
    for price in (3000, 3010, 3020, 3030, 3040, 3050, 3060):
        market.advance(100)  # rounds 100 s apart, the first 100 s after the deployment's
        market.set_price(price)
        times.append((market.price_feed.functions.latestRoundData().call()[0], market.now()))
    for round_id, updated_at in times:
        assert settler.settlement_round(updated_at) == round_id
        assert settler.settlement_round(updated_at - 1) == round_id
    assert settler.settlement_round(times[-1][1] + 1) is None
