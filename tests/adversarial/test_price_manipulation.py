"""Item 2: price manipulation through the Uniswap pool.

The vault reads the pool in one place only, the rebalance: NAV, premiums, margin, deposits and
withdrawals are valued at the oracle (`HedgeVault.oraclePrices`). The rebalance is guarded by
- `_checkDexPrice`: pool spot within `maxOracleDeviationBps` of the oracle (`DexPriceDeviation`);
- `RebalanceLogic._bound`: execution within the contract's own bound, the trade's oracle value with
  the pool's fee and the trade's impact at the pool's depth, widened by `executionToleranceBps` (50)
  (`SlippageExceeded`); a pool pushed off the oracle does not widen it;
- the keeper role outside the must path (`Unauthorized`), the contract's own target on it.

Attacks: a large swap that skews the pool before a rebalance; a flash-style swap inside one
transaction (FlashManipulator: swap, call the vault, swap back); a sandwich around the keeper's
rebalance. Each is refused with its named error, or executes within the contract's floor, and
the attacker's profit is bounded by what the vault overpaid against the oracle.

Uniswap V2 arithmetic (getAmountIn / getAmountOut, 0.3% fee) is reproduced here so every case
predicts its own outcome from the pool's reserves before asserting it.
"""

from __future__ import annotations

import pytest
from brownie import FlashManipulator, chain

from tests.adversarial.helpers import pool_push_weth, reverts_named
from tests.vault.conftest import BPS, DAY, USD, WAD, reverts_with

DEVIATION_BPS = 100


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    fee_in = amount_in * 997
    return fee_in * reserve_out // (reserve_in * 1000 + fee_in)


def amount_in(amount_out_: int, reserve_in: int, reserve_out: int) -> int:
    return reserve_in * amount_out_ * 1000 // ((reserve_out - amount_out_) * 997) + 1


def oracle_value(size_wad: int, spot_wad: int) -> int:
    return size_wad * spot_wad // (WAD * 10**12)


@pytest.fixture
def emergency(hv, vault, depositor, buyer):
    """7 unhedged deep in-the-money calls on 12k USDC, then +30%: emergency, anyone may rebalance
    (to the contract's target, 5 WETH, the per-trade cap) and earn the bounty."""
    hv.deposit(depositor, 12_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 7 * WAD)
    hv.move_price(3_900)
    assert "EmergencyEntered" in vault.updateMarginState(hv.tx(buyer)).events
    return sid


@pytest.fixture
def manipulator(hv, attacker):
    """A FlashManipulator owned by the attacker, holding 5M USDC and 1,000 WETH."""
    m = FlashManipulator.deploy(hv.pair, hv.weth, hv.usdc, {"from": attacker, "silent": True})
    hv.mint_usd(m, 5_000_000 * USD)
    hv.weth.deposit({"value": 1_000 * WAD, **hv.tx(attacker)})
    hv.weth.transfer(m, 1_000 * WAD, hv.tx(attacker))
    return m


def quote_to_push(hv, bps: int) -> int:
    """USDC to swap in (exact input) so that the pool's price rises by about `bps`."""
    weth_r, usd_r = hv.pool_reserves()
    weth_out = pool_push_weth(hv, bps)
    return amount_in(weth_out, usd_r, weth_r)


def holdings(hv, who) -> tuple[int, int]:
    return hv.usdc.balanceOf(who), hv.weth.balanceOf(who)


# ------------------------------------------------------------------------- a large swap first


