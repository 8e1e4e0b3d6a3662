"""Item 1: the first-depositor (donation / share-inflation) attack.

The attack: be the first depositor with 1 unit, donate a large balance straight to the vault so
that the share price jumps, and let the next depositor's shares round down to (almost) nothing;
then redeem and pocket the victim's deposit.

Defence: `HedgeVault._decimalsOffset() = 6` (OpenZeppelin's virtual shares: 10**6 virtual shares and
1 virtual asset in every conversion, `HedgeVault._toShares/_toAssets`), plus rounding in the
vault's favour (deposit mints rounded down, redeem pays rounded down).

The dust bound. One share is worth p = (NAV + 1) / (supply + 10**6) units. A deposit mints
floor(assets / p) shares, so the victim loses less than one share's worth at mint; later the
share price only rises (its own deposit rounds in the vault's favour), and the redeem floor costs
less than one more unit. Hence victim loss < p + 1, i.e. loss <= ceil(p). After a 1-unit first
deposit (10**6 shares) and a donation of D units, p = (D + 2) / (2 * 10**6): 0.5 USDC per
1,000,000 USDC donated, while the attacker forfeits about half of the donation to the virtual
shares. Without the offset (NoOffsetVault, a bare OZ ERC-4626) the same sequence takes the
victim's whole deposit.
"""

from __future__ import annotations

import pytest
from brownie import NoOffsetVault
from brownie.test import given, strategy
from hypothesis import HealthCheck, settings

from tests.adversarial.helpers import ceil_div
from tests.vault.conftest import USD, WAD, reverts_with

OFFSET = 10**6  # 10 ** HedgeVault.DECIMALS_OFFSET virtual shares


def one_share_value(vault) -> int:
    """ceil(p), p = (NAV + 1) / (supply + 10**6): the most a deposit can lose to rounding."""
    return ceil_div(vault.totalAssets() + 1, vault.totalSupply() + OFFSET)


def _donate(hv, who, token: str, amount: int) -> int:
    """`who` sends `amount` of USDC units or WETH wei straight to the vault; returns its USDC value
    at the oracle (what the donation costs the attacker)."""
    if token == "usdc":
        hv.mint_usd(who, amount)
        hv.usdc.transfer(hv.vault, amount, hv.tx(who))
        return amount
    hv.weth.deposit({"value": amount, **hv.tx(who)})
    hv.weth.transfer(hv.vault, amount, hv.tx(who))
    return ceil_div(amount * hv.spot_wad(), WAD * 10**12)  # what the WETH cost, rounded up


@pytest.mark.parametrize("token,donation", [("usdc", 1_000_000 * USD), ("weth", 300 * WAD)])
def test_donation_after_a_one_unit_deposit_leaves_the_victim_only_dust(hv, vault, attacker, depositor, token, donation):
    """Defence: the 6-decimal virtual share offset (`_decimalsOffset`) and round-down minting.
    Victim loss <= ceil((NAV + 1) / (supply + 10**6)) at its deposit (the bound in this module's
    docstring); the attacker loses far more than the victim does."""
    victim_assets = 1_000 * USD
    hv.deposit(attacker, 1)
    cost = _donate(hv, attacker, token, donation)
    bound = one_share_value(vault)
    assert bound <= ceil_div(cost + 2, 2 * OFFSET) + 1  # p = (D + 2) / 2e6 after a 1-unit first deposit

    shares = hv.deposit(depositor, victim_assets).return_value
    assert shares > 0
    victim_back = vault.redeem(shares, depositor, depositor, hv.tx(depositor)).return_value
    victim_loss = victim_assets - victim_back
    assert 0 <= victim_loss <= bound, (victim_loss, bound)
    assert victim_loss <= victim_assets // 1_000  # under 0.1% even at 1,000x the victim's deposit

    # The attacker's claim at NAV (a WETH donation is not withdrawable as quote at all, so the
    # claim is the most it could ever realise).
    attacker_claim = vault.previewRedeem(vault.balanceOf(attacker))
    attacker_pnl = attacker_claim - (1 + cost)
    assert attacker_pnl < -cost // 3, "the donation should mostly accrue to the virtual shares"
    assert -attacker_pnl > 1_000 * victim_loss


