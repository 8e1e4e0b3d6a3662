"""Item 7: reentrancy through the ERC-1155 acceptance callback, and receivers that refuse.

`OptionMarket.buy` mints the position last; `_mint` calls the buyer's `onERC1155Received`: the only
point where code a buyer controls runs inside a vault or market transaction (USDC and WETH9 have
no transfer hooks; burning options calls no hook). ReentrantReceiver re-enters from there.

Defences:
- `nonReentrant` on every market entry point that moves value (`buy`, `settle`, `redeem`): a
  re-entered call reverts with `ReentrancyGuardReentrantCall`;
- checks-effects-interactions in `buy`: the write is booked, the premium paid and the vault's
  margin checked before the callback, so a re-entered vault call (the vault's own guard is not held
  during `buy`) sees the new write: a withdrawal sized on the pre-write headroom is refused with
  `WithdrawExceedsMax`, and whatever is allowed leaves the vault above initial margin;
- settlement and redemption call no holder: a holder whose callback reverts or burns all gas can
  block only transfers to itself, never `settle` or anyone else's `redeem`.
"""

from __future__ import annotations

import pytest
from brownie import ReentrantReceiver, chain

from tests.adversarial.helpers import benchmark_gas, selector
from tests.vault.conftest import DAY, USD, WAD, reverts_with

ACCEPT, REENTER, REVERT, BURN_GAS = range(4)
GUARD = selector("ReentrancyGuardReentrantCall()")


@pytest.fixture
def receiver(hv, vault, market, attacker):
    """A hostile holder contract with 1M USDC, approved to the market and the vault."""
    r = ReentrantReceiver.deploy({"from": attacker, "silent": True})
    hv.mint_usd(r, 1_000_000 * USD)
    r.exec(hv.usdc, hv.usdc.approve.encode_input(market, 2**256 - 1), hv.tx(attacker))
    r.exec(hv.usdc, hv.usdc.approve.encode_input(vault, 2**256 - 1), hv.tx(attacker))
    return r


def _buy_call(market, sid, amount):
    return market.buy.encode_input(sid, amount, 10**12, chain.time() + 3_600)


def _reentry(r):
    return r.reentryAttempted(), r.reentrySucceeded(), bytes(r.reentryResult())


@pytest.fixture
def series(hv, depositor):
    hv.deposit(depositor, 200_000 * USD)
    return hv.list_series(9_000, 7 * DAY, True)


def test_reentering_buy_from_the_mint_callback_is_refused(hv, market, vault, receiver, series, attacker):
    """Defence: `nonReentrant` on `buy`. The receiver buys 1 option and, from its callback, tries to
    buy 5 more: the inner buy reverts with ReentrancyGuardReentrantCall, the outer completes, and
    exactly one option was written and paid for."""
    receiver.setMode(REENTER, market, _buy_call(market, series, 5 * WAD), hv.tx(attacker))
    usd_before, open_before = hv.usdc.balanceOf(receiver), market.seriesOf(series)[3]
    tx = receiver.exec(market, _buy_call(market, series, WAD), hv.tx(attacker))
    assert _reentry(receiver) == (True, False, GUARD)
    assert market.balanceOf(receiver, series) == WAD
    assert market.seriesOf(series)[3] - open_before == WAD
    premium = tx.events["OptionBought"]["premium"]
    assert usd_before - hv.usdc.balanceOf(receiver) == premium
    assert len(tx.events["OptionBought"]) == 1


