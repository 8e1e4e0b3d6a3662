"""OptionMarket: listing within bounds, buying (every guard), settlement from the right oracle round,
redemption (quote first, any shortfall in base)."""

from __future__ import annotations

from brownie import chain

from tests.vault.conftest import DAY, NUM, USD, WAD, ZERO_ADDRESS, reverts_with

SPREAD_BPS = 200
MIN_BUY = WAD // 100


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------------- listing


def test_lister_lists_a_series_and_it_is_live(hv, market):
    spot = hv.spot_wad()
    expiry = chain.time() + 7 * DAY
    tx = market.listSeries(spot, expiry, True, {"from": hv.lister})
    sid = tx.return_value
    assert list(tx.events["SeriesListed"].values()) == [sid, spot, expiry, True]
    assert tuple(market.seriesOf(sid)) == (spot, expiry, True, 0)
    assert [tuple(s) for s in market.liveSeries()] == [(sid, spot, expiry, True, 0)]
    assert market.liveSeriesCount() == 1
    assert market.nextSeriesId() == sid + 1


def test_only_the_lister_lists(market, attacker, governor):
    role = market.LISTER_ROLE()
    for who in (attacker, governor):
        with reverts_with("AccessControlUnauthorizedAccount", who, role):
            market.listSeries(3_000 * WAD, chain.time() + 7 * DAY, True, {"from": who})


def test_strike_must_be_within_range_of_spot(hv, market):
    spot = hv.spot_wad()
    lo, hi = spot * 5_000 // 10_000, spot * 20_000 // 10_000
    expiry = chain.time() + 7 * DAY
    with reverts_with("StrikeOutOfRange", lo - 1, lo, hi):
        market.listSeries(lo - 1, expiry, False, {"from": hv.lister})
    with reverts_with("StrikeOutOfRange", hi + 1, lo, hi):
        market.listSeries(hi + 1, expiry, True, {"from": hv.lister})
    hv.list_series_at(lo, expiry, False)
    hv.list_series_at(hi, expiry, True)


def test_expiry_must_be_within_range(hv, market):
    spot = hv.spot_wad()
    too_soon = chain.time() + 3_600 - 60
    too_late = chain.time() + 90 * DAY + 60
    with reverts_with("ExpiryOutOfRange", too_soon, NUM, NUM):
        market.listSeries(spot, too_soon, True, {"from": hv.lister})
    with reverts_with("ExpiryOutOfRange", too_late, NUM, NUM):
        market.listSeries(spot, too_late, True, {"from": hv.lister})


def test_live_series_are_capped_and_settling_frees_a_slot(hv, market):
    ids = [hv.list_series(5_000 + 1_000 * i, 3_600 + 60, True) for i in range(8)]
    with reverts_with("LiveSeriesCapReached", 8):
        market.listSeries(hv.spot_wad(), chain.time() + 7 * DAY, True, {"from": hv.lister})
    hv.settle(ids[3])
    assert market.liveSeriesCount() == 7
    hv.list_series(10_000, 7 * DAY, False)
    assert market.liveSeriesCount() == 8


# ------------------------------------------------------------------------- buying


def test_buy_charges_the_markets_own_quote_and_mints_positions(hv, market, vault, buyer, depositor):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(9_000, 7 * DAY, True)
    nav_before = vault.totalAssets()
    vault_usd = hv.usdc.balanceOf(vault)
    tx = hv.buy(buyer, sid, 2 * WAD)
    premium = tx.return_value
    # The quote evaluated in the buy's own block is what was charged.
    assert premium == market.quote.call(sid, 2 * WAD, block_identifier=tx.block_number)
    assert premium > 0
    assert hv.usdc.balanceOf(vault) - vault_usd == premium
    assert market.balanceOf(buyer, sid) == 2 * WAD
    assert market.seriesOf(sid)[3] == 2 * WAD
    ev = tx.events["OptionBought"]
    assert (ev["id"], ev["buyer"], ev["amountWad"], ev["premium"]) == (sid, buyer, 2 * WAD, premium)
    assert (ev["spotWad"], ev["volWad"]) == (hv.spot_wad(), hv.vol_wad())
    # The spread stays in the vault: NAV never falls on a sale.
    assert vault.totalAssets() >= nav_before


