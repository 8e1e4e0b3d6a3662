"""Item 6: governance and roles, the cases tests/vault/test_governance.py does not already cover.

Already covered there (not repeated): each setter's lower/upper bounds for most fields, inclusive
bounds, the live-series cap vs the live count, the timelock refusing an execution before its delay
and accepting it after (one operation), the minimum delay, proposer/executor-only, cancel, the
delay changing only through itself, governor-only setters for every non-governor role, guardian
pause/unpause, the guardian's withdraw/redeem/rebalance/payout/grantRole refusals.

Added here:
- the bounds that depend on another field (max price/vol below the min; min vol above the max);
- every governed function scheduled together: nothing applies before the delay, all after it;
- the guardian tried on every function that moves or could redirect funds, paused and not, with
  every balance unchanged; the keeper on every privileged function besides `rebalance`;
- renounced roles: the old holder is refused; transferred roles (through the timelock): the new
  holder acts, the old one is refused, including the timelock's own proposer and executor roles.
"""

from __future__ import annotations

import pytest
from brownie import accounts, chain

from tests.vault.conftest import (
    DAY,
    NUM,
    TIMELOCK_DELAY,
    USD,
    WAD,
    ZERO_BYTES32,
    name32,
    reverts_with,
)

ADMIN = ZERO_BYTES32
READY = b"\x00" * 31 + b"\x04"  # OZ TimelockController's Ready state bit


# ------------------------------------------------------------------------- bounds not yet covered


@pytest.mark.parametrize("field,value,error_field,error_value,lo,hi", [
    ("maxPriceWad", WAD - 1, "minPriceWad", WAD, 10**12, WAD - 1),  # max below the min
    ("minVolWad", 3 * WAD + 1, "minVolWad", 3 * WAD + 1, 10**16, 3 * WAD),  # min above the max
    ("maxVolWad", 5 * 10**16 - 1, "minVolWad", 5 * 10**16, 10**16, 5 * 10**16 - 1),  # max below the min
])
def test_oracle_bounds_that_depend_on_another_field(hv, vault, field, value, error_field, error_value, lo, hi):
    """Defence: `_setOracleParams` checks min <= max for price and vol (ParameterOutOfBounds names the
    first field that fails: the min against the new max)."""
    with reverts_with("ParameterOutOfBounds", name32(error_field), error_value, lo, hi):
        vault.setOracleParams(hv.params_with("oracle", **{field: value}), hv.tx(hv.as_timelock()))


# ------------------------------------------------------------------------- the delay, for everything


def test_no_governed_change_applies_before_the_delay(hv, vault, market, timelock, governor, attacker):
    """Defence: the TimelockController holds every admin and governor role. All governed functions,
    scheduled as one batch: execution fails before the delay (state unchanged), succeeds after it."""
    calls = [
        (vault, vault.setHedgeParams.encode_input(hv.params_with("hedge", executionToleranceBps=100))),
        (vault, vault.setRiskParams.encode_input(hv.params_with("risk", stressBps=2_500))),
        (vault, vault.setOracleParams.encode_input(hv.params_with("oracle", priceHeartbeatSeconds=7_200))),
        (vault, vault.setDepositCap.encode_input(5 * USD)),
        (vault, vault.setEmergencyBounty.encode_input(1 * USD)),
        (vault, vault.grantRole.encode_input(vault.KEEPER_ROLE(), attacker)),
        (market, market.setMarketParams.encode_input(hv.params_with("market", spreadBps=0))),
        (market, market.grantRole.encode_input(market.LISTER_ROLE(), attacker)),
    ]
    targets, payloads = [c[0] for c in calls], [c[1] for c in calls]
    values = [0] * len(calls)
    salt = "0x" + "ab" * 32
    timelock.scheduleBatch(targets, values, payloads, ZERO_BYTES32, salt, TIMELOCK_DELAY, hv.tx(governor))
    op = timelock.hashOperationBatch(targets, values, payloads, ZERO_BYTES32, salt)
    chain.sleep(TIMELOCK_DELAY - 60)
    with reverts_with("TimelockUnexpectedOperationState", op, READY):
        timelock.executeBatch(targets, values, payloads, ZERO_BYTES32, salt, hv.tx(governor))
    assert vault.depositCap() == 10_000_000 * USD and not vault.hasRole(vault.KEEPER_ROLE(), attacker)
    chain.sleep(120)
    timelock.executeBatch(targets, values, payloads, ZERO_BYTES32, salt, hv.tx(governor))
    assert hv.params("hedge")["executionToleranceBps"] == 100
    assert hv.params("risk")["stressBps"] == 2_500
    assert hv.params("oracle")["priceHeartbeatSeconds"] == 7_200
    assert (vault.depositCap(), vault.emergencyBounty()) == (5 * USD, 1 * USD)
    assert hv.params("market")["spreadBps"] == 0
    assert vault.hasRole(vault.KEEPER_ROLE(), attacker) and market.hasRole(market.LISTER_ROLE(), attacker)


