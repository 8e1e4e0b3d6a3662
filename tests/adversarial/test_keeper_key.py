"""The keeper key as an adversary, and the vault without a keeper.

A keeper key decides when to trade and to what target; the chain bounds what (RebalanceLogic):
- toward zero only: |post| <= |pre|, crossing zero by at most the dust (`NotTowardZero`). Before it,
  a keeper flipping net delta from -x to +x every interval passed every check forever and paid the
  execution bound each time (measured: 15 flips of 5 WETH cost a 1M vault 3,262 USDC in 1.25 h,
  ~60,000 USDC a day; the accomplice sandwicher made +995 USDC);
- rolling budgets on base traded and on execution loss against the oracle (`BaseBudgetExceeded`,
  `LossBudgetExceeded`): many small toward-zero trades that each pay the whole execution bound
  cost at most max x (1 + T / window) over any T seconds;
- must, not may: outside the hard band for `mustGraceSeconds` since the last rebalance anyone may
  hedge to the contract's target for at most the bounty, so a dead keeper cannot strand the vault.

Each attack test fails if its defence is removed from the contract: without the toward-zero rule
the flips execute; without the loss budget the grinding never stops.
"""

from __future__ import annotations

import pytest
from brownie import accounts, chain

from tests.adversarial.helpers import pool_push_weth
from tests.vault.conftest import DAY, NUM, USD, WAD, reverts_with

OUTSIDE_HARD_BAND, KEEPER_LATE = 2, 7
DUST = WAD // 10
INTERVAL = 300
GRACE = 3_600
BOUNTY = 10 * USD


@pytest.fixture
def accomplice(hv, attacker):
    """A sandwicher with 1M USDC and 100 WETH, approved on the router."""
    hv.weth.deposit({"value": 100 * WAD, **hv.tx(attacker)})
    hv.mint_usd(attacker, 1_000_000 * USD)
    hv.usdc.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    hv.weth.approve(hv.router, 2**256 - 1, hv.tx(attacker))
    return attacker


def _worth(hv, who) -> int:
    """USDC + WETH at the oracle, in USDC units."""
    return hv.usdc.balanceOf(who) + hv.weth.balanceOf(who) * hv.spot_wad() // (WAD * 10**12)