def test_premium_is_linear_in_amount_up_to_rounding(hv, market, depositor):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(11_000, 30 * DAY, True)
    one, ten = market.quote(sid, WAD), market.quote(sid, 10 * WAD)
    assert abs(ten - 10 * one) <= 10


def test_buy_after_deadline_reverts(hv, market, buyer, depositor):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(10_000, 7 * DAY, True)
    deadline = chain.time() - 1
    with reverts_with("DeadlinePassed", deadline, NUM):
        market.buy(sid, WAD, 10**12, deadline, {"from": buyer})


def test_buy_below_minimum_amount_reverts(hv, market, buyer):
    sid = hv.list_series(10_000, 7 * DAY, True)
    with reverts_with("AmountBelowMinimum", MIN_BUY - 1, MIN_BUY):
        market.buy(sid, MIN_BUY - 1, 10**12, chain.time() + 600, {"from": buyer})


def test_buy_above_max_premium_reverts(hv, market, buyer, depositor):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(9_000, 7 * DAY, True)
    max_premium = market.quote(sid, WAD) // 2
    hv.mint_usd(buyer, 10**12)
    hv.usdc.approve(market, 10**12, {"from": buyer})
    with reverts_with("PremiumAboveMax", NUM, max_premium):
        market.buy(sid, WAD, max_premium, chain.time() + 600, {"from": buyer})


def test_buy_too_close_to_expiry_reverts(hv, market, buyer, depositor):
    hv.deposit(depositor, 100_000 * USD)
    expiry = chain.time() + 3_600 + 30
    sid = hv.list_series_at(hv.spot_wad(), expiry, True)
    hv.advance(3_600 + 30 - 600 + 5)
    with reverts_with("SeriesTooCloseToExpiry", sid, expiry, 600):
        market.buy(sid, WAD, 10**12, chain.time() + 600, {"from": buyer})


def test_buy_unknown_or_settled_series_reverts(hv, market, buyer, depositor):
    hv.deposit(depositor, 100_000 * USD)
    with reverts_with("SeriesUnknown", 99):
        market.buy(99, WAD, 10**12, chain.time() + 600, {"from": buyer})
    sid = hv.list_series(10_000, 3_600 + 60, True)
    hv.settle(sid)
    with reverts_with("SeriesNotLive", sid):
        market.buy(sid, WAD, 10**12, chain.time() + 600, {"from": buyer})
    with reverts_with("SeriesNotLive", sid):
        market.quote(sid, WAD)


