// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title TestRawFeed
/// @notice An AggregatorV3Interface whose every field the tests set directly, including the ones
///         Chainlink's MockV3Aggregator ties together (answeredInRound < roundId for an incomplete round)
///         and a switch that makes every call revert. Test-only.
contract TestRawFeed is AggregatorV3Interface {
    uint8 public override decimals;
    bool public reverts;

    uint80 internal _roundId;
    int256 internal _answer;
    uint256 internal _startedAt;
    uint256 internal _updatedAt;
    uint80 internal _answeredInRound;

    error TestRawFeedReverted();

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }

    function setRound(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        external
    {
        (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound) =
            (roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    function setDecimals(uint8 decimals_) external {
        decimals = decimals_;
    }

    function setReverts(bool reverts_) external {
        reverts = reverts_;
    }

    function description() external pure override returns (string memory) {
        return "TestRawFeed";
    }

    function version() external pure override returns (uint256) {
        return 0;
    }

    function getRoundData(uint80)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return _round();
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return _round();
    }

    function _round() internal view returns (uint80, int256, uint256, uint256, uint80) {
        if (reverts) revert TestRawFeedReverted();
        return (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound);
    }
}