@pytest.mark.parametrize("bps", [300, -300])
def test_a_large_swap_that_skews_the_pool_refuses_the_keepers_rebalance(hv, vault, calls, attacker, bps):
    """Defence: `_checkDexPrice` (DexPriceDeviation). A 3% skew either way stops the hedge; the
    keeper's trade never executes against the skewed pool."""
    hv.weth.deposit({"value": 100 * WAD, **hv.tx(attacker)})
    hv.mint_usd(attacker, 1_000_000 * USD)
    hv.usdc.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    hv.weth.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    weth_r, _ = hv.pool_reserves()
    if bps > 0:
        hv.swap(attacker, weth_out=pool_push_weth(hv, bps))
    else:
        hv.swap(attacker, weth_in=weth_r * 10_000 // 9_850 - weth_r)  # ~ -3%
    dex = hv.dex_spot_wad()
    assert abs(dex - hv.spot_wad()) * BPS > hv.spot_wad() * DEVIATION_BPS
    base_before = hv.weth.balanceOf(vault)
    with reverts_with("DexPriceDeviation", dex, hv.spot_wad(), DEVIATION_BPS):
        hv.rebalance()
    assert hv.weth.balanceOf(vault) == base_before


# ------------------------------------------------------------------------- flash, one transaction


def test_flash_skew_cannot_trigger_an_emergency_rebalance(hv, vault, emergency, manipulator, attacker):
    """Defence: `_checkDexPrice` inside the same transaction as the swap. In emergency anyone may
    rebalance, so the attacker pumps the pool 3% and calls `rebalance` in one transaction: the whole
    transaction reverts with DexPriceDeviation and the attacker keeps nothing but gas costs."""
    check = vault.rebalanceCheck()
    assert check[0] and check[1] == 3  # due, reason Emergency
    rebalance = vault.rebalance.encode_input(check[2], 0, chain.time() + 600, hv.nonce())
    before = holdings(hv, manipulator)
    with reverts_named("DexPriceDeviation"):
        manipulator.manipulate(True, quote_to_push(hv, 300), [vault], [rebalance], hv.tx(attacker))
    assert holdings(hv, manipulator) == before
    assert hv.nonce() == 0


@pytest.mark.parametrize("pump_bps", [0, 30, 60, 90])
def test_flash_skew_inside_the_deviation_bound_is_refused_or_bounded(hv, vault, adapter, emergency, manipulator, attacker,
                                                                     pump_bps):
    """Defence: the contract's execution bound (`_bound`, SlippageExceeded) once the skew is small
    enough to pass the deviation check. Pump the pool `pump_bps`, rebalance (emergency: anyone),
    swap back, all in one transaction. The outcome is predicted from the reserves; when the trade
    executes, the vault pays at most the bound (priced at the oracle, not the pool), and the
    attacker's profit is at most the bounty plus what the vault paid above the pool's pre-attack price."""
    spot = hv.spot_wad()
    check = vault.rebalanceCheck()
    size = check[2] - hv.weth.balanceOf(vault)
    weth_r, usd_r = hv.pool_reserves()
    push_in = quote_to_push(hv, pump_bps) if pump_bps else 1
    pushed_out = amount_out(push_in, usd_r, weth_r)
    w1, u1 = weth_r - pushed_out, usd_r + push_in
    bound = hv.execution_bound(size, True, base_reserve=w1)
    predicted_pay = amount_in(size, u1, w1)
    rebalance = vault.rebalance.encode_input(check[2], 0, chain.time() + 600, hv.nonce())
    before_usd, before_weth = holdings(hv, manipulator)
    if predicted_pay > bound:
        with reverts_with("SlippageExceeded", predicted_pay, bound):
            manipulator.manipulate(True, push_in, [vault], [rebalance], hv.tx(attacker))
        assert holdings(hv, manipulator) == (before_usd, before_weth)
        return
    tx = manipulator.manipulate(True, push_in, [vault], [rebalance], hv.tx(attacker))
    ev = tx.events["Rebalanced"]
    paid = -ev["quoteChange"]
    assert paid == predicted_pay and paid <= bound, (paid, bound)
    profit = hv.usdc.balanceOf(manipulator) - before_usd
    assert hv.weth.balanceOf(manipulator) == before_weth
    overpay_vs_pool = paid - size * usd_r // weth_r
    assert profit <= ev["bounty"] + overpay_vs_pool, (profit, ev["bounty"], overpay_vs_pool)
    assert profit <= ev["bounty"] + bound - oracle_value(size, spot) + 1
    print(f"flash {pump_bps} bps: vault paid {paid} (bound {bound}); attacker P&L {profit} incl. bounty {ev['bounty']}")


def test_loosened_guards_let_the_same_flash_attack_profit(hv, vault, emergency, manipulator, attacker):
    """Weakened setup: governance loosens both guards to their widest legal values (deviation 10%,
    tolerance 2%). A 1.5% flash pump that the default guards refuse (deviation) now executes, and the attacker
    profits from the vault's overpayment. It is still capped by the (looser) bound: the bound is the
    defence that holds, and the default parameters are what keep the attack out entirely."""
    check = vault.rebalanceCheck()
    size = check[2] - hv.weth.balanceOf(vault)
    rebalance = vault.rebalance.encode_input(check[2], 0, chain.time() + 600, hv.nonce())
    push = quote_to_push(hv, 150)
    with reverts_named("DexPriceDeviation"):  # the default guards: 150 bps is past the 100 bps deviation bound
        manipulator.manipulate(True, push, [vault], [rebalance], hv.tx(attacker))
    vault.setHedgeParams(hv.params_with("hedge", maxOracleDeviationBps=1_000, executionToleranceBps=200),
                         hv.tx(hv.as_timelock()))
    before_usd, before_weth = holdings(hv, manipulator)
    tx = manipulator.manipulate(True, push, [vault], [rebalance], hv.tx(attacker))
    ev = tx.events["Rebalanced"]
    profit = hv.usdc.balanceOf(manipulator) - before_usd
    assert hv.weth.balanceOf(manipulator) == before_weth
    assert profit > ev["bounty"], "with loosened guards the manipulation pays beyond the bounty"
    print(f"loosened guards: attacker P&L {profit} incl. bounty {ev['bounty']}")
    assert -ev["quoteChange"] <= oracle_value(size, hv.spot_wad()) * 10_300 // BPS  # fee, impact, 2%


def _flash_lp_leg(hv, vault, manipulator, attacker, pump: bool, amount: int):
    """Skew the pool 5% (`pump` up, else down), deposit `amount` USDC and redeem every share minted,
    swap back, all in one transaction. Returns (shares `previewDeposit` promised before the skew,
    shares minted, assets redeemed, USDC P&L, WETH P&L)."""
    weth_r, _ = hv.pool_reserves()
    push_in = quote_to_push(hv, 500) if pump else weth_r * 10_000 // 9_750 - weth_r
    manipulator.exec(hv.usdc, hv.usdc.approve.encode_input(vault, 2**256 - 1), hv.tx(attacker))
    shares = vault.previewDeposit(amount)
    deposit = vault.deposit.encode_input(amount, manipulator)
    redeem = vault.redeem.encode_input(shares, manipulator, manipulator)
    before_usd, before_weth = holdings(hv, manipulator)
    tx = manipulator.manipulate(pump, push_in, [vault, vault], [deposit, redeem], hv.tx(attacker))
    minted = tx.events["Deposit"]["shares"]
    back = tx.events["Withdraw"]["assets"]
    pnl_usd = hv.usdc.balanceOf(manipulator) - before_usd
    pnl_weth = hv.weth.balanceOf(manipulator) - before_weth
    return shares, minted, back, pnl_usd, pnl_weth


@pytest.mark.parametrize("pump", [True, False], ids=["pump", "dump"])
def test_flash_skew_around_a_deposit_and_redeem_changes_nothing_and_loses_the_fees(hv, vault, manipulator, attacker,
                                                                                  depositor, deployer, pump):
    """Defence: NAV is valued at the oracle, never at the pool (`totalAssets` -> `oraclePrices`).
    The vault holds 100 WETH (a pool-valued NAV would move by 100 x 5% x spot = ~15,000 USDC with
    the skew). Inside one transaction: skew 5%, deposit 1M USDC, redeem every share, swap back.
    The shares minted are exactly what `previewDeposit` said before the skew, the redeem returns no
    more than was deposited, and the attacker is left with the swap fees as its loss."""
    hv.deposit(depositor, 500_000 * USD)
    hv.weth.deposit({"value": 100 * WAD, **hv.tx(deployer)})
    hv.weth.transfer(vault, 100 * WAD, hv.tx(deployer))
    nav = vault.totalAssets()
    expected, minted, back, pnl_usd, pnl_weth = _flash_lp_leg(hv, vault, manipulator, attacker, pump, 1_000_000 * USD)
    assert minted == expected
    assert back <= 1_000_000 * USD
    assert vault.totalAssets() >= nav  # the other LPs lost nothing
    # The round trip through the pool costs the fee twice; nothing in the vault paid it back.
    if pump:
        assert pnl_usd < 0 and pnl_weth == 0
    else:
        assert pnl_weth < 0 and pnl_usd <= 0


def test_flash_skew_around_a_withdrawal_pays_no_more_than_the_claim(hv, vault, manipulator, attacker, calls, keeper):
    """Defence: NAV at the oracle. The manipulator is an LP of a hedged vault (3 WETH held against
    written calls); it skews the pool 5% up and withdraws everything it may, then swaps back. It
    receives no more than `maxWithdraw` said before the skew, and ends poorer by the fees."""
    hv.rebalance()
    manipulator.exec(hv.usdc, hv.usdc.approve.encode_input(vault, 2**256 - 1), hv.tx(attacker))
    manipulator.exec(vault, vault.deposit.encode_input(50_000 * USD, manipulator), hv.tx(attacker))
    claim = vault.maxWithdraw(manipulator)
    before_usd, before_weth = holdings(hv, manipulator)
    withdraw = vault.withdraw.encode_input(claim, manipulator, manipulator)
    tx = manipulator.manipulate(True, quote_to_push(hv, 500), [vault], [withdraw], hv.tx(attacker))
    assert tx.events["Withdraw"]["assets"] == claim
    assert hv.usdc.balanceOf(manipulator) - before_usd < claim  # the swap fees are lost
    assert hv.weth.balanceOf(manipulator) == before_weth
    # Taking more than the claim, with the pool skewed, is refused like any other excess.
    with reverts_named("WithdrawExceedsMax"):
        manipulator.manipulate(True, quote_to_push(hv, 500), [vault],
                               [vault.withdraw.encode_input(claim + 10 * USD, manipulator, manipulator)], hv.tx(attacker))


# ------------------------------------------------------------------------- sandwich


@pytest.mark.parametrize("front_bps", [0, 20, 40, 80, 95, 120])
def test_a_sandwich_around_the_keepers_rebalance_extracts_at_most_the_execution_bound(hv, vault, calls, attacker, keeper,
                                                                                     front_bps):
    """Defence: `_checkDexPrice` and the contract's execution bound. The attacker front-runs the
    keeper's rebalance (buys WETH to push the pool up `front_bps`) and back-runs it (sells the WETH).
    Outcome predicted from the reserves: DexPriceDeviation above 1%, SlippageExceeded when the vault
    would pay more than the bound (the trade at the oracle with fee and impact, + 50 bps), else the
    trade executes with:
    - the vault's execution price within the bound;
    - the attacker's profit <= what the vault paid above the pool's pre-attack price (constant
      product: k never falls), hence <= the bound's excess over the oracle value (+ the pool's
      residual offset)."""
    hv.weth.deposit({"value": 50 * WAD, **hv.tx(attacker)})
    hv.mint_usd(attacker, 1_000_000 * USD)
    hv.usdc.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    hv.weth.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    spot = hv.spot_wad()
    check = vault.rebalanceCheck()
    size = check[2]
    w0, u0 = hv.pool_reserves()
    usd0, weth0 = holdings(hv, attacker)

    front = pool_push_weth(hv, front_bps) if front_bps else 0
    if front:
        hv.swap(attacker, weth_out=front)
    w1, u1 = hv.pool_reserves()
    dex = hv.dex_spot_wad()
    bound = hv.execution_bound(size, True)
    predicted_pay = amount_in(size, u1, w1)
    if abs(dex - spot) * BPS > spot * DEVIATION_BPS:
        with reverts_with("DexPriceDeviation", dex, spot, DEVIATION_BPS):
            hv.rebalance()
        assert front_bps > 100
        return
    if predicted_pay > bound:
        with reverts_with("SlippageExceeded", predicted_pay, bound):
            hv.rebalance()
        return
    tx = hv.rebalance()
    paid = -tx.events["Rebalanced"]["quoteChange"]
    assert paid == predicted_pay and paid <= bound, (paid, bound)
    if front:
        hv.swap(attacker, weth_in=front)
    usd1, weth1 = holdings(hv, attacker)
    assert weth1 == weth0
    profit = usd1 - usd0
    overpay_vs_pool = paid - size * u0 // w0
    assert profit <= overpay_vs_pool, (profit, overpay_vs_pool)
    oracle_slack = max(size * (u0 * 10**30 // w0 - spot) // WAD // 10**12, 0)  # pool above oracle before
    assert profit <= bound - oracle_value(size, spot) + oracle_slack + 1
    print(f"sandwich {front_bps} bps: vault paid {paid} for {size} wei (bound {bound}); attacker P&L {profit}")
