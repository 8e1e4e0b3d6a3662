// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title HedgeTimelock
/// @notice OpenZeppelin's TimelockController, unchanged: it holds the vault's and the market's
///         admin and governor roles, so every risk-parameter change waits `minDelay` in public.
contract HedgeTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