# ------------------------------------------------------------------------- role separation


@pytest.fixture
def book(hv, depositor, buyer):
    """LP money, a written series, a settled series with a payoff owed, a hedge held, and the next
    hedge due (so a rebalance fails on its caller, not on `RebalanceNotNeeded`)."""
    hv.deposit(depositor, 100_000 * USD)
    live = hv.list_series(5_000, 7 * DAY, True)
    hv.buy(buyer, live, 3 * WAD)
    settled = hv.list_series(9_000, 3_700, True)
    hv.buy(buyer, settled, WAD)
    hv.settle(settled, price_usd=3_000)
    hv.arbitrage()
    hv.rebalance()
    hv.buy(buyer, live, 3 * WAD)  # a new hedge is due (past the minimum interval)
    hv.advance(301)
    hv.arbitrage()
    assert hv.vault.rebalanceCheck()[0]
    return live, settled


def _balances(hv, who_list):
    out = []
    for who in who_list:
        out += [hv.usdc.balanceOf(who), hv.weth.balanceOf(who), hv.vault.balanceOf(who)]
    return out


@pytest.mark.parametrize("paused", [False, True], ids=["unpaused", "paused"])
def test_the_guardian_pauses_but_moves_no_funds(hv, vault, market, timelock, book, guardian, depositor, buyer, paused):
    """Defence: GUARDIAN_ROLE grants `pause` only. As guardian (paused or not), every function that
    moves value or could redirect it is refused with its error, and no balance of the vault, the
    market, an LP, a holder or the guardian changes."""
    live, settled = book
    if paused:
        vault.pause(hv.tx(guardian))
    watched = [vault, market, depositor, buyer, guardian]
    before = _balances(hv, watched) + [market.balanceOf(buyer, live), market.balanceOf(buyer, settled)]
    shares = vault.balanceOf(depositor) // 10
    check = vault.rebalanceCheck()
    attempts = [
        (("ERC20InsufficientAllowance", guardian, 0, NUM), vault.withdraw, (USD, guardian, depositor)),
        (("ERC20InsufficientAllowance", guardian, 0, shares), vault.redeem, (shares, guardian, depositor)),
        (("ERC20InsufficientAllowance", guardian, 0, shares), vault.transferFrom, (depositor, guardian, shares)),
        (("EnforcedPause",) if paused else ("Unauthorized", guardian), vault.rebalance,
         (check[2] + WAD, 0, chain.time() + 600, hv.nonce())),
        (("EnforcedPause",) if paused else ("Unauthorized", guardian), vault.performUpkeep,
         (vault.checkUpkeep(b"")[1],)),
        (("OnlyMarket", guardian), vault.payout, (guardian, 10 * USD)),
        (("AccessControlUnauthorizedAccount", guardian, ADMIN), vault.grantRole, (vault.KEEPER_ROLE(), guardian)),
        (("AccessControlUnauthorizedAccount", guardian, vault.GOVERNOR_ROLE()), vault.setDepositCap, (0,)),
        (("AccessControlUnauthorizedAccount", guardian, vault.GOVERNOR_ROLE()), vault.unpause, ()),
        (("ERC1155MissingApprovalForAll", guardian, buyer), market.safeTransferFrom,
         (buyer, guardian, settled, WAD, b"")),
        (("ERC1155MissingApprovalForAll", guardian, buyer), market.safeBatchTransferFrom,
         (buyer, guardian, [live, settled], [WAD, WAD], b"")),
        (("ERC1155InsufficientBalance", guardian, 0, WAD, settled), market.redeem, (settled, WAD)),
        (("AccessControlUnauthorizedAccount", guardian, ADMIN), market.grantRole, (market.LISTER_ROLE(), guardian)),
        (("AccessControlUnauthorizedAccount", guardian, ADMIN), market.initializeVault, (guardian,)),
        (("AccessControlUnauthorizedAccount", guardian, timelock.PROPOSER_ROLE()), timelock.schedule,
         (vault, 0, vault.setDepositCap.encode_input(0), ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY)),
    ]
    if paused:  # unpaused, a second pause would succeed: that is the guardian's one power
        attempts.append((("EnforcedPause",), vault.pause, ()))
    for error, fn, args in attempts:
        with reverts_with(*error):
            fn(*args, hv.tx(guardian))
    after = _balances(hv, watched) + [market.balanceOf(buyer, live), market.balanceOf(buyer, settled)]
    assert after == before