def test_write_beyond_initial_margin_reverts(hv, market, vault, buyer, depositor):
    hv.deposit(depositor, 10_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    premium = market.quote(sid, 10 * WAD) * 2
    hv.mint_usd(buyer, premium)
    hv.usdc.approve(market, premium, {"from": buyer})
    with reverts_with("MarginInsufficient", NUM, NUM):
        market.buy(sid, 10 * WAD, premium, chain.time() + 600, {"from": buyer})
    # The same size fits once the vault has the capital.
    hv.deposit(depositor, 10_000 * USD)
    market.buy(sid, 10 * WAD, premium, chain.time() + 600, {"from": buyer})
    v = vault.valuation()
    assert v[1] >= v[2] * 2_000 // 10_000


def test_put_heavy_write_beyond_residual_delta_limit_reverts(hv, market, vault, buyer, depositor):
    hv.deposit(depositor, 1_000_000 * USD)
    sid = hv.list_series(20_000, 7 * DAY, False)  # deep in the money: delta close to -1 per put
    hv.buy(buyer, sid, 19 * WAD)
    assert -20 * WAD < vault.valuation()[3] < -18 * WAD
    premium = market.quote(sid, 2 * WAD) * 2
    hv.mint_usd(buyer, premium)
    hv.usdc.approve(market, premium, {"from": buyer})
    with reverts_with("ResidualDeltaTooLarge", NUM, 20 * WAD):
        market.buy(sid, 2 * WAD, premium, chain.time() + 600, {"from": buyer})


def test_no_writes_in_emergency(hv, market, vault, buyer, depositor):
    hv.deposit(depositor, 12_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 7 * WAD)
    hv.move_price(3_900)
    vault.updateMarginState({"from": buyer})
    assert vault.hedgeState()[2]
    with reverts_with("EmergencyMode"):
        market.buy(sid, MIN_BUY, 10**12, chain.time() + 600, {"from": buyer})
    with reverts_with("EmergencyMode"):
        vault.checkWrite()


def test_no_writes_while_paused(hv, market, vault, buyer, depositor, guardian):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(10_000, 7 * DAY, True)
    vault.pause({"from": guardian})
    hv.mint_usd(buyer, 10**12)
    hv.usdc.approve(market, 10**12, {"from": buyer})
    with reverts_with("EnforcedPause"):
        market.buy(sid, WAD, 10**12, chain.time() + 600, {"from": buyer})


def test_only_the_market_calls_payout(vault, attacker):
    with reverts_with("OnlyMarket", attacker):
        vault.payout(attacker, 1, {"from": attacker})


def test_vault_is_wired_once(hv, market, vault, governor):
    with reverts_with("AccessControlUnauthorizedAccount", governor, "0x" + "00" * 32):
        market.initializeVault(ZERO_ADDRESS, {"from": governor})
    with reverts_with("VaultAlreadySet", vault):
        market.initializeVault(ZERO_ADDRESS, {"from": hv.as_timelock()})


# ------------------------------------------------------------------------- settlement


def _expiring_series(hv, buyer, depositor, strike_bps=9_000, is_call=True, amount=2 * WAD, expiry_in=3_600 + 60):
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(strike_bps, expiry_in, is_call)
    hv.buy(buyer, sid, amount)
    return sid, hv.market.seriesOf(sid)[1]


def test_settle_before_expiry_reverts(hv, market, buyer, depositor):
    sid, expiry = _expiring_series(hv, buyer, depositor)
    with reverts_with("SeriesNotExpired", sid, expiry):
        market.settle(sid, hv.price_feed.latestRound(), {"from": buyer})


def test_settle_with_a_round_from_before_expiry_is_refused_as_too_early(hv, market, buyer, depositor):
    sid, expiry = _expiring_series(hv, buyer, depositor)
    before = hv.price_feed.latestRound()
    updated_at = hv.price_feed.getRoundData(before)[3]
    chain.sleep(expiry - chain.time() + 1)
    hv.refresh_oracles()
    with reverts_with("SettlementRoundTooEarly", before, updated_at, expiry):
        market.settle(sid, before, {"from": buyer})


def test_settle_with_a_round_the_feed_never_answered_is_refused_as_too_early(hv, market, buyer, depositor):
    """A round id past the latest: the aggregator answers zeros (updatedAt 0, answer 0), which is
    before any expiry, so it is refused on its time before its price is looked at."""
    sid, expiry = _expiring_series(hv, buyer, depositor)
    chain.sleep(expiry - chain.time() + 1)
    hv.refresh_oracles()
    unanswered = hv.price_feed.latestRound() + 5
    assert tuple(hv.price_feed.getRoundData(unanswered))[1:4] == (0, 0, 0)
    with reverts_with("SettlementRoundTooEarly", unanswered, 0, expiry):
        market.settle(sid, unanswered, {"from": buyer})


def test_settle_with_a_later_round_than_the_first_is_refused_as_not_first(hv, market, buyer, depositor):
    sid, expiry = _expiring_series(hv, buyer, depositor)
    chain.sleep(expiry - chain.time() + 1)
    hv.set_price(3_100)
    first = hv.price_feed.latestRound()
    first_at = hv.price_feed.getRoundData(first)[3]
    chain.sleep(60)
    hv.set_price(3_200)
    second = hv.price_feed.latestRound()
    with reverts_with("SettlementRoundNotFirst", second, first, first_at):
        market.settle(sid, second, {"from": buyer})
    market.settle(sid, first, {"from": buyer})
    assert market.settledSeries(sid)[1] == 3_100 * WAD - market.settledSeries(sid)[0][0]


def test_the_first_round_three_hours_after_expiry_settles(hv, market, buyer, depositor):
    """No round inside the old one-hour window (the feed was silent for three hours after
    expiry): the first round after expiry, whenever it came, is the settlement round."""
    sid, expiry = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    strike = market.seriesOf(sid)[0]
    chain.sleep(expiry - chain.time() + 3 * 3_600)
    hv.set_price(3_150)
    first = hv.price_feed.latestRound()
    assert hv.price_feed.getRoundData(first)[3] >= expiry + 3 * 3_600
    ev = market.settle(sid, first, {"from": buyer}).events["SeriesSettled"]
    assert (ev["id"], ev["roundId"], ev["settlementPriceWad"]) == (sid, first, 3_150 * WAD)
    assert ev["payoffPerUnitWad"] == 3_150 * WAD - strike


def test_a_round_days_after_expiry_settles_at_its_price_and_only_it(hv, market, buyer, depositor):
    """The feed's next round comes five days after expiry, then the price runs on: the series
    settles at that first round's price; the last round before expiry is too early and any
    later round is not the first, each refused with the rounds that prove it."""
    sid, expiry = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    strike = market.seriesOf(sid)[0]
    before = hv.price_feed.latestRound()
    before_at = hv.price_feed.getRoundData(before)[3]
    chain.sleep(expiry - chain.time() + 5 * DAY)
    hv.set_price(3_400)
    first = hv.price_feed.latestRound()
    first_at = hv.price_feed.getRoundData(first)[3]
    for price in (3_500, 3_600):
        chain.sleep(3_600)
        hv.set_price(price)
    later = hv.price_feed.latestRound()
    assert first == before + 1 and first_at >= expiry + 5 * DAY and later == first + 2
    later_previous_at = hv.price_feed.getRoundData(later - 1)[3]

    with reverts_with("SettlementRoundTooEarly", before, before_at, expiry):
        market.settle(sid, before, {"from": buyer})
    with reverts_with("SettlementRoundNotFirst", later, later - 1, later_previous_at):
        market.settle(sid, later, {"from": buyer})
    assert hv.settlement_round(expiry) == first
    ev = market.settle(sid, first, {"from": buyer}).events["SeriesSettled"]
    assert (ev["roundId"], ev["settlementPriceWad"], ev["payoffPerUnitWad"]) == (first, 3_400 * WAD, 3_400 * WAD - strike)


def test_a_hint_whose_previous_round_the_feed_lacks_is_the_first_there_is(hv, market, buyer, depositor):
    """A round with no round before it (a Chainlink proxy's first round of a phase; here the mock
    jumps its round id, so the round before answers zeros) is the first round there is: it settles
    if updated at or after expiry."""
    sid, expiry = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    chain.sleep(expiry - chain.time() + 2 * DAY)
    jumped = hv.price_feed.latestRound() + 100
    now = chain.time()
    hv.price_feed.updateRoundData(jumped, 3_250 * 10**8, now, now, {"from": hv.deployer})
    assert hv.price_feed.getRoundData(jumped - 1)[3] == 0
    ev = market.settle(sid, jumped, {"from": buyer}).events["SeriesSettled"]
    assert (ev["roundId"], ev["settlementPriceWad"]) == (jumped, 3_250 * WAD)


def test_deposits_wait_for_no_more_than_one_settle_call(hv, market, vault, buyer, depositor, depositor2, attacker):
    """An expired series whose feed posts its next round two days after expiry: deposits are
    refused (SettlementPending) until then, and right after it, until a stranger settles with the
    round the keeper's finder returns (keeper/settlement.py, bisection on the feed). One call, and
    the next deposit goes through; no governance step, no window to widen."""
    from brownie import web3

    from keeper.chain import RpcClient
    from keeper.settlement import Settler

    sid, expiry = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    hv.mint_usd(depositor2, 2_000 * USD)
    hv.usdc.approve(vault, 2_000 * USD, {"from": depositor2})
    chain.sleep(expiry - chain.time() + 2 * DAY)
    hv.refresh_oracles()  # the feeds' first rounds since expiry: the oracle is fresh again
    with reverts_with("SettlementPending", sid):
        vault.deposit(1_000 * USD, depositor2, {"from": depositor2})
    assert vault.maxDeposit(depositor2) == 0

    settler = Settler(RpcClient([web3.provider.endpoint_uri]), market.address, hv.price_feed.address)
    round_id = settler.settlement_round(expiry)
    assert round_id == hv.price_feed.latestRound()
    market.settle(sid, round_id, {"from": attacker})
    assert market.settledSeries(sid)[2]
    assert vault.deposit(1_000 * USD, depositor2, {"from": depositor2}).events["Deposit"]["assets"] == 1_000 * USD


def test_settle_with_a_non_positive_price_reverts(hv, market, buyer, depositor):
    sid, expiry = _expiring_series(hv, buyer, depositor)
    chain.sleep(expiry - chain.time() + 1)
    hv.price_feed.updateAnswer(0, {"from": hv.deployer})
    with reverts_with("SettlementPriceInvalid", 0):
        market.settle(sid, hv.price_feed.latestRound(), {"from": buyer})


def test_settle_unknown_series_reverts(market, buyer):
    with reverts_with("SeriesUnknown", 42):
        market.settle(42, 1, {"from": buyer})


def test_anyone_settles_once_and_the_payoff_is_reserved(hv, market, vault, buyer, depositor, attacker):
    sid, expiry = _expiring_series(hv, buyer, depositor, strike_bps=9_000, amount=3 * WAD)
    strike = market.seriesOf(sid)[0]
    tx = hv.settle(sid, price_usd=3_150, caller=attacker)
    payoff = 3_150 * WAD - strike
    owed = _ceil_div(_ceil_div(payoff * 3 * WAD, WAD), 10**12)
    ev = tx.events["SeriesSettled"]
    assert (ev["id"], ev["settlementPriceWad"], ev["payoffPerUnitWad"], ev["owed"]) == (sid, 3_150 * WAD, payoff, owed)
    assert market.owedQuote() == owed
    assert market.liveSeriesCount() == 0
    series, payoff_per_unit, settled = market.settledSeries(sid)
    assert (tuple(series), payoff_per_unit, settled) == ((strike, expiry, True, 3 * WAD), payoff, True)
    with reverts_with("SeriesNotLive", sid):
        market.settle(sid, ev["roundId"], {"from": attacker})
    # LPs cannot withdraw the quote that is reserved for the payoff.
    free = hv.usdc.balanceOf(vault) - owed
    assert vault.maxWithdraw(depositor) <= free


def test_out_of_the_money_series_settles_to_zero(hv, market, buyer, depositor):
    sid, _ = _expiring_series(hv, buyer, depositor, strike_bps=9_000, is_call=False)
    tx = hv.settle(sid, price_usd=3_000)
    assert tx.events["SeriesSettled"]["owed"] == 0
    before = hv.usdc.balanceOf(buyer)
    assert market.redeem(sid, 2 * WAD, {"from": buyer}).return_value == 0
    assert hv.usdc.balanceOf(buyer) == before
    assert market.balanceOf(buyer, sid) == 0


# ------------------------------------------------------------------------- redemption


def test_redeem_before_settlement_reverts(hv, market, buyer, depositor):
    sid, _ = _expiring_series(hv, buyer, depositor)
    with reverts_with("SeriesNotSettled", sid):
        market.redeem(sid, WAD, {"from": buyer})
    with reverts_with("SeriesNotSettled", 77):
        market.redeem(77, WAD, {"from": buyer})


def test_redeem_pays_the_payoff_in_quote_rounded_down(hv, market, buyer, depositor):
    sid, _ = _expiring_series(hv, buyer, depositor, strike_bps=11_000, is_call=False, amount=3 * WAD)
    strike = market.seriesOf(sid)[0]
    hv.settle(sid, price_usd=2_987.654321)
    payoff = strike - 2_987_654_321 * 10**12
    owed = market.owedQuote()
    before = hv.usdc.balanceOf(buyer)
    amount = 1_234_567_890_123_456_789
    tx = market.redeem(sid, amount, {"from": buyer})
    expected = payoff * amount // WAD // 10**12
    assert tx.return_value == expected
    assert hv.usdc.balanceOf(buyer) - before == expected
    assert list(tx.events["PaidOut"].values()) == [buyer, expected, 0, 0]
    assert market.owedQuote() == owed - expected
    market.redeem(sid, 3 * WAD - amount, {"from": buyer})
    # Per-holder rounding leaves at most a unit or two of dust reserved.
    assert 0 <= market.owedQuote() <= 2


def test_redeem_more_than_held_reverts(hv, market, buyer, depositor):
    sid, _ = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    hv.settle(sid, price_usd=3_100)
    with reverts_with("ERC1155InsufficientBalance", buyer, 2 * WAD, 2 * WAD + 1, sid):
        market.redeem(sid, 2 * WAD + 1, {"from": buyer})


def test_redeem_pays_quote_first_then_the_shortfall_in_base(hv, market, vault, buyer, depositor):
    hv.deposit(depositor, 10_000 * USD)
    sid = hv.list_series(5_000, 3_600 + 60, True)
    hv.buy(buyer, sid, 5 * WAD)
    hv.rebalance()  # the vault now holds ~5 WETH and little quote
    strike = market.seriesOf(sid)[0]
    hv.settle(sid, price_usd=3_300)
    owed = market.owedQuote()
    quote_bal, base_bal = hv.usdc.balanceOf(vault), hv.weth.balanceOf(vault)
    assert quote_bal < owed
    tx = market.redeem(sid, 5 * WAD, {"from": buyer})
    payout = (3_300 * WAD - strike) * 5 // 10**12
    assert tx.return_value == payout
    base_paid = (payout - quote_bal) * 10**12 * WAD // (3_300 * WAD)
    assert list(tx.events["PaidOut"].values()) == [buyer, quote_bal, base_paid, 3_300 * WAD]
    assert hv.usdc.balanceOf(vault) == 0
    assert hv.weth.balanceOf(vault) == base_bal - base_paid
    assert hv.weth.balanceOf(buyer) == base_paid


def test_redeem_reverts_when_the_vault_cannot_pay(hv, market, vault, buyer, depositor):
    """An unhedged vault after an extreme move (3x in one period): the payout path says exactly
    how much base it lacks rather than paying part of it."""
    hv.deposit(depositor, 10_000 * USD)
    sid = hv.list_series(5_000, 3_600 + 60, True)
    hv.buy(buyer, sid, 5 * WAD)
    hv.settle(sid, price_usd=9_000)
    quote_bal = hv.usdc.balanceOf(vault)
    payout = market.owedQuote()
    assert payout > quote_bal
    needed = (payout - quote_bal) * 10**12 * WAD // (9_000 * WAD)
    with reverts_with("InsufficientFunds", needed, 0):
        market.redeem(sid, 5 * WAD, {"from": buyer})


def test_redemptions_still_work_while_paused(hv, market, vault, buyer, depositor, guardian):
    sid, _ = _expiring_series(hv, buyer, depositor, strike_bps=9_000)
    hv.settle(sid, price_usd=3_100)
    vault.pause({"from": guardian})
    assert market.redeem(sid, 2 * WAD, {"from": buyer}).return_value > 0
