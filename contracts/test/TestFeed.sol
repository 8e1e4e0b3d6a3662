// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

/// @title TestFeed
/// @notice Chainlink's own aggregator mock, standing in for the price and implied-volatility
///         feeds on local chains: the AggregatorV3Interface the vault reads on a live chain, with
///         answers the tests and the demo drive (`updateAnswer`, `updateRoundData`).
contract TestFeed is MockV3Aggregator {
    constructor(uint8 decimals_, int256 initialAnswer) MockV3Aggregator(decimals_, initialAnswer) {}
}