def test_the_keeper_changes_no_parameters_or_roles(hv, vault, market, timelock, book, keeper):
    """Defence: KEEPER_ROLE grants `rebalance`/`performUpkeep` only; every setter is GOVERNOR_ROLE
    (timelock), roles are the admin's (timelock), listing is the lister's, pausing the guardian's."""
    gov, admin = vault.GOVERNOR_ROLE(), ADMIN
    attempts = [
        (("AccessControlUnauthorizedAccount", keeper, gov), vault.setHedgeParams, (hv.params_with("hedge", executionToleranceBps=200),)),
        (("AccessControlUnauthorizedAccount", keeper, gov), vault.setRiskParams, (hv.params_with("risk"),)),
        (("AccessControlUnauthorizedAccount", keeper, gov), vault.setOracleParams, (hv.params_with("oracle"),)),
        (("AccessControlUnauthorizedAccount", keeper, gov), vault.setDepositCap, (0,)),
        (("AccessControlUnauthorizedAccount", keeper, gov), vault.setEmergencyBounty, (100 * USD,)),
        (("AccessControlUnauthorizedAccount", keeper, gov), market.setMarketParams, (hv.params_with("market"),)),
        (("AccessControlUnauthorizedAccount", keeper, admin), vault.grantRole, (vault.GUARDIAN_ROLE(), keeper)),
        (("AccessControlUnauthorizedAccount", keeper, admin), vault.revokeRole, (vault.GUARDIAN_ROLE(), hv.guardian)),
        (("AccessControlUnauthorizedAccount", keeper, admin), market.grantRole, (market.LISTER_ROLE(), keeper)),
        (("AccessControlUnauthorizedAccount", keeper, market.LISTER_ROLE()), market.listSeries,
         (hv.spot_wad(), chain.time() + DAY, True)),
        (("AccessControlUnauthorizedAccount", keeper, vault.GUARDIAN_ROLE()), vault.pause, ()),
        (("OnlyMarket", keeper), vault.payout, (keeper, USD)),
        (("AccessControlUnauthorizedAccount", keeper, timelock.PROPOSER_ROLE()), timelock.schedule,
         (vault, 0, vault.setDepositCap.encode_input(0), ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY)),
    ]
    for error, fn, args in attempts:
        with reverts_with(*error):
            fn(*args, hv.tx(keeper))


# ------------------------------------------------------------------------- renounced roles


def test_renounced_roles_are_refused_to_their_old_holders(hv, vault, market, timelock, book, keeper, guardian, lister,
                                                         governor, attacker):
    """Defence: AccessControl's `renounceRole` (only for oneself: `AccessControlBadConfirmation`
    otherwise). After each holder renounces, its own calls fail with the role's error."""
    with reverts_with("AccessControlBadConfirmation"):
        vault.renounceRole(vault.KEEPER_ROLE(), keeper, hv.tx(attacker))  # nobody renounces for another
    held = [(vault, vault.KEEPER_ROLE(), keeper), (vault, vault.GUARDIAN_ROLE(), guardian),
            (market, market.LISTER_ROLE(), lister), (timelock, timelock.PROPOSER_ROLE(), governor)]
    assert all(c.hasRole(role, who) for c, role, who in held)
    assert vault.rebalanceCheck()[0]  # a rebalance is due: the keeper's refusal below is the role's doing
    vault.renounceRole(vault.KEEPER_ROLE(), keeper, hv.tx(keeper))
    vault.renounceRole(vault.GUARDIAN_ROLE(), guardian, hv.tx(guardian))
    market.renounceRole(market.LISTER_ROLE(), lister, hv.tx(lister))
    timelock.renounceRole(timelock.PROPOSER_ROLE(), governor, hv.tx(governor))
    assert not any(c.hasRole(role, who) for c, role, who in held)
    with reverts_with("Unauthorized", keeper):
        vault.rebalance(WAD, 0, chain.time() + 600, hv.nonce(), hv.tx(keeper))
    with reverts_with("AccessControlUnauthorizedAccount", guardian, vault.GUARDIAN_ROLE()):
        vault.pause(hv.tx(guardian))
    with reverts_with("AccessControlUnauthorizedAccount", lister, market.LISTER_ROLE()):
        market.listSeries(hv.spot_wad(), chain.time() + DAY, True, hv.tx(lister))
    with reverts_with("AccessControlUnauthorizedAccount", governor, timelock.PROPOSER_ROLE()):
        timelock.schedule(vault, 0, vault.setDepositCap.encode_input(0), ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY,
                          hv.tx(governor))


