// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {OracleLib} from "../libraries/OracleLib.sol";

/// @title OracleHarness
/// @notice Exposes the internal OracleLib to tests. Test-only.
contract OracleHarness {
    function read(OracleLib.FeedConfig memory config) external view returns (uint256 answerWad, uint256 updatedAt) {
        return OracleLib.read(config);
    }

    function readArgs(AggregatorV3Interface feed, uint32 heartbeatSeconds, uint256 minAnswerWad, uint256 maxAnswerWad)
        external
        view
        returns (uint256 answerWad, uint256 updatedAt)
    {
        return OracleLib.read(feed, heartbeatSeconds, minAnswerWad, maxAnswerWad);
    }

    function readPinned(
        AggregatorV3Interface feed,
        uint8 feedDecimals,
        uint32 heartbeatSeconds,
        uint256 minAnswerWad,
        uint256 maxAnswerWad
    ) external view returns (uint256 answerWad, uint256 updatedAt) {
        return OracleLib.read(feed, feedDecimals, heartbeatSeconds, minAnswerWad, maxAnswerWad);
    }

    function decimalsOf(AggregatorV3Interface feed) external view returns (uint8) {
        return OracleLib.decimalsOf(feed);
    }

    function checkSequencerArgs(AggregatorV3Interface feed, uint32 gracePeriodSeconds) external view {
        OracleLib.checkSequencer(feed, gracePeriodSeconds);
    }

    function tryReadArgs(AggregatorV3Interface feed, uint32 heartbeatSeconds, uint256 minAnswerWad, uint256 maxAnswerWad)
        external
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, OracleLib.Status status)
    {
        return OracleLib.tryRead(feed, heartbeatSeconds, minAnswerWad, maxAnswerWad);
    }

    function readWithSequencer(OracleLib.FeedConfig memory config, OracleLib.SequencerConfig memory sequencer)
        external
        view
        returns (uint256 answerWad, uint256 updatedAt)
    {
        return OracleLib.read(config, sequencer);
    }

    function checkSequencer(OracleLib.SequencerConfig memory sequencer) external view {
        OracleLib.checkSequencer(sequencer);
    }

    function tryRead(OracleLib.FeedConfig memory config)
        external
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, OracleLib.Status status)
    {
        return OracleLib.tryRead(config);
    }

    function tryReadWithSequencer(OracleLib.FeedConfig memory config, OracleLib.SequencerConfig memory sequencer)
        external
        view
        returns (bool ok, uint256 answerWad, uint256 updatedAt, OracleLib.Status status)
    {
        return OracleLib.tryRead(config, sequencer);
    }

    function trySequencer(OracleLib.SequencerConfig memory sequencer) external view returns (OracleLib.Status) {
        return OracleLib.trySequencer(sequencer);
    }

    /// @notice Gas of one checked read (sequencer included), measured with gasleft() around the call.
    function gasRead(OracleLib.FeedConfig memory config, OracleLib.SequencerConfig memory sequencer)
        external
        view
        returns (uint256 gasUsed)
    {
        uint256 before = gasleft();
        OracleLib.read(config, sequencer);
        gasUsed = before - gasleft();
    }
}