def test_the_same_attack_takes_the_whole_deposit_without_the_offset(hv, attacker, depositor, deployer):
    """Weakened setup: a bare OpenZeppelin ERC-4626 with no decimals offset (NoOffsetVault) over the
    same USDC. The identical sequence leaves the victim with zero shares: the attack works when the
    offset is removed, so the bound above is the offset's doing."""
    weak = NoOffsetVault.deploy(hv.usdc, {"from": deployer, "silent": True})
    hv.mint_usd(attacker, 1 + 1_000_000 * USD)
    hv.usdc.approve(weak, 1, hv.tx(attacker))
    weak.deposit(1, attacker, hv.tx(attacker))
    hv.usdc.transfer(weak, 1_000_000 * USD, hv.tx(attacker))

    victim_assets = 1_000 * USD
    hv.mint_usd(depositor, victim_assets)
    hv.usdc.approve(weak, victim_assets, hv.tx(depositor))
    weak.deposit(victim_assets, depositor, hv.tx(depositor))
    assert weak.balanceOf(depositor) == 0
    assert weak.maxWithdraw(depositor) == 0  # the victim's 1,000 USDC is gone
    assert hv.usdc.balanceOf(depositor) == 0


def _donation_property(hv, vault, attacker, depositor, first, donation, victim, weth):
    hv.deposit(attacker, first)
    before = vault.maxWithdraw(attacker)
    token = "weth" if weth else "usdc"
    amount = donation * 10**12 * WAD // hv.spot_wad() if weth else donation  # same USD size either way
    if amount == 0:
        amount = 1
    cost = _donate(hv, attacker, token, amount)
    after = vault.maxWithdraw(attacker)
    assert after <= before + cost, "a donation raised the attacker's claim by more than it cost"

    bound = one_share_value(vault)
    hv.mint_usd(depositor, victim)
    hv.usdc.approve(vault, victim, hv.tx(depositor))
    if vault.previewDeposit(victim) == 0:
        with reverts_with("ZeroAmount"):
            vault.deposit(victim, depositor, hv.tx(depositor))
        assert hv.usdc.balanceOf(depositor) == victim
        return
    shares = vault.deposit(victim, depositor, hv.tx(depositor)).return_value
    victim_back = vault.previewRedeem(shares)
    assert victim - victim_back <= bound, (victim - victim_back, bound)
    attacker_back = vault.previewRedeem(vault.balanceOf(attacker))
    assert attacker_back <= first + cost, ("attacker profit", attacker_back - first - cost)


AMOUNTS = {
    "first": strategy("uint256", min_value=1, max_value=10_000 * USD),
    "donation": strategy("uint256", min_value=1, max_value=2_000_000 * USD),
    "victim": strategy("uint256", min_value=1, max_value=1_000_000 * USD),
    "weth": strategy("bool"),
}


@given(**AMOUNTS)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_donations_never_raise_what_the_attacker_can_redeem(hv, vault, attacker, depositor, first, donation, victim, weth):
    """Defence: virtual shares + round-down conversions. For any first deposit, any donation of
    USDC or WETH (same USD size) and any victim deposit: the attacker's redeemable value rises by
    at most what it donated (donating never pays), the victim loses at most ceil(p) (the module's
    bound), and a victim whose deposit would mint nothing is refused (`ZeroAmount`) instead of
    losing it. 12 examples here, 300 with `--slow`."""
    _donation_property(hv, vault, attacker, depositor, first, donation, victim, weth)


@pytest.mark.slow
@given(**AMOUNTS)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_donations_never_raise_what_the_attacker_can_redeem_deep(hv, vault, attacker, depositor, first, donation, victim,
                                                                 weth):
    """The same property over 300 examples (`--slow`)."""
    _donation_property(hv, vault, attacker, depositor, first, donation, victim, weth)