@pytest.fixture
def short_book(hv, vault, depositor, buyer):
    """A 1M USDC vault short 2.5 deep in-the-money calls: net delta ~ -2.5 WETH, unhedged."""
    hv.deposit(depositor, 1_000_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 5 * WAD // 2)
    return sid


@pytest.mark.parametrize("sandwich", [False, True], ids=["alone", "with a sandwicher"])
def test_the_churn_attack_is_refused_after_the_legitimate_hedge_step(hv, vault, keeper, short_book, accomplice,
                                                                      sandwich):
    """The keeper flips net delta -x -> +x -> -x once per interval, 15 times (the measured attack),
    an accomplice optionally front-running each try by 45 bps and back-running it. The first trade
    is a legitimate hedge step (-2.5 -> -1.25, toward zero) and executes; every flip after it
    (-1.25 -> +1.25, which keeps |delta| and was "due" forever) is refused, so the vault loses only
    that one step's cost against the oracle, and the accomplice gains at most that."""
    nav0, accomplice0 = vault.totalAssets(), _worth(hv, accomplice)
    losses, refusals = [], []
    for i in range(15):
        hv.arbitrage()
        holders = vault.valuation()[3]
        base = hv.weth.balanceOf(vault)
        pre = base - holders
        target = max(holders + pre // 2 if i == 0 else holders - pre, 0)  # first half-way to zero, then flips
        front = pool_push_weth(hv, 45) if sandwich else 0
        if front:
            hv.swap(accomplice, weth_out=front)
        try:
            tx = vault.rebalance(target, 0, chain.time() + 600, hv.nonce(), hv.tx(keeper))
            ev = tx.events["Rebalanced"]
            losses.append(hv.loss_at_oracle(abs(ev["baseChangeWad"]), abs(ev["quoteChange"]), ev["baseChangeWad"] > 0))
        except Exception as exc:  # noqa: BLE001 - the revert reason is the assertion
            refusals.append(str(getattr(exc, "revert_msg", exc)).split(":")[0])
        if front:
            hv.swap(accomplice, weth_in=front)
        hv.advance(INTERVAL)
    assert len(losses) == 1, losses  # the legitimate hedge step only
    assert refusals == ["NotTowardZero"] * 14, refusals
    nav_loss = nav0 - vault.totalAssets()
    accomplice_gain = _worth(hv, accomplice) - accomplice0
    print(f"churn ({'sandwich' if sandwich else 'alone'}): 1 trade executed, 14 refused; vault lost {nav_loss / USD:,.2f} "
          f"USDC (the hedge's own cost {losses[0] / USD:,.2f}); accomplice {accomplice_gain / USD:+,.2f} USDC")
    assert nav_loss <= losses[0] + USD  # the hedge's cost, plus the book's mark drifting over 75 minutes
    assert accomplice_gain <= losses[0]


def test_without_the_dust_a_flip_that_crosses_zero_pays_nothing_extra(hv, vault, keeper, short_book):
    """The direct form: from -2.5, a target that ends at +2.5 is refused with the values that explain it."""
    holders = vault.valuation()[3]
    with reverts_with("NotTowardZero", NUM, NUM, DUST):
        vault.rebalance(2 * holders, 0, chain.time() + 600, 0, hv.tx(keeper))
    assert hv.nonce() == 0


def test_dust_trades_that_each_pay_the_whole_bound_are_stopped_by_the_loss_budget(hv, vault, keeper, short_book,
                                                                                   accomplice):
    """A keeper grinds 0.2 WETH toward zero every interval while its accomplice pushes the pool to
    just inside the execution bound before each trade, so that every trade pays (nearly) the whole
    bound: fee, impact and the 50 bps tolerance. With a loss budget of 20 USDC a day the grinding is
    refused within a few trades, and over the T seconds it ran the vault lost at most
    20 x (1 + T / day) USDC."""
    cap = 20 * USD
    vault.setBudgetParams(hv.params_with("budget", maxExecutionLossQuote=cap), hv.tx(hv.as_timelock()))
    step = WAD // 5
    trades, started = [], chain.time()
    for _ in range(12):
        hv.arbitrage()
        base = hv.weth.balanceOf(vault)
        front = pool_push_weth(hv, 45)
        hv.swap(accomplice, weth_out=front)
        bound = hv.execution_bound(step, True)
        try:
            tx = vault.rebalance(base + step, 0, chain.time() + 600, hv.nonce(), hv.tx(keeper))
        except Exception as exc:  # noqa: BLE001
            assert "LossBudgetExceeded" in str(getattr(exc, "revert_msg", exc)), exc
            hv.swap(accomplice, weth_in=front)
            break
        paid = -tx.events["Rebalanced"]["quoteChange"]
        assert paid * 10_000 >= bound * 9_990  # within 10 bps of the whole bound
        trades.append((chain[tx.block_number].timestamp, hv.loss_at_oracle(step, paid, True)))
        hv.swap(accomplice, weth_in=front)
        hv.advance(INTERVAL)
    else:
        pytest.fail("the loss budget never stopped the grinding")
    lost = sum(loss for _, loss in trades)
    span = trades[-1][0] - started
    allowed = cap + cap * span // DAY
    print(f"grinding: {len(trades)} trades of 0.2 WETH lost {lost / USD:.2f} USDC against the oracle in {span} s; "
          f"budget allows {allowed / USD:.2f}")
    assert 2 <= len(trades) and lost <= allowed
    assert lost > cap * 3 // 4  # the budget, not something else, was what bound


def test_the_base_budget_stops_a_keeper_that_trades_too_much(hv, vault, keeper, short_book):
    vault.setBudgetParams(hv.params_with("budget", maxBaseTradedWad=WAD), hv.tx(hv.as_timelock()))
    base = hv.weth.balanceOf(vault)
    with reverts_with("BaseBudgetExceeded", 2 * WAD, WAD):
        vault.rebalance(base + 2 * WAD, 0, chain.time() + 600, 0, hv.tx(keeper))
    vault.rebalance(base + WAD, 0, chain.time() + 600, 0, hv.tx(keeper))
    check = tuple(vault.rebalanceCheck())
    assert (check[0], check[1], check[6]) == (False, 8, 0)  # BudgetSpent: nothing left


# ------------------------------------------------------------------------- must, not may


@pytest.fixture
def keeper_stops(hv, vault, keeper, depositor, buyer):
    """The keeper hedges once (3 WETH of calls), then stops; buyers take 4 more: net ~ -6 WETH, past
    the 5 WETH hard band. Returns the time of the keeper's last rebalance."""
    hv.deposit(depositor, 100_000 * USD)
    sid = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, sid, 3 * WAD)
    tx = hv.rebalance()
    hv.arbitrage()
    hv.advance(600)
    hv.buy(buyer, sid, 6 * WAD)
    assert vault.valuation()[3] - hv.weth.balanceOf(vault) > 5 * WAD
    return chain[tx.block_number].timestamp


def test_before_the_grace_a_stranger_is_refused(hv, vault, keeper_stops, attacker):
    check = tuple(vault.rebalanceCheck())
    assert check[:2] == (True, OUTSIDE_HARD_BAND)  # the keeper may; nobody else yet
    with reverts_with("Unauthorized", attacker):
        vault.rebalance(check[2], 0, chain.time() + 600, hv.nonce(), hv.tx(attacker))


def test_after_the_grace_a_stranger_hedges_to_the_contracts_target_for_at_most_the_bounty(hv, vault, keeper_stops,
                                                                                           attacker):
    chain.sleep(max(keeper_stops + GRACE - chain.time(), 0))
    hv.refresh_oracles()
    check = tuple(vault.rebalanceCheck())
    assert check[:2] == (True, KEEPER_LATE)
    needed, _ = vault.checkUpkeep(b"")
    assert needed  # Chainlink Automation would act too
    before = hv.usdc.balanceOf(attacker)
    base = hv.weth.balanceOf(vault)
    tx = vault.rebalance(check[2], 0, chain.time() + 600, hv.nonce(), hv.tx(attacker))
    ev = tx.events["Rebalanced"]
    earned = hv.usdc.balanceOf(attacker) - before
    assert ev["reason"] == KEEPER_LATE and ev["caller"] == attacker
    assert hv.weth.balanceOf(vault) == check[2] and check[2] - base == 5 * WAD  # the contract's step: the cap
    assert earned == ev["bounty"] == BOUNTY * min(5 * WAD, 5 * WAD) // (5 * WAD) <= BOUNTY
    assert abs(ev["postDeltaWad"]) < abs(ev["preDeltaWad"])
    # Back inside the hard band, the must path closes: the rest is the keeper's again, after its interval.
    hv.arbitrage()
    with reverts_with("RebalanceNotNeeded", 4):  # IntervalNotElapsed
        vault.rebalance(vault.rebalanceCheck()[2], 0, chain.time() + 600, hv.nonce(), hv.tx(attacker))
    hv.advance(INTERVAL)
    with reverts_with("Unauthorized", attacker):
        vault.rebalance(vault.rebalanceCheck()[2], 0, chain.time() + 600, hv.nonce(), hv.tx(attacker))


def test_the_must_path_ignores_a_spent_budget(hv, vault, keeper, keeper_stops, attacker):
    """Past a budget only the must path remains: a keeper that spent the window's base budget cannot
    trade, but after the grace anyone may still hedge the vault."""
    vault.setBudgetParams(hv.params_with("budget", maxBaseTradedWad=10**16), hv.tx(hv.as_timelock()))
    chain.sleep(max(keeper_stops + GRACE - chain.time(), 0))
    hv.refresh_oracles()
    check = tuple(vault.rebalanceCheck())
    assert check[6] < check[3]  # less budget than the trade
    tx = vault.rebalance(check[2], 0, chain.time() + 600, hv.nonce(), hv.tx(attacker))
    assert tx.events["Rebalanced"]["reason"] == KEEPER_LATE


def test_two_keepers_without_coordination_hedge_once(hv, vault, keeper, calls, deployer):
    """Two keeper processes on two servers see the same check and send the same trade: the expected
    nonce lets exactly one through."""
    second = accounts.add()
    deployer.transfer(second, WAD, silent=True)
    vault.grantRole(vault.KEEPER_ROLE(), second, hv.tx(hv.as_timelock()))
    check = tuple(vault.rebalanceCheck())
    nonce = hv.nonce()
    vault.rebalance(check[2], 0, chain.time() + 600, nonce, hv.tx(keeper))
    with reverts_with("StaleNonce", nonce, nonce + 1):
        vault.rebalance(check[2], 0, chain.time() + 600, nonce, hv.tx(second))
    assert hv.weth.balanceOf(vault) == check[2]
