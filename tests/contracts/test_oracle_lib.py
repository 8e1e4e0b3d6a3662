"""OracleLib: normalisation to 18 decimals, one custom error (with its values) per failure mode, the
non-reverting tryRead verdicts, and the L2 sequencer grace period.

Brownie decodes a custom error from any ABI it has loaded (the harness ABI lists OracleLib's errors)
as "Name: arg1, arg2" with addresses in lower case; `brownie.reverts` matches that string exactly.
"""

from __future__ import annotations

from enum import IntEnum

import brownie
import pytest
from brownie import ZERO_ADDRESS, web3

WAD = 10**18
MAX_UINT = 2**256 - 1
HEARTBEAT = 3600
GRACE = 3600
PRICE_WAD = 3000_123456780000000000  # the fixtures' 3000.12345678
SEQUENCER_UP, SEQUENCER_DOWN = 0, 1  # Chainlink's L2 sequencer uptime feed answers


class Status(IntEnum):
    """OracleLib.Status, in declaration order."""

    Ok = 0
    CallFailed = 1
    DecimalsUnsupported = 2
    NonPositiveAnswer = 3
    UpdatedAtZero = 4
    UpdatedAtInFuture = 5
    StaleAnswer = 6
    IncompleteRound = 7
    AnswerBelowMin = 8
    AnswerAboveMax = 9
    SequencerDown = 10
    SequencerRoundInvalid = 11
    SequencerGracePeriodNotOver = 12


NO_SEQUENCER = (ZERO_ADDRESS, 0)


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


def cfg(feed, heartbeat=HEARTBEAT, lo=0, hi=MAX_UINT):
    return (feed if isinstance(feed, str) else feed.address, heartbeat, lo, hi)


def addr(x) -> str:
    return (x if isinstance(x, str) else x.address).lower()


def now(chain) -> int:
    """block.timestamp as an eth_call sees it: the latest block's."""
    return chain[-1].timestamp


