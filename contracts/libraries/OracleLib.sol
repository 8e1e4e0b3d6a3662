// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title OracleLib
/// @notice Checked reads of Chainlink AggregatorV3 feeds (the spot price and the implied-volatility feed),
///         normalised to 18 decimals, with an optional L2 sequencer-uptime check.
/// @dev A read is accepted only if, in this order:
///        1. the L2 sequencer feed (if configured) reports "up" (answer 0), its status round is
///           initialised (startedAt != 0), and it has been up for more than `gracePeriodSeconds`;
///        2. `latestRoundData()` and `decimals()` answer (the feed is a contract that returns the ABI
///           shape; a reverting or code-less feed is `CallFailed`) with decimals <= 36;
///        3. answer > 0 (and still > 0 after scaling down from more than 18 decimals);
///        4. updatedAt != 0 and updatedAt <= block.timestamp;
///        5. block.timestamp - updatedAt <= heartbeatSeconds;
///        6. answeredInRound >= roundId (the round that produced the answer is complete);
///        7. minAnswerWad <= answerWad <= maxAnswerWad (set max to type(uint256).max for no cap).
///      `read` reverts with the custom error of the first failed check, carrying the values that explain
///      it; `tryRead` never reverts and returns the same verdict as a `Status` for views (the vault's
///      risk snapshot). Feeds are called with a plain staticcall and the return data is length-checked
///      before decoding, so a wrong address cannot make `tryRead` revert.
///      `read(config)` asks the feed for its decimals on every call, so a stale scale can never
///      misprice. `read(feed, feedDecimals, ...)` takes decimals the caller pinned at deployment
///      (`decimalsOf`), as Morpho's ChainlinkOracle does, and saves that call (~2,300 gas per feed per
///      read), for callers whose feeds are immutable. A feed whose decimals changed afterwards would
///      be misread by a power of ten (docs/PRICING.md, "Decimals").
///      Scaling from more than 18 decimals rounds down.
library OracleLib {
    /// @notice One feed and the checks applied to it.
    /// @param feed The Chainlink aggregator (proxy).
    /// @param heartbeatSeconds Oldest acceptable answer age (the feed's heartbeat plus any margin).
    /// @param minAnswerWad Smallest acceptable answer after normalisation to 18 decimals.
    /// @param maxAnswerWad Largest acceptable answer after normalisation (type(uint256).max: no cap).
    struct FeedConfig {
        AggregatorV3Interface feed;
        uint32 heartbeatSeconds;
        uint256 minAnswerWad;
        uint256 maxAnswerWad;
    }

    /// @notice Optional L2 sequencer-uptime feed (answer 0 = up, 1 = down; startedAt = when the status
    ///         last changed). `feed` = address(0) disables the check (L1).
    struct SequencerConfig {
        AggregatorV3Interface feed;
        uint32 gracePeriodSeconds;
    }

    /// @notice Outcome of a read: `Ok` or the first check that failed (same order as the errors).
    enum Status {
        Ok,
        CallFailed,
        DecimalsUnsupported,
        NonPositiveAnswer,
        UpdatedAtZero,
        UpdatedAtInFuture,
        StaleAnswer,
        IncompleteRound,
        AnswerBelowMin,
        AnswerAboveMax,
        SequencerDown,
        SequencerRoundInvalid,
        SequencerGracePeriodNotOver
    }

    /// @notice The feed reverted, has no code, or returned data of the wrong shape.
    error OracleCallFailed(address feed);
    /// @notice The feed reports more than 36 decimals.
    error OracleDecimalsUnsupported(address feed, uint256 decimals);
    /// @notice answer <= 0, or an answer that scales down to 0 at 18 decimals.
    error OracleNonPositiveAnswer(address feed, int256 answer);
    /// @notice updatedAt == 0: the round was never completed.
    error OracleUpdatedAtZero(address feed, uint256 roundId);
    /// @notice updatedAt is after the current block's timestamp.
    error OracleUpdatedAtInFuture(address feed, uint256 updatedAt, uint256 blockTimestamp);
    /// @notice The answer is older than the heartbeat.
    error OracleStaleAnswer(address feed, uint256 updatedAt, uint256 heartbeatSeconds, uint256 blockTimestamp);
    /// @notice answeredInRound < roundId: the answer was carried over from an earlier round.
    error OracleIncompleteRound(address feed, uint256 roundId, uint256 answeredInRound);
    /// @notice The normalised answer is below the configured floor.
    error OracleAnswerBelowMin(address feed, uint256 answerWad, uint256 minAnswerWad);
    /// @notice The normalised answer is above the configured cap.
    error OracleAnswerAboveMax(address feed, uint256 answerWad, uint256 maxAnswerWad);
    /// @notice The L2 sequencer reports down (any non-zero status).
    error SequencerDown();
    /// @notice The sequencer status round is not initialised (startedAt == 0, seen on Arbitrum).
    error SequencerRoundInvalid();
    /// @notice The sequencer came back up at `upSince` and the grace period has not passed.
    error SequencerGracePeriodNotOver(uint256 upSince, uint256 gracePeriod);

    uint256 private constant MAX_DECIMALS = 36;
    uint256 private constant ROUND_DATA_BYTES = 5 * 32;

    /// @dev Everything a verdict needs, so that `read` can revert with context and `tryRead` can
    ///      return it. Round ids are kept as full words: comparing them needs no narrowing.
    struct Reading {
        Status status;
        uint256 answerWad;
        int256 answer;
        uint256 roundId;
        uint256 updatedAt;
        uint256 answeredInRound;
        uint256 decimals;
    }

    /*//////////////////////////////////////////////////////////////
                                REVERTING
    //////////////////////////////////////////////////////////////*/

    /// @notice The feed's answer at 18 decimals and its updatedAt, or a revert naming the failed check.
    function read(FeedConfig memory config) internal view returns (uint256 answerWad, uint256 updatedAt) {
        Reading memory r = _read(config);
        if (r.status != Status.Ok) _revert(config, r);
        return (r.answerWad, r.updatedAt);
    }

    /// @notice `checkSequencer` then `read`.
    function read(FeedConfig memory config, SequencerConfig memory sequencer)
        internal
        view
        returns (uint256 answerWad, uint256 updatedAt)
    {
        checkSequencer(sequencer);
        return read(config);
    }

    /// @notice `read` with the configuration as arguments (no memory struct at the call site).
    function read(AggregatorV3Interface feed, uint32 heartbeatSeconds, uint256 minAnswerWad, uint256 maxAnswerWad)
        internal
        view
        returns (uint256 answerWad, uint256 updatedAt)
    {
        return read(FeedConfig(feed, heartbeatSeconds, minAnswerWad, maxAnswerWad));
    }

    /// @notice `read` with the feed's decimals given (pinned by the caller with `decimalsOf`): one call
    ///         to the feed instead of two. `feedDecimals` must be <= 36 (`decimalsOf` guarantees it).
    function read(
        AggregatorV3Interface feed,
        uint8 feedDecimals,
        uint32 heartbeatSeconds,
        uint256 minAnswerWad,
        uint256 maxAnswerWad
    ) internal view returns (uint256 answerWad, uint256 updatedAt) {
        FeedConfig memory config = FeedConfig(feed, heartbeatSeconds, minAnswerWad, maxAnswerWad);
        Reading memory r = _readWith(config, true, feedDecimals);
        if (r.status != Status.Ok) _revert(config, r);
        return (r.answerWad, r.updatedAt);
    }

    /// @notice The feed's decimals, checked: reverts `OracleCallFailed` or `OracleDecimalsUnsupported`.
    function decimalsOf(AggregatorV3Interface feed) internal view returns (uint8) {
        (bool ok, uint256 decimals) = _decimals(address(feed));
        if (!ok) revert OracleCallFailed(address(feed));
        if (decimals > MAX_DECIMALS) revert OracleDecimalsUnsupported(address(feed), decimals);
        return uint8(decimals);
    }

    /// @notice `checkSequencer` with the configuration as arguments; `feed` = address(0) checks nothing.
    function checkSequencer(AggregatorV3Interface feed, uint32 gracePeriodSeconds) internal view {
        checkSequencer(SequencerConfig(feed, gracePeriodSeconds));
    }

    /// @notice Revert unless the sequencer (if configured) is up and past its grace period. Call once
    ///         before reading several feeds.
    function checkSequencer(SequencerConfig memory sequencer) internal view {
        (Status status, uint256 upSince) = _sequencerStatus(sequencer);
        if (status == Status.Ok) return;
        if (status == Status.CallFailed) revert OracleCallFailed(address(sequencer.feed));
        if (status == Status.SequencerDown) revert SequencerDown();
        if (status == Status.SequencerRoundInvalid) revert SequencerRoundInvalid();
        revert SequencerGracePeriodNotOver(upSince, sequencer.gracePeriodSeconds);
    }

    /*//////////////////////////////////////////////////////////////
                              NON-REVERTING
    //////////////////////////////////////////////////////////////*/

    /// @notice Like `read`, but never reverts.
    /// @return ok True iff every check passed.
    /// @return answerWad The normalised answer when the feed answered with a positive value and supported
    ///         decimals (even if a later check failed, so a view can show a stale price), else 0.
    ///         Never act on it when `ok` is false.
    /// @return updatedAt The round's updatedAt when the feed answered, else 0.
    /// @return status Ok, or the first failed check.
    function tryRead(FeedConfig memory config)
        internal
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, Status status)
    {
        Reading memory r = _read(config);
        return (r.status == Status.Ok, r.answerWad, r.updatedAt, r.status);
    }

    /// @notice `tryRead` with the configuration as arguments.
    function tryRead(AggregatorV3Interface feed, uint32 heartbeatSeconds, uint256 minAnswerWad, uint256 maxAnswerWad)
        internal
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, Status status)
    {
        return tryRead(FeedConfig(feed, heartbeatSeconds, minAnswerWad, maxAnswerWad));
    }

    /// @notice `tryRead` after the sequencer check; a sequencer failure is reported first, with the
    ///         feed's values still filled in.
    function tryRead(FeedConfig memory config, SequencerConfig memory sequencer)
        internal
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, Status status)
    {
        (Status sequencerStatus,) = _sequencerStatus(sequencer);
        (ok, answerWad, updatedAt, status) = tryRead(config);
        if (sequencerStatus != Status.Ok) (ok, status) = (false, sequencerStatus);
    }

    /// @notice The sequencer verdict without reverting: Ok, CallFailed, SequencerDown,
    ///         SequencerRoundInvalid or SequencerGracePeriodNotOver.
    function trySequencer(SequencerConfig memory sequencer) internal view returns (Status status) {
        (status,) = _sequencerStatus(sequencer);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    function _read(FeedConfig memory config) private view returns (Reading memory r) {
        return _readWith(config, false, 0);
    }

    /// @dev A reading with the decimals asked from the feed, or given (`decimalsKnown`).
    function _readWith(FeedConfig memory config, bool decimalsKnown, uint256 knownDecimals)
        private
        view
        returns (Reading memory r)
    {
        address feed = address(config.feed);
        bool ok;
        uint256 startedAt;
        (ok, r.roundId, r.answer, startedAt, r.updatedAt, r.answeredInRound) = _latestRoundData(feed);
        if (!ok) {
            r.status = Status.CallFailed;
            return r;
        }
        (ok, r.decimals) = decimalsKnown ? (true, knownDecimals) : _decimals(feed);
        if (!ok) {
            r.status = Status.CallFailed;
            return r;
        }
        if (r.decimals > MAX_DECIMALS) {
            r.status = Status.DecimalsUnsupported;
            return r;
        }
        bool overflow;
        if (r.answer > 0) (r.answerWad, overflow) = _toWad(uint256(r.answer), r.decimals);

        if (r.answerWad == 0) r.status = Status.NonPositiveAnswer;
        else if (r.updatedAt == 0) r.status = Status.UpdatedAtZero;
        else if (r.updatedAt > block.timestamp) r.status = Status.UpdatedAtInFuture;
        // updatedAt <= block.timestamp here, so the subtraction cannot underflow.
        else if (block.timestamp - r.updatedAt > config.heartbeatSeconds) r.status = Status.StaleAnswer;
        else if (r.answeredInRound < r.roundId) r.status = Status.IncompleteRound;
        else if (r.answerWad < config.minAnswerWad) r.status = Status.AnswerBelowMin;
        else if (overflow || r.answerWad > config.maxAnswerWad) r.status = Status.AnswerAboveMax;
    }

    function _revert(FeedConfig memory config, Reading memory r) private view {
        address feed = address(config.feed);
        Status s = r.status;
        if (s == Status.CallFailed) revert OracleCallFailed(feed);
        if (s == Status.DecimalsUnsupported) revert OracleDecimalsUnsupported(feed, r.decimals);
        if (s == Status.NonPositiveAnswer) revert OracleNonPositiveAnswer(feed, r.answer);
        if (s == Status.UpdatedAtZero) revert OracleUpdatedAtZero(feed, r.roundId);
        if (s == Status.UpdatedAtInFuture) revert OracleUpdatedAtInFuture(feed, r.updatedAt, block.timestamp);
        if (s == Status.StaleAnswer) {
            revert OracleStaleAnswer(feed, r.updatedAt, config.heartbeatSeconds, block.timestamp);
        }
        if (s == Status.IncompleteRound) revert OracleIncompleteRound(feed, r.roundId, r.answeredInRound);
        if (s == Status.AnswerBelowMin) revert OracleAnswerBelowMin(feed, r.answerWad, config.minAnswerWad);
        revert OracleAnswerAboveMax(feed, r.answerWad, config.maxAnswerWad);
    }

    /// @dev Scale a positive answer with `decimals` <= 36 to 18 decimals. On overflow (an answer above
    ///      ~1e59 at 0 decimals, never a real price) returns type(uint256).max and `overflow`, which the
    ///      caller turns into AnswerAboveMax whatever the configured cap.
    function _toWad(uint256 answer, uint256 decimals) private pure returns (uint256 answerWad, bool overflow) {
        unchecked {
            if (decimals > 18) return (answer / 10 ** (decimals - 18), false); // decimals <= 36: no overflow
            uint256 scale = 10 ** (18 - decimals); // <= 1e18
            if (answer > type(uint256).max / scale) return (type(uint256).max, true);
            return (answer * scale, false);
        }
    }

    function _sequencerStatus(SequencerConfig memory sequencer) private view returns (Status, uint256 upSince) {
        address feed = address(sequencer.feed);
        if (feed == address(0)) return (Status.Ok, 0);
        (bool ok,, int256 answer, uint256 startedAt,,) = _latestRoundData(feed);
        if (!ok) return (Status.CallFailed, 0);
        // 0 = up, 1 = down; anything else is not "up" either.
        if (answer != 0) return (Status.SequencerDown, startedAt);
        if (startedAt == 0) return (Status.SequencerRoundInvalid, 0);
        // Chainlink's reference check: reject while block.timestamp - startedAt <= grace. A startedAt in
        // the future (clock skew between the L2 and the feed) also means "not yet up long enough".
        if (startedAt > block.timestamp || block.timestamp - startedAt <= sequencer.gracePeriodSeconds) {
            return (Status.SequencerGracePeriodNotOver, startedAt);
        }
        return (Status.Ok, startedAt);
    }

    /// @dev latestRoundData() through a staticcall whose return data is length-checked before decoding:
    ///      a code-less address returns no data and a reverting feed returns ok = false, where a typed
    ///      call would revert in the caller (try/catch cannot catch a decoding failure).
    function _latestRoundData(address feed)
        private
        view
        returns (
            bool ok,
            uint256 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint256 answeredInRound
        )
    {
        (bool success, bytes memory data) = feed.staticcall(abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
        if (!success || data.length < ROUND_DATA_BYTES) return (false, 0, 0, 0, 0, 0);
        // Decoding the uint80 fields as full words accepts any value, so this cannot revert.
        (roundId, answer, startedAt, updatedAt, answeredInRound) =
            abi.decode(data, (uint256, int256, uint256, uint256, uint256));
        ok = true;
    }

    function _decimals(address feed) private view returns (bool ok, uint256 decimals) {
        (bool success, bytes memory data) = feed.staticcall(abi.encodeCall(AggregatorV3Interface.decimals, ()));
        if (!success || data.length < 32) return (false, 0);
        decimals = abi.decode(data, (uint256));
        ok = true;
    }
}
