// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title NoOffsetVault
/// @notice Test-only WEAKENED vault: a bare OpenZeppelin ERC-4626 over the same asset with no
///         virtual-share offset (OZ's default `_decimalsOffset() = 0`). The adversarial suite runs
///         the first-depositor donation attack against it to show the attack works when
///         HedgeVault's defence (DECIMALS_OFFSET = 6) is absent. Never deployed by scripts/deploy.py.
contract NoOffsetVault is ERC4626 {
    constructor(IERC20 asset_) ERC4626(asset_) ERC20("No-offset vault", "NOV") {}
}
