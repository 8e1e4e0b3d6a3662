// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISwapAdapter
/// @notice The only seam between the vault and a DEX. The vault sends the input tokens to
///         `pool()` itself and then asks the adapter to swap; it never trusts the adapter's
///         return values and measures what it received by balance.
interface ISwapAdapter {
    /// @notice Where the vault must transfer input tokens before calling a swap.
    function pool() external view returns (address);

    /// @notice Base token price in quote, 18 decimals, from the pool's current reserves.
    function spotPriceWad() external view returns (uint256);

    /// @notice Quote-token amount (token units) the pool needs to pay out `baseOut`.
    function quoteInForBaseOut(uint256 baseOut) external view returns (uint256 quoteIn);

    /// @notice Quote-token amount (token units) the pool pays for `baseIn`.
    function quoteOutForBaseIn(uint256 baseIn) external view returns (uint256 quoteOut);

    /// @notice One read of the pool for a trade of `sizeWad` base: its spot (18 decimals), the quote
    ///         it would take in (buy) or pay out (sell) now, and `atOracle`, the same had its spot
    ///         been `oracleSpotWad`: the oracle value of the trade with the venue's fee and the
    ///         trade's own price impact at the pool's current depth (buy rounded up, sell down).
    ///         The vault's execution bound is `atOracle` plus a small tolerance.
    function quoteTrade(uint256 sizeWad, uint256 oracleSpotWad, bool buyBase)
        external
        view
        returns (uint256 dexSpotWad, uint256 quoteAmount, uint256 atOracle);

    /// @notice Swap the quote tokens already sent to `pool()` for exactly `baseOut` base, to `to`.
    function swapToBase(uint256 baseOut, address to) external;

    /// @notice Swap the base tokens already sent to `pool()` for `quoteOut` quote, to `to`.
    function swapToQuote(uint256 quoteOut, address to) external;
}