def mine_at(chain, timestamp: int) -> None:
    """Mine one block at exactly `timestamp` (brownie 1.22's chain.mine(timestamp=...) and
    chain.mine(timedelta=...) send Anvil a malformed evm_mine)."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
    chain.mine()


def ints(values) -> list[int]:
    """A brownie ReturnValue as plain ints (bools and enums included), for tuple comparisons."""
    return [int(v) for v in values]


def sequencer_up_since(sequencer_feed, deployer, chain, seconds_ago: int) -> int:
    """Report the sequencer up since `seconds_ago` before the block that records it; returns upSince."""
    chain.mine()
    up_since = now(chain) - seconds_ago
    sequencer_feed.updateRoundData(2, SEQUENCER_UP, up_since, up_since, {"from": deployer})
    return up_since


# --------------------------------------------------------------------------------------- good reads


def test_8_and_18_decimal_feeds_normalise_to_the_same_wad(oracle, price_feed, price_feed_18):
    answer_8, updated_8 = oracle.read(cfg(price_feed))
    answer_18, updated_18 = oracle.read(cfg(price_feed_18))
    assert answer_8 == answer_18 == PRICE_WAD
    assert updated_8 == price_feed.latestRoundData()[3]
    assert updated_18 == price_feed_18.latestRoundData()[3]


@pytest.mark.parametrize(
    "decimals, answer, expected_wad",
    [
        (0, 5, 5 * WAD),
        (6, 3000_123456, 3000_123456 * 10**12),
        (20, 3000_12345678901234567891, 3000_123456789012345678),  # scaled down, rounded down
        (36, 3000 * 10**36 + 10**18 - 1, 3000 * WAD),  # the largest supported; rounds down
    ],
)
def test_other_decimals_normalise(oracle, raw_feed, deployer, chain, decimals, answer, expected_wad):
    raw_feed.setDecimals(decimals, {"from": deployer})
    raw_feed.setRound(1, answer, now(chain), now(chain), 1, {"from": deployer})
    assert oracle.read(cfg(raw_feed))[0] == expected_wad


def test_flat_argument_overloads_match_the_struct_ones(oracle, price_feed, sequencer_feed, deployer, chain):
    assert ints(oracle.readArgs(price_feed, HEARTBEAT, 0, MAX_UINT)) == ints(oracle.read(cfg(price_feed)))
    assert ints(oracle.tryReadArgs(price_feed, HEARTBEAT, 0, MAX_UINT)) == ints(oracle.tryRead(cfg(price_feed)))
    oracle.checkSequencerArgs(ZERO_ADDRESS, 0)
    sequencer_feed.updateAnswer(SEQUENCER_DOWN, {"from": deployer})
    with brownie.reverts("SequencerDown: "):
        oracle.checkSequencerArgs(sequencer_feed, GRACE)


def test_pinned_decimals_read_equals_the_asking_read(oracle, price_feed, price_feed_18, raw_feed, deployer, chain):
    """The vault pins each feed's decimals at construction (`decimalsOf`) and reads with them: the
    same answer, time and errors as the read that asks the feed every time."""
    for feed in (price_feed, price_feed_18):
        pinned = oracle.decimalsOf(feed)
        assert pinned == feed.decimals()
        assert ints(oracle.readPinned(feed, pinned, HEARTBEAT, 0, MAX_UINT)) == ints(oracle.read(cfg(feed)))
    updated_at = price_feed.latestRoundData()[3]
    mine_at(chain, updated_at + HEARTBEAT + 1)
    with brownie.reverts(f"OracleStaleAnswer: {addr(price_feed)}, {updated_at}, {HEARTBEAT}, {updated_at + HEARTBEAT + 1}"):
        oracle.readPinned(price_feed, 8, HEARTBEAT, 0, MAX_UINT)
    raw_feed.setDecimals(37, {"from": deployer})
    with brownie.reverts(f"OracleDecimalsUnsupported: {addr(raw_feed)}, 37"):
        oracle.decimalsOf(raw_feed)


def test_bounds_are_inclusive(oracle, price_feed):
    assert oracle.read(cfg(price_feed, lo=PRICE_WAD, hi=PRICE_WAD))[0] == PRICE_WAD


def test_answer_exactly_heartbeat_old_is_accepted_one_second_more_is_stale(oracle, price_feed, chain):
    updated_at = price_feed.latestRoundData()[3]
    mine_at(chain, updated_at + HEARTBEAT)
    assert oracle.read(cfg(price_feed))[0] == PRICE_WAD
    mine_at(chain, updated_at + HEARTBEAT + 1)
    with brownie.reverts(f"OracleStaleAnswer: {addr(price_feed)}, {updated_at}, {HEARTBEAT}, {updated_at + HEARTBEAT + 1}"):
        oracle.read(cfg(price_feed))


# --------------------------------------------------------------------------------------- failures
#
# Each scenario sets the chain up and returns (feed config, sequencer config, expected revert string,
# expected tryRead status, expected tryRead answerWad). The same table drives the reverting and the
# non-reverting tests, so `read` and `tryRead` cannot drift apart.


def _non_positive_zero(f):
    f.price_feed.updateAnswer(0, {"from": f.deployer})
    return cfg(f.price_feed), NO_SEQUENCER, f"OracleNonPositiveAnswer: {addr(f.price_feed)}, 0", 0


def _non_positive_negative(f):
    f.price_feed.updateAnswer(-1, {"from": f.deployer})
    return cfg(f.price_feed), NO_SEQUENCER, f"OracleNonPositiveAnswer: {addr(f.price_feed)}, -1", 0


def _scales_to_zero(f):
    f.raw_feed.setDecimals(20, {"from": f.deployer})
    f.raw_feed.setRound(1, 99, now(f.chain), now(f.chain), 1, {"from": f.deployer})
    return cfg(f.raw_feed), NO_SEQUENCER, f"OracleNonPositiveAnswer: {addr(f.raw_feed)}, 99", 0


def _updated_at_zero(f):
    f.price_feed.updateRoundData(7, 3000_12345678, 0, 0, {"from": f.deployer})
    return cfg(f.price_feed), NO_SEQUENCER, f"OracleUpdatedAtZero: {addr(f.price_feed)}, 7", PRICE_WAD


def _updated_in_future(f):
    future = now(f.chain) + 10 * 86400
    f.price_feed.updateRoundData(8, 3000_12345678, future, future, {"from": f.deployer})
    msg = f"OracleUpdatedAtInFuture: {addr(f.price_feed)}, {future}, {now(f.chain)}"
    return cfg(f.price_feed), NO_SEQUENCER, msg, PRICE_WAD


def _stale(f):
    updated_at = f.price_feed.latestRoundData()[3]
    mine_at(f.chain, updated_at + HEARTBEAT + 60)
    msg = f"OracleStaleAnswer: {addr(f.price_feed)}, {updated_at}, {HEARTBEAT}, {now(f.chain)}"
    return cfg(f.price_feed), NO_SEQUENCER, msg, PRICE_WAD


def _incomplete_round(f):
    f.raw_feed.setRound(10, 3000_12345678, now(f.chain), now(f.chain), 9, {"from": f.deployer})
    return cfg(f.raw_feed), NO_SEQUENCER, f"OracleIncompleteRound: {addr(f.raw_feed)}, 10, 9", PRICE_WAD


def _below_min(f):
    lo = 3001 * WAD
    msg = f"OracleAnswerBelowMin: {addr(f.price_feed)}, {PRICE_WAD}, {lo}"
    return cfg(f.price_feed, lo=lo), NO_SEQUENCER, msg, PRICE_WAD


def _above_max(f):
    hi = 2999 * WAD
    msg = f"OracleAnswerAboveMax: {addr(f.price_feed)}, {PRICE_WAD}, {hi}"
    return cfg(f.price_feed, hi=hi), NO_SEQUENCER, msg, PRICE_WAD


def _overflowing_answer(f):
    f.raw_feed.setDecimals(0, {"from": f.deployer})
    f.raw_feed.setRound(1, 2**255 - 1, now(f.chain), now(f.chain), 1, {"from": f.deployer})
    msg = f"OracleAnswerAboveMax: {addr(f.raw_feed)}, {MAX_UINT}, {MAX_UINT}"
    return cfg(f.raw_feed), NO_SEQUENCER, msg, MAX_UINT


def _decimals_unsupported(f):
    f.raw_feed.setDecimals(37, {"from": f.deployer})
    f.raw_feed.setRound(1, 3000 * 10**37, now(f.chain), now(f.chain), 1, {"from": f.deployer})
    return cfg(f.raw_feed), NO_SEQUENCER, f"OracleDecimalsUnsupported: {addr(f.raw_feed)}, 37", 0


def _feed_without_code(f):
    eoa = f.accounts[5].address
    return cfg(eoa), NO_SEQUENCER, f"OracleCallFailed: {addr(eoa)}", 0


def _feed_reverts(f):
    f.raw_feed.setRound(1, 3000_12345678, now(f.chain), now(f.chain), 1, {"from": f.deployer})
    f.raw_feed.setReverts(True, {"from": f.deployer})
    return cfg(f.raw_feed), NO_SEQUENCER, f"OracleCallFailed: {addr(f.raw_feed)}", 0


def _not_a_feed(f):
    # A contract without latestRoundData (and no fallback): the call reverts.
    return cfg(f.oracle), NO_SEQUENCER, f"OracleCallFailed: {addr(f.oracle)}", 0


def _sequencer_down(f):
    f.sequencer_feed.updateAnswer(SEQUENCER_DOWN, {"from": f.deployer})
    return cfg(f.price_feed), (f.sequencer_feed.address, GRACE), "SequencerDown: ", PRICE_WAD


def _sequencer_down_and_feed_stale(f):
    # The sequencer is checked first: its error wins over the feed's.
    f.sequencer_feed.updateAnswer(SEQUENCER_DOWN, {"from": f.deployer})
    mine_at(f.chain, now(f.chain) + 2 * HEARTBEAT)
    return cfg(f.price_feed), (f.sequencer_feed.address, GRACE), "SequencerDown: ", PRICE_WAD


def _sequencer_round_invalid(f):
    f.sequencer_feed.updateRoundData(3, SEQUENCER_UP, now(f.chain), 0, {"from": f.deployer})
    return cfg(f.price_feed), (f.sequencer_feed.address, GRACE), "SequencerRoundInvalid: ", PRICE_WAD


def _sequencer_in_grace(f):
    up_since = sequencer_up_since(f.sequencer_feed, f.deployer, f.chain, 100)
    msg = f"SequencerGracePeriodNotOver: {up_since}, {GRACE}"
    return cfg(f.price_feed), (f.sequencer_feed.address, GRACE), msg, PRICE_WAD


def _sequencer_without_code(f):
    eoa = f.accounts[6].address
    return cfg(f.price_feed), (eoa, GRACE), f"OracleCallFailed: {addr(eoa)}", PRICE_WAD


FAILURES = {
    "non_positive_zero": (_non_positive_zero, Status.NonPositiveAnswer),
    "non_positive_negative": (_non_positive_negative, Status.NonPositiveAnswer),
    "scales_to_zero": (_scales_to_zero, Status.NonPositiveAnswer),
    "updated_at_zero": (_updated_at_zero, Status.UpdatedAtZero),
    "updated_in_future": (_updated_in_future, Status.UpdatedAtInFuture),
    "stale": (_stale, Status.StaleAnswer),
    "incomplete_round": (_incomplete_round, Status.IncompleteRound),
    "below_min": (_below_min, Status.AnswerBelowMin),
    "above_max": (_above_max, Status.AnswerAboveMax),
    "overflowing_answer": (_overflowing_answer, Status.AnswerAboveMax),
    "decimals_unsupported": (_decimals_unsupported, Status.DecimalsUnsupported),
    "feed_without_code": (_feed_without_code, Status.CallFailed),
    "feed_reverts": (_feed_reverts, Status.CallFailed),
    "not_a_feed": (_not_a_feed, Status.CallFailed),
    "sequencer_down": (_sequencer_down, Status.SequencerDown),
    "sequencer_down_and_feed_stale": (_sequencer_down_and_feed_stale, Status.SequencerDown),
    "sequencer_round_invalid": (_sequencer_round_invalid, Status.SequencerRoundInvalid),
    "sequencer_in_grace": (_sequencer_in_grace, Status.SequencerGracePeriodNotOver),
    "sequencer_without_code": (_sequencer_without_code, Status.CallFailed),
}


class Fixtures:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture
def f(oracle, price_feed, raw_feed, sequencer_feed, deployer, accounts, chain):
    return Fixtures(
        oracle=oracle, price_feed=price_feed, raw_feed=raw_feed, sequencer_feed=sequencer_feed,
        deployer=deployer, accounts=accounts, chain=chain,
    )


@pytest.mark.parametrize("name", FAILURES)
def test_each_failure_reverts_with_its_own_error(oracle, f, name):
    setup, _ = FAILURES[name]
    config, sequencer, message, _ = setup(f)
    with brownie.reverts(message):
        oracle.readWithSequencer(config, sequencer)
    if sequencer == NO_SEQUENCER:
        with brownie.reverts(message):
            oracle.read(config)


@pytest.mark.parametrize("name", FAILURES)
def test_try_read_reports_each_failure_without_reverting(oracle, f, name):
    setup, status = FAILURES[name]
    config, sequencer, _, answer_wad = setup(f)
    ok, answer, _, got = oracle.tryReadWithSequencer(config, sequencer)
    assert (ok, got) == (False, status)
    assert answer == answer_wad  # a failed read still shows what the feed said, when it said anything


def test_try_read_returns_the_stale_answer_and_its_time(oracle, price_feed, chain):
    updated_at = price_feed.latestRoundData()[3]
    mine_at(chain, updated_at + HEARTBEAT + 1)
    assert ints(oracle.tryRead(cfg(price_feed))) == [False, PRICE_WAD, updated_at, Status.StaleAnswer]


def test_try_read_ok(oracle, price_feed):
    updated_at = price_feed.latestRoundData()[3]
    assert ints(oracle.tryRead(cfg(price_feed))) == [True, PRICE_WAD, updated_at, Status.Ok]
    assert ints(oracle.tryReadWithSequencer(cfg(price_feed), NO_SEQUENCER)) == [True, PRICE_WAD, updated_at, Status.Ok]


def test_every_failure_status_is_exercised():
    assert {s for _, s in FAILURES.values()} == set(Status) - {Status.Ok}


# --------------------------------------------------------------------------------------- sequencer


def test_no_sequencer_feed_means_no_check(oracle, price_feed):
    oracle.checkSequencer(NO_SEQUENCER)
    assert oracle.readWithSequencer(cfg(price_feed), NO_SEQUENCER)[0] == PRICE_WAD
    assert oracle.trySequencer(NO_SEQUENCER) == Status.Ok


def test_sequencer_grace_period_is_honoured(oracle, price_feed, sequencer_feed, deployer, chain):
    """Down, then back up: reads are refused while block.timestamp - upSince <= grace (Chainlink's
    reference check), accepted from grace + 1 seconds on."""
    sequencer = (sequencer_feed.address, GRACE)
    sequencer_feed.updateAnswer(SEQUENCER_DOWN, {"from": deployer})
    with brownie.reverts("SequencerDown: "):
        oracle.checkSequencer(sequencer)

    up_since = sequencer_up_since(sequencer_feed, deployer, chain, 0)
    for elapsed in (0, GRACE // 2, GRACE):
        mine_at(chain, up_since + elapsed)
        with brownie.reverts(f"SequencerGracePeriodNotOver: {up_since}, {GRACE}"):
            oracle.readWithSequencer(cfg(price_feed), sequencer)
        assert oracle.trySequencer(sequencer) == Status.SequencerGracePeriodNotOver

    mine_at(chain, up_since + GRACE + 1)
    oracle.checkSequencer(sequencer)
    assert oracle.trySequencer(sequencer) == Status.Ok
    price_feed.updateAnswer(3000_12345678, {"from": deployer})  # fresh: an hour has passed
    assert oracle.readWithSequencer(cfg(price_feed), sequencer)[0] == PRICE_WAD


def test_sequencer_status_change_in_the_future_is_not_past_grace(oracle, sequencer_feed, deployer, chain):
    """startedAt after block.timestamp (feed and chain clocks disagree): still inside the grace period."""
    chain.mine()
    started = now(chain) + 500
    sequencer_feed.updateRoundData(4, SEQUENCER_UP, started, started, {"from": deployer})
    with brownie.reverts(f"SequencerGracePeriodNotOver: {started}, {GRACE}"):
        oracle.checkSequencer((sequencer_feed.address, GRACE))


def test_any_non_zero_sequencer_status_is_down(oracle, sequencer_feed, deployer, chain):
    sequencer_feed.updateRoundData(5, 2, now(chain), 1, {"from": deployer})
    with brownie.reverts("SequencerDown: "):
        oracle.checkSequencer((sequencer_feed.address, GRACE))


def test_read_gas_is_reported(oracle, price_feed, sequencer_feed, deployer, chain):
    sequencer_up_since(sequencer_feed, deployer, chain, 2 * GRACE)
    price_feed.updateAnswer(3000_12345678, {"from": deployer})
    plain = oracle.gasRead(cfg(price_feed), NO_SEQUENCER)
    with_sequencer = oracle.gasRead(cfg(price_feed), (sequencer_feed.address, GRACE))
    print(f"\nOracleLib.read gas (cold feed in an eth_call): {plain}; with sequencer check: {with_sequencer}")
    assert 0 < plain < 20_000 and plain < with_sequencer < 35_000
