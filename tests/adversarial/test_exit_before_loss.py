"""Item 4: leaving before a known loss.

Defence: every deposit, withdrawal and redemption values the vault at that moment
(`HedgeVault.withdraw/redeem` -> `_valuation`: the whole book re-marked with Black-Scholes at the
oracle spot and implied vol, owed payoffs of settled series deducted), once per transaction, and
converts rounding in the vault's favour. So an LP who exits after an adverse move gets at most
its pro-rata share of the post-move NAV: the loss the marks show is taken with it.

The pro-rata check is exact. In the exit's own block: NAV after the exit + the assets paid out =
the NAV the exit converted at (paying quote lowers equity by exactly that amount), and supply after
+ shares burned = supply before; the payout must not exceed burned x (NAV + 1) / (supply + 10**6).
A withdrawal that converted at a stale (pre-move) valuation fails it.

The window between expiry and settlement is the exception: an expired series is marked at
intrinsic value at the *live* price until someone settles it with the first round after expiry.
`test_deposit_settle_redeem_in_one_transaction_is_refused` is the attack this opened (found by this
suite, fixed: deposits wait for settlement); `test_residual_...` bounds what is left.
"""

from __future__ import annotations

import pytest
from brownie import FlashManipulator, chain

from tests.vault.conftest import DAY, USD, WAD, reverts_with

OFFSET = 10**6


def _exit_and_check_pro_rata(hv, vault, who, shares):
    """Redeem `shares` for `who`; assert the payout <= the pro-rata NAV it converted at (exact, see
    the module docstring). Returns (assets paid, NAV before the exit in that block, supply before)."""
    tx = vault.redeem(shares, who, who, hv.tx(who))
    out, burned = tx.events["Withdraw"]["assets"], tx.events["Withdraw"]["shares"]
    nav_after = vault.totalAssets.call(block_identifier=tx.block_number)
    supply_after = vault.totalSupply.call(block_identifier=tx.block_number)
    nav_pre, supply_pre = nav_after + out, supply_after + burned
    assert out * (supply_pre + OFFSET) <= burned * (nav_pre + 1), "exit paid above its pro-rata NAV"
    return out, nav_pre, supply_pre, tx


@pytest.mark.parametrize("move", ["price", "vol", "price and vol"])
def test_exit_after_an_adverse_move_takes_its_share_of_the_loss(hv, vault, attacker, depositor, buyer, move):
    """Defence: re-marking the whole book at the current oracle spot and vol inside every exit
    (`_valuation` in `redeem`). Two LPs of 200k each, 20 at-the-money 30-day calls written
    unhedged; then the price jumps 15% and/or implied vol goes 80% -> 150%. The LP who runs gets at
    most its pro-rata post-move NAV, strictly less than before the move, and the LP who stays is
    left with at least the same value per share as the runner got."""
    hv.deposit(attacker, 200_000 * USD)
    hv.deposit(depositor, 200_000 * USD)
    sid = hv.list_series(10_000, 30 * DAY, True)
    hv.buy(buyer, sid, 20 * WAD)
    # All but 0.01%: maxRedeem itself is the balance less a rounding residue (shares -> assets ->
    # shares, both floored) that depends on the NAV of the block, so it moves with the block times.
    shares = vault.balanceOf(attacker) * 9_999 // 10_000
    assert vault.maxRedeem(attacker) >= shares
    before_move = vault.previewRedeem(shares)
    if "price" in move:
        hv.move_price(3_450)
    if "vol" in move:
        hv.set_vol(1.5)
    after_move = vault.previewRedeem(shares)
    assert after_move < before_move - 1_000 * USD, "the move should show as a loss in the marks"
    assert vault.maxRedeem(attacker) >= shares  # margin does not stop the exit here

    out, _, _, tx = _exit_and_check_pro_rata(hv, vault, attacker, shares)
    assert out < before_move - 1_000 * USD
    # The stayer's value per share after the exit is no lower than the runner's exit price.
    block = tx.block_number
    stay_shares = vault.balanceOf(depositor)
    stay_value = vault.convertToAssets.call(stay_shares, block_identifier=block)
    assert stay_value * shares >= out * stay_shares - shares  # per share, up to one unit of rounding


def test_exit_after_settlement_pays_the_post_settlement_value(hv, vault, market, attacker, depositor, buyer):
    """Defence: owed payoffs of settled series are deducted from NAV (`_holdings().owedWad`) and the
    quote reserved for them is not withdrawable (`_maxWithdraw`: freeQuote). Calls expire 600 USDC in
    the money on 10 WETH; after settlement an LP exits with at most its pro-rata share of
    (quote - owed), and the holders are then paid in full."""
    hv.deposit(attacker, 100_000 * USD)
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(9_000, 3_700, True)
    hv.buy(buyer, sid, 10 * WAD)
    hv.settle(sid, price_usd=3_300)
    owed = market.owedQuote()
    assert owed == 6_000 * USD
    assert vault.totalAssets() == hv.usdc.balanceOf(vault) - owed  # no base, nothing live
    out, nav_pre, _, _ = _exit_and_check_pro_rata(hv, vault, attacker, vault.balanceOf(attacker))
    assert nav_pre == hv.usdc.balanceOf(vault) + out - owed
    assert hv.usdc.balanceOf(vault) >= owed
    paid = market.redeem(sid, 10 * WAD, hv.tx(buyer)).return_value
    assert paid == owed