@pytest.mark.parametrize("target", ["redeem", "settle"])
def test_reentering_redeem_or_settle_from_the_mint_callback_is_refused(hv, market, receiver, depositor, attacker, target):
    """Defence: `nonReentrant` on `redeem` and `settle`. The receiver holds options of a series that
    settled in the money (for redeem) or of one that expired unsettled (for settle); from a buy's
    callback it re-enters: refused with ReentrancyGuardReentrantCall, nothing redeemed or settled,
    and the same call made afterwards, outside the callback, works once."""
    hv.deposit(depositor, 200_000 * USD)
    short = hv.list_series(9_000, 3_700, True)
    receiver.exec(market, _buy_call(market, short, WAD), hv.tx(attacker))
    live = hv.list_series(9_000, 7 * DAY, True)
    expiry = market.seriesOf(short)[1]
    chain.sleep(expiry - chain.time() + 1)
    hv.set_price(3_300)
    hv.refresh_oracles()
    rid = hv.settlement_round(expiry)
    if target == "redeem":
        market.settle(short, rid, hv.tx(depositor))
        data = market.redeem.encode_input(short, WAD)
    else:
        data = market.settle.encode_input(short, rid)
    owed_before, held_before = market.owedQuote(), market.balanceOf(receiver, short)
    receiver.setMode(REENTER, market, data, hv.tx(attacker))
    receiver.exec(market, _buy_call(market, live, WAD // 10), hv.tx(attacker))
    assert _reentry(receiver) == (True, False, GUARD)
    assert (market.owedQuote(), market.balanceOf(receiver, short)) == (owed_before, held_before)
    receiver.setMode(ACCEPT, market, b"", hv.tx(attacker))
    receiver.exec(market, data, hv.tx(attacker))  # outside the callback: it works, once
    if target == "redeem":
        assert market.balanceOf(receiver, short) == 0
        with reverts_with("ERC1155InsufficientBalance", receiver, 0, WAD, short):
            receiver.exec(market, data, hv.tx(attacker))
    else:
        assert market.settledSeries(short)[2]
        with reverts_with("SeriesNotLive", short):
            receiver.exec(market, data, hv.tx(attacker))


def test_a_vault_withdrawal_from_the_callback_sees_the_new_write(hv, vault, market, receiver, attacker):
    """Defence: checks-effects-interactions in `buy` (write booked, premium paid, `checkWrite` passed,
    then the mint's callback). The receiver is the vault's only LP (20k USDC); it writes 3 deep
    in-the-money calls against itself and, from the callback, withdraws what it could withdraw
    before the write. Refused (WithdrawExceedsMax): the callback already sees the write's margin.
    Withdrawing the post-write maximum from the callback works and leaves the vault at or above
    initial margin, the same as two separate transactions."""
    receiver.exec(vault, vault.deposit.encode_input(20_000 * USD, receiver), hv.tx(attacker))
    sid = hv.list_series(5_000, 7 * DAY, True)
    pre_write_max = vault.maxWithdraw(receiver)
    chain.snapshot()
    receiver.exec(market, _buy_call(market, sid, 3 * WAD), hv.tx(attacker))
    post_write_max = vault.maxWithdraw(receiver)
    chain.revert()
    assert post_write_max < pre_write_max - 1_000 * USD

    receiver.setMode(REENTER, vault, vault.withdraw.encode_input(pre_write_max, receiver, receiver), hv.tx(attacker))
    receiver.exec(market, _buy_call(market, sid, 3 * WAD), hv.tx(attacker))
    attempted, succeeded, result = _reentry(receiver)
    assert attempted and not succeeded
    assert result[:4] == selector("WithdrawExceedsMax(uint256,uint256)")
    assert vault.balanceOf(receiver) > 0 and market.balanceOf(receiver, sid) == 3 * WAD

    # Within the post-write headroom (a little below, for the blocks' time decay) it goes through,
    # and margin holds after the whole transaction.
    receiver.setMode(REENTER, vault, vault.withdraw.encode_input(post_write_max * 99 // 100, receiver, receiver),
                     hv.tx(attacker))
    tx = receiver.exec(market, _buy_call(market, sid, WAD // 10), hv.tx(attacker))
    assert _reentry(receiver)[:2] == (True, True)
    worst, notional = vault.valuation.call(block_identifier=tx.block_number)[1:3]
    assert worst >= notional * hv.params("risk")["initialMarginBps"] // 10_000


@pytest.mark.parametrize("mode", [REVERT, BURN_GAS], ids=["reverting", "gas-burning"])
def test_a_hostile_holder_cannot_block_settlement_or_other_holders(hv, market, vault, receiver, depositor, buyer, attacker,
                                                                   mode):
    """Defence: `settle` and `redeem` call no holder (the burn has no acceptance check; payouts are
    plain ERC-20 transfers). The receiver holds options of an in-the-money series next to an honest
    buyer, then turns hostile (every callback reverts / burns all gas). Settlement costs what the
    benchmark's does (docs/BENCHMARKS.md + 5%), the honest holder and the hostile one are both paid
    in full, and LP withdrawals work. Only transfers *to* the hostile holder fail."""
    hv.deposit(depositor, 200_000 * USD)
    sid = hv.list_series(9_000, 3_700, True)
    receiver.exec(market, _buy_call(market, sid, WAD), hv.tx(attacker))
    hv.buy(buyer, sid, WAD)
    receiver.setMode(mode, market, b"", hv.tx(attacker))
    with reverts_with("ReceiverRefuses") if mode == REVERT else pytest.raises(Exception):
        market.safeTransferFrom(buyer, receiver, sid, WAD // 2, b"", hv.tx(buyer))
    assert market.balanceOf(buyer, sid) == WAD

    tx = hv.settle(sid, price_usd=3_300, caller=attacker)
    assert tx.gas_used <= benchmark_gas("settle") * 1.05
    payoff = market.settledSeries(sid)[1] // 10**12  # per option (1 WETH each): 3,300 - 2,700
    assert market.redeem(sid, WAD, hv.tx(buyer)).return_value == payoff == 600 * USD
    receiver.exec(market, market.redeem.encode_input(sid, WAD), hv.tx(attacker))
    assert market.balanceOf(receiver, sid) == 0
    assert market.owedQuote() == 0
    vault.withdraw(1_000 * USD, depositor, depositor, hv.tx(depositor))
