// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MarginLib
/// @notice Scenario-margin and hedge-target arithmetic for the vault, kept pure so it can be
///         read (and tested) apart from the vault's storage.
library MarginLib {
    uint256 internal constant BPS = 10_000;

    /// @notice [spot, spot * (1 - stress), spot * (1 + stress)]: index 0 is the current price.
    function scenarioSpots(uint256 spotWad, uint256 stressBps) internal pure returns (uint256[3] memory spots) {
        spots[0] = spotWad;
        spots[1] = spotWad * (BPS - stressBps) / BPS;
        spots[2] = spotWad * (BPS + stressBps) / BPS;
    }

    function min3(int256[3] memory x) internal pure returns (int256 m) {
        m = x[0];
        if (x[1] < m) m = x[1];
        if (x[2] < m) m = x[2];
    }

    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    /// @notice Worst-case equity as a fraction of notional value, in bps; max when nothing is
    ///         written, zero when under water.
    function ratioBps(int256 worstEquityWad, uint256 notionalValueWad) internal pure returns (uint256) {
        if (notionalValueWad == 0) return type(uint256).max;
        if (worstEquityWad <= 0) return 0;
        return uint256(worstEquityWad) * BPS / notionalValueWad;
    }

    /// @notice The long-only full hedge: hold the holders' delta in base when it is positive,
    ///         nothing when the book is put-heavy. The step toward it is capped at `maxTradeWad`.
    /// @return targetWad where this step ends; sizeWad its size; buyBase its direction.
    function hedgeTarget(uint256 baseWad, int256 holdersDeltaWad, uint256 maxTradeWad)
        internal
        pure
        returns (uint256 targetWad, uint256 sizeWad, bool buyBase)
    {
        uint256 full = holdersDeltaWad > 0 ? uint256(holdersDeltaWad) : 0;
        buyBase = full > baseWad;
        sizeWad = buyBase ? full - baseWad : baseWad - full;
        if (sizeWad > maxTradeWad) sizeWad = maxTradeWad;
        targetWad = buyBase ? baseWad + sizeWad : baseWad - sizeWad;
    }
}