@pytest.fixture
def pending_settlement(hv, vault, depositor, buyer):
    """1M USDC in the vault; 50 at-the-money calls expire with the first round after expiry at 3,000
    (worth 0), then the price rises to 3,300: until someone settles, the series is marked at the
    live price's intrinsic value, 300 x 50 = 15,000 USDC more than the vault will owe."""
    hv.deposit(depositor, 1_000_000 * USD)
    sid = hv.list_series(10_000, 3_700, True)
    hv.buy(buyer, sid, 50 * WAD)
    expiry = hv.market.seriesOf(sid)[1]
    chain.sleep(expiry - chain.time() + 1)
    hv.move_price(3_000)
    rid = hv.settlement_round(expiry)
    hv.advance(600, refresh=False)
    hv.move_price(3_300)
    return sid, rid


def test_deposit_settle_redeem_in_one_transaction_is_refused(hv, vault, market, attacker, pending_settlement):
    """Defence: deposits and mints wait for settlement (`HedgeVault._checkCap` ->
    `OptionMarket.expiredUnsettled`, SettlementPending). The attack, in one transaction: deposit 5M
    USDC while the expired series is over-marked at the live price, settle it with its real round
    (the liability drops 15,000 USDC), redeem every share. Before the fix this returned ~12,500 USDC
    profit (5/6 of the mark gap) to the attacker, taken from the LPs. Now the deposit reverts; the
    honest order (settle first, then enter) makes nothing."""
    sid, rid = pending_settlement
    m = FlashManipulator.deploy(hv.pair, hv.weth, hv.usdc, {"from": attacker, "silent": True})
    hv.mint_usd(m, 5_000_000 * USD)
    m.exec(hv.usdc, hv.usdc.approve.encode_input(vault, 2**256 - 1), hv.tx(attacker))
    deposit = vault.deposit.encode_input(5_000_000 * USD, m)
    settle = market.settle.encode_input(sid, rid)
    shares = vault.previewDeposit(5_000_000 * USD)
    redeem = vault.redeem.encode_input(shares, m, m)
    assert vault.maxDeposit(m) == 0 and vault.maxMint(m) == 0
    with reverts_with("SettlementPending", sid):
        m.batch([vault, market, vault], [deposit, settle, redeem], hv.tx(attacker))
    with reverts_with("SettlementPending", sid):
        m.exec(vault, vault.mint.encode_input(10**12, m), hv.tx(attacker))

    m.batch([market], [settle], hv.tx(attacker))  # anyone may settle; then entering is fair
    shares = vault.previewDeposit(5_000_000 * USD)
    m.batch([vault, vault], [deposit, vault.redeem.encode_input(shares, m, m)], hv.tx(attacker))
    assert hv.usdc.balanceOf(m) <= 5_000_000 * USD


def test_residual_an_lp_exiting_before_settlement_gains_at_most_its_share_of_the_mark_gap(hv, vault, market, attacker,
                                                                                        depositor, buyer):
    """Residual risk, bounded (docs/SECURITY.md): withdrawals are not blocked while a series awaits
    settlement (blocking them would lock LPs in if a settlement round never comes). An LP present at
    expiry can exit at the live-price intrinsic mark before anyone settles; against the settled value
    it gains at most its share x open x |intrinsic(live) - intrinsic(settlement price)|. Settling
    promptly (permissionless; the keeper's job) closes the window."""
    hv.deposit(attacker, 500_000 * USD)
    hv.deposit(depositor, 500_000 * USD)
    sid = hv.list_series(10_000, 3_700, True)
    hv.buy(buyer, sid, 50 * WAD)
    expiry = market.seriesOf(sid)[1]
    chain.sleep(expiry - chain.time() + 1)
    hv.move_price(3_300)  # settlement round: 300 in the money, 15,000 USDC owed
    rid = hv.settlement_round(expiry)
    hv.advance(600, refresh=False)
    hv.move_price(3_000)  # live price back at the strike: marked at 0 until settled
    shares = vault.balanceOf(attacker)
    supply = vault.totalSupply()
    chain.snapshot()
    market.settle(sid, rid, hv.tx(depositor))
    fair = vault.previewRedeem(shares)
    chain.revert()
    out = vault.redeem(shares, attacker, attacker, hv.tx(attacker)).return_value
    gap = 50 * 300 * USD
    assert out - fair <= gap * shares // (supply + OFFSET) + 1, (out - fair, gap * shares // supply)
    market.settle(sid, rid, hv.tx(depositor))  # settlement still pays the holder in full
    assert market.redeem(sid, 50 * WAD, hv.tx(buyer)).return_value == 15_000 * USD
