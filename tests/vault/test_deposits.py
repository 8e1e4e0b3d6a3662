"""ERC-4626 entry points of HedgeVault: deposit, mint, withdraw, redeem and their max* views.

Exact rounding checks run on a vault whose NAV is an odd number of USDC but holds no options, so
the share price does not move between a view and the next block; with options open the checks
are inequalities (marks decay with time).
"""

from __future__ import annotations

import pytest

from tests.vault.conftest import DAY, NUM, USD, WAD, reverts_with

CAP = 10_000_000 * USD  # VaultParams.deposit_cap
OFFSET = 10**6  # 10 ** DECIMALS_OFFSET virtual shares


def _odd_share_price(hv, depositor, deployer):
    """1,000,000 USDC deposited, then 12,345.678901 USDC donated: the share price is not round."""
    hv.deposit(depositor, 1_000_000 * USD)
    hv.mint_usd(deployer, 12_345_678_901)
    hv.usdc.transfer(hv.vault, 12_345_678_901, {"from": deployer})


def _write_calls(hv, buyer, amount_wad=3 * WAD, strike_bps=5_000):
    sid = hv.list_series(strike_bps, 7 * DAY, True)
    hv.buy(buyer, sid, amount_wad)
    return sid


# ------------------------------------------------------------------------- deposit / mint


def test_first_deposit_mints_assets_times_virtual_offset(hv, vault, depositor):
    assets = 1_234 * USD
    assert vault.previewDeposit(assets) == assets * OFFSET
    tx = hv.deposit(depositor, assets)
    assert tx.return_value == assets * OFFSET
    assert vault.balanceOf(depositor) == assets * OFFSET
    assert tx.events["Deposit"]["assets"] == assets
    assert vault.totalAssets() == assets


def test_deposit_rounds_shares_down(hv, vault, depositor, depositor2, deployer):
    _odd_share_price(hv, depositor, deployer)
    assets = 777_777_777
    nav, supply = vault.totalAssets(), vault.totalSupply()
    expected = assets * (supply + OFFSET) // (nav + 1)
    assert vault.previewDeposit(assets) == expected
    tx = hv.deposit(depositor2, assets)
    assert tx.return_value == expected
    # Floor: the shares are worth at most what was paid.
    assert expected * (nav + 1) <= assets * (supply + OFFSET)


