// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IOptionMarket} from "../interfaces/IOptionMarket.sol";
import {BlackScholes} from "./BlackScholes.sol";

/// @title BookMath
/// @notice Prices one written series with the on-chain Black-Scholes library; the seam between
///         the option book's storage layout and the pricing library.
library BookMath {
    /// @notice Unit price (quote per base, WAD) and the holder's delta (WAD, signed) of series `s`.
    /// @dev An expired, unsettled series is marked at intrinsic value (T = 0 in the library).
    function priceDelta(IOptionMarket.Series memory s, uint256 spotWad, uint256 volWad, uint256 rateWad, uint256 nowTs)
        internal
        pure
        returns (uint256 priceWad, int256 deltaWad)
    {
        uint256 tSeconds = s.expiry > nowTs ? s.expiry - nowTs : 0;
        return BlackScholes.priceDelta(spotWad, s.strikeWad, tSeconds, volWad, rateWad, s.isCall);
    }

    /// @notice The holder's delta alone (WAD, signed), equal to `priceDelta`'s.
    function delta(IOptionMarket.Series memory s, uint256 spotWad, uint256 volWad, uint256 rateWad, uint256 nowTs)
        internal
        pure
        returns (int256)
    {
        uint256 tSeconds = s.expiry > nowTs ? s.expiry - nowTs : 0;
        return BlackScholes.delta(spotWad, s.strikeWad, tSeconds, volWad, rateWad, s.isCall);
    }

    /// @notice Payoff per unit at `priceWad`, WAD.
    function intrinsic(IOptionMarket.Series memory s, uint256 priceWad) internal pure returns (uint256) {
        if (s.isCall) return priceWad > s.strikeWad ? priceWad - s.strikeWad : 0;
        return s.strikeWad > priceWad ? s.strikeWad - priceWad : 0;
    }
}