# ------------------------------------------------------------------------- transferred roles


def test_transferred_operational_roles_work_for_the_new_holder_only(hv, vault, market, calls, keeper, guardian,
                                                                    lister):
    """Defence: roles are granted and revoked only by the admin (the timelock). Keeper, guardian and
    lister move to new accounts in one timelocked batch: the new holders act, the old are refused."""
    new_keeper, new_guardian, new_lister = accounts.add(), accounts.add(), accounts.add()
    for a in (new_keeper, new_guardian, new_lister):
        hv.deployer.transfer(a, WAD, silent=True)
    ops = [
        (vault, vault.grantRole.encode_input(vault.KEEPER_ROLE(), new_keeper)),
        (vault, vault.revokeRole.encode_input(vault.KEEPER_ROLE(), keeper)),
        (vault, vault.grantRole.encode_input(vault.GUARDIAN_ROLE(), new_guardian)),
        (vault, vault.revokeRole.encode_input(vault.GUARDIAN_ROLE(), guardian)),
        (market, market.grantRole.encode_input(market.LISTER_ROLE(), new_lister)),
        (market, market.revokeRole.encode_input(market.LISTER_ROLE(), lister)),
    ]
    _govern_batch(hv, ops)
    hv.arbitrage()
    check = vault.rebalanceCheck()
    assert check[0]
    with reverts_with("Unauthorized", keeper):
        vault.rebalance(check[2], 0, chain.time() + 600, hv.nonce(), hv.tx(keeper))
    vault.rebalance(check[2], 0, chain.time() + 600, hv.nonce(), hv.tx(new_keeper))
    with reverts_with("AccessControlUnauthorizedAccount", lister, market.LISTER_ROLE()):
        market.listSeries(hv.spot_wad(), chain.time() + DAY, True, hv.tx(lister))
    market.listSeries(hv.spot_wad(), chain.time() + DAY, True, hv.tx(new_lister))
    with reverts_with("AccessControlUnauthorizedAccount", guardian, vault.GUARDIAN_ROLE()):
        vault.pause(hv.tx(guardian))
    vault.pause(hv.tx(new_guardian))
    assert vault.paused()


def test_transferred_governor_role_on_the_timelock(hv, vault, timelock, governor):
    """Defence: the timelock is its own admin, so its proposer/executor roles move only through a
    timelocked operation. After the hand-over the new governor schedules and executes; the old one
    can do neither."""
    new_gov = accounts.add()
    hv.deployer.transfer(new_gov, WAD, silent=True)
    P, E = timelock.PROPOSER_ROLE(), timelock.EXECUTOR_ROLE()
    _govern_batch(hv, [
        (timelock, timelock.grantRole.encode_input(P, new_gov)),
        (timelock, timelock.grantRole.encode_input(E, new_gov)),
        (timelock, timelock.revokeRole.encode_input(P, governor)),
        (timelock, timelock.revokeRole.encode_input(E, governor)),
    ])
    data = vault.setDepositCap.encode_input(7 * USD)
    with reverts_with("AccessControlUnauthorizedAccount", governor, P):
        timelock.schedule(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY, hv.tx(governor))
    timelock.schedule(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, TIMELOCK_DELAY, hv.tx(new_gov))
    chain.sleep(TIMELOCK_DELAY + 1)
    with reverts_with("AccessControlUnauthorizedAccount", governor, E):
        timelock.execute(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, hv.tx(governor))
    timelock.execute(vault, 0, data, ZERO_BYTES32, ZERO_BYTES32, hv.tx(new_gov))
    assert vault.depositCap() == 7 * USD


def _govern_batch(hv, ops):
    """Schedule `ops` as one timelock batch, wait the delay, execute (fresh oracle rounds after)."""
    tl = hv.timelock
    targets, payloads = [o[0] for o in ops], [o[1] for o in ops]
    values = [0] * len(ops)
    salt = "0x" + "cd" * 32
    tl.scheduleBatch(targets, values, payloads, ZERO_BYTES32, salt, TIMELOCK_DELAY, hv.tx(hv.governor))
    hv.advance(TIMELOCK_DELAY + 1)
    tl.executeBatch(targets, values, payloads, ZERO_BYTES32, salt, hv.tx(hv.governor))