def test_mint_charges_assets_rounded_up(hv, vault, depositor, depositor2, deployer, usdc):
    _odd_share_price(hv, depositor, deployer)
    shares = 333_333_333_333_333
    nav, supply = vault.totalAssets(), vault.totalSupply()
    expected = -(-shares * (nav + 1) // (supply + OFFSET))  # ceil
    assert vault.previewMint(shares) == expected
    hv.mint_usd(depositor2, expected)
    usdc.approve(vault, expected, {"from": depositor2})
    tx = vault.mint(shares, depositor2, {"from": depositor2})
    assert tx.return_value == expected
    assert usdc.balanceOf(depositor2) == 0
    assert vault.balanceOf(depositor2) == shares


def test_deposit_of_zero_reverts(vault, depositor):
    with reverts_with("ZeroAmount"):
        vault.deposit(0, depositor, {"from": depositor})


def test_deposit_too_small_for_one_share_reverts(hv, vault, depositor, depositor2, deployer):
    # Push the share price above one asset unit per share (a big donation on a tiny supply).
    hv.deposit(depositor, 1)
    hv.mint_usd(deployer, 10 * USD)
    hv.usdc.transfer(vault, 10 * USD, {"from": deployer})
    assert vault.previewDeposit(1) == 0
    hv.mint_usd(depositor2, 1)
    hv.usdc.approve(vault, 1, {"from": depositor2})
    with reverts_with("ZeroAmount"):
        vault.deposit(1, depositor2, {"from": depositor2})


def test_mint_of_zero_reverts(vault, depositor):
    with reverts_with("ZeroAmount"):
        vault.mint(0, depositor, {"from": depositor})


def test_deposit_above_cap_reverts_with_the_room_left(hv, vault, depositor, depositor2):
    hv.deposit(depositor, 4_000_000 * USD)
    room = CAP - 4_000_000 * USD
    assert vault.maxDeposit(depositor2) == room
    hv.mint_usd(depositor2, room + 1)
    hv.usdc.approve(vault, room + 1, {"from": depositor2})
    with reverts_with("DepositCapExceeded", room + 1, room):
        vault.deposit(room + 1, depositor2, {"from": depositor2})
    vault.deposit(room, depositor2, {"from": depositor2})
    assert vault.maxDeposit(depositor2) == 0


def test_mint_above_cap_reverts(hv, vault, depositor):
    shares = (CAP + 1) * OFFSET
    hv.mint_usd(depositor, CAP + 1)
    hv.usdc.approve(vault, CAP + 1, {"from": depositor})
    with reverts_with("DepositCapExceeded", CAP + 1, CAP):
        vault.mint(shares, depositor, {"from": depositor})
    assert vault.maxMint(depositor) == CAP * OFFSET


def test_deposit_and_mint_refused_while_paused(hv, vault, depositor, guardian):
    hv.mint_usd(depositor, 10 * USD)
    hv.usdc.approve(vault, 10 * USD, {"from": depositor})
    vault.pause({"from": guardian})
    assert vault.maxDeposit(depositor) == 0
    assert vault.maxMint(depositor) == 0
    with reverts_with("EnforcedPause"):
        vault.deposit(10 * USD, depositor, {"from": depositor})
    with reverts_with("EnforcedPause"):
        vault.mint(10 * USD * OFFSET, depositor, {"from": depositor})


def test_deposit_is_allowed_in_emergency_to_recapitalise(hv, vault, depositor, buyer, depositor2):
    hv.deposit(depositor, 12_000 * USD)
    _write_calls(hv, buyer, amount_wad=7 * WAD)
    hv.move_price(3_900)
    vault.updateMarginState({"from": depositor2})
    assert vault.hedgeState()[2]  # emergency
    hv.deposit(depositor2, 1_000 * USD)
    assert vault.balanceOf(depositor2) > 0


# ------------------------------------------------------------------------- withdraw / redeem


def test_withdraw_burns_shares_rounded_up(hv, vault, depositor, deployer):
    _odd_share_price(hv, depositor, deployer)
    assets = 123_456_789
    nav, supply = vault.totalAssets(), vault.totalSupply()
    expected = -(-assets * (supply + OFFSET) // (nav + 1))
    assert vault.previewWithdraw(assets) == expected
    before = vault.balanceOf(depositor)
    tx = vault.withdraw(assets, depositor, depositor, {"from": depositor})
    assert tx.return_value == expected
    assert before - vault.balanceOf(depositor) == expected
    assert hv.usdc.balanceOf(depositor) == assets


def test_redeem_pays_assets_rounded_down(hv, vault, depositor, deployer):
    _odd_share_price(hv, depositor, deployer)
    shares = 98_765_432_109_876
    nav, supply = vault.totalAssets(), vault.totalSupply()
    expected = shares * (nav + 1) // (supply + OFFSET)
    assert vault.previewRedeem(shares) == expected
    tx = vault.redeem(shares, depositor, depositor, {"from": depositor})
    assert tx.return_value == expected
    assert hv.usdc.balanceOf(depositor) == expected


def test_withdraw_of_zero_reverts(hv, vault, depositor):
    hv.deposit(depositor, 100 * USD)
    with reverts_with("ZeroAmount"):
        vault.withdraw(0, depositor, depositor, {"from": depositor})


def test_redeem_of_zero_reverts(hv, vault, depositor):
    hv.deposit(depositor, 100 * USD)
    with reverts_with("ZeroAmount"):
        vault.redeem(0, depositor, depositor, {"from": depositor})


def test_withdraw_more_than_owned_reverts_with_max(hv, vault, depositor):
    hv.deposit(depositor, 100 * USD)
    with reverts_with("WithdrawExceedsMax", 100 * USD + 1, 100 * USD):
        vault.withdraw(100 * USD + 1, depositor, depositor, {"from": depositor})


def test_redeem_more_shares_than_owned_reverts(hv, vault, depositor, depositor2):
    hv.deposit(depositor, 100 * USD)
    hv.deposit(depositor2, 100 * USD)
    shares = vault.balanceOf(depositor) + 1
    with reverts_with("WithdrawExceedsMax", NUM, 100 * USD):
        vault.redeem(shares * 2, depositor, depositor, {"from": depositor})


def test_withdraw_for_another_owner_needs_allowance(hv, vault, depositor, attacker):
    hv.deposit(depositor, 100 * USD)
    shares = vault.previewWithdraw(50 * USD)
    with reverts_with("ERC20InsufficientAllowance", attacker, 0, shares):
        vault.withdraw(50 * USD, attacker, depositor, {"from": attacker})
    vault.approve(attacker, shares, {"from": depositor})
    vault.withdraw(50 * USD, attacker, depositor, {"from": attacker})
    assert hv.usdc.balanceOf(attacker) == 50 * USD


def test_max_withdraw_is_limited_by_initial_margin(hv, vault, depositor, buyer):
    hv.deposit(depositor, 20_000 * USD)
    _write_calls(hv, buyer, amount_wad=10 * WAD)
    v = vault.valuation()
    required = v[2] * hv.params("risk")["initialMarginBps"] // 10_000
    headroom = (v[1] - required) // 10**12
    owned = vault.convertToAssets(vault.balanceOf(depositor))
    max_withdraw = vault.maxWithdraw(depositor)
    assert 0 < max_withdraw < owned
    # Deep in-the-money calls lose value with time, so the headroom only grows between blocks.
    assert abs(max_withdraw - headroom) <= 1
    with reverts_with("WithdrawExceedsMax", NUM, NUM):
        vault.withdraw(max_withdraw + USD, depositor, depositor, {"from": depositor})
    vault.withdraw(max_withdraw, depositor, depositor, {"from": depositor})
    after = vault.valuation()
    assert after[1] >= after[2] * hv.params("risk")["initialMarginBps"] // 10_000
    assert vault.maxWithdraw(depositor) <= 2 * 10**2  # at most the few units theta freed since


def test_max_redeem_matches_max_withdraw(hv, vault, depositor, buyer):
    hv.deposit(depositor, 20_000 * USD)
    _write_calls(hv, buyer, amount_wad=10 * WAD)
    max_shares = vault.maxRedeem(depositor)
    assert 0 < max_shares < vault.balanceOf(depositor)
    assert vault.convertToAssets(max_shares) <= vault.maxWithdraw(depositor)
    vault.redeem(max_shares, depositor, depositor, {"from": depositor})


def test_max_views_without_options_are_the_owners_assets(hv, vault, depositor):
    hv.deposit(depositor, 5_000 * USD)
    assert vault.maxWithdraw(depositor) == 5_000 * USD
    assert vault.maxRedeem(depositor) == vault.balanceOf(depositor)


def test_withdrawals_still_work_while_paused(hv, vault, depositor, guardian):
    hv.deposit(depositor, 1_000 * USD)
    vault.pause({"from": guardian})
    assert vault.maxWithdraw(depositor) == 1_000 * USD
    vault.withdraw(400 * USD, depositor, depositor, {"from": depositor})
    vault.redeem(vault.balanceOf(depositor), depositor, depositor, {"from": depositor})
    assert hv.usdc.balanceOf(depositor) == 1_000 * USD


def test_deposit_then_immediate_redeem_never_returns_more_than_paid(hv, vault, depositor, buyer, probe):
    hv.deposit(depositor, 500_000 * USD)
    _write_calls(hv, buyer, amount_wad=5 * WAD, strike_bps=9_000)
    hv.advance(3 * DAY)
    for assets in (1, 999_999, 10**6 + 1, 123_456_789_012):
        shares, back = probe.depositRedeem.call(vault, assets)
        assert back <= assets
        shares, burned = probe.depositWithdraw.call(vault, assets)
        assert burned >= shares
    for shares in (1, 10**6, 10**12 + 7):
        paid, back = probe.mintRedeem.call(vault, shares)
        assert back <= paid


def test_first_depositor_inflation_attack_costs_the_attacker_and_leaves_only_dust(hv, vault, attacker, depositor, deployer):
    """OZ's virtual-offset defence (DECIMALS_OFFSET = 6): the classic attack is to deposit 1 unit,
    donate a lot so the next depositor's shares round to (almost) nothing, then redeem.
    With 10**6 virtual shares the victim loses at most one share's worth of rounding, and the
    donation mostly accrues to the virtual shares: the attacker loses far more than it takes."""
    donation = 1_000_000 * USD
    victim_assets = 1_000 * USD
    hv.deposit(attacker, 1)
    hv.mint_usd(attacker, donation)
    hv.usdc.transfer(vault, donation, {"from": attacker})

    victim_shares = hv.deposit(depositor, victim_assets).return_value
    assert victim_shares > 0
    victim_back = vault.previewRedeem(victim_shares)
    victim_loss = victim_assets - victim_back
    # One share is worth (nav + 1) / (supply + 10**6): the victim loses less than one such share.
    one_share = (vault.totalAssets() + 1) // (vault.totalSupply() + OFFSET) + 1
    assert victim_loss <= one_share
    assert victim_loss <= victim_assets // 1_000  # 0.1% at this extreme donation-to-deposit ratio

    attacker_back = vault.redeem(vault.balanceOf(attacker), attacker, attacker, {"from": attacker}).return_value
    attacker_loss = donation + 1 - attacker_back
    assert attacker_loss > 100 * victim_loss


def test_share_price_unchanged_by_deposits_and_withdrawals(hv, vault, depositor, depositor2, deployer):
    _odd_share_price(hv, depositor, deployer)
    # The price ERC-4626 converts at, virtual shares and asset included.
    price = lambda: (vault.totalAssets() + 1) * 10**30 // (vault.totalSupply() + OFFSET)  # noqa: E731
    before = price()
    hv.deposit(depositor2, 54_321_987_654)
    assert price() >= before
    vault.withdraw(1_234_567, depositor2, depositor2, {"from": depositor2})
    assert price() >= before


# ------------------------------------------------------------------------- ERC-4626 views never panic


@pytest.mark.parametrize("donated", [2**128, 2**200, 2**255], ids=["2^128", "2^200", "2^255"])
def test_the_4626_views_never_panic_on_absurd_balances(hv, vault, depositor, donated, calls):
    """ERC-4626: max* "MUST NOT revert". Past ~1.16e65 quote units, quote x 1e12 overflowed in the
    valuation and every view panicked (0x11). Balances now count up to 2^128 units (3.4e32 USDC): the
    views answer, and NAV saturates there instead of wrapping."""
    hv.mint_usd(vault, donated)
    nav = vault.totalAssets()
    assert 0 < nav <= 2**128 + 10**13  # the saturated quote, plus the vault's other holdings, minus the book
    for view in (vault.maxDeposit, vault.maxMint, vault.maxWithdraw, vault.maxRedeem):
        view(depositor)  # must answer
    assert vault.maxWithdraw(depositor) <= vault.convertToAssets(vault.balanceOf(depositor)) + 1
    assert vault.maxRedeem(depositor) <= vault.balanceOf(depositor)
