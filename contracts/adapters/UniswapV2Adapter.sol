// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";

interface IUniswapV2PairMinimal {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @title UniswapV2Adapter
/// @notice Swaps against one Uniswap V2 pair directly (no router hop: the caller has already
///         sent the input to the pair), which is what keeps the vault's rebalance gas-lean.
/// @dev Holds no funds and needs no permissions: it can only move tokens that were sent to the
///      pair beyond its reserves, which anyone could `skim` anyway. Amount formulas are
///      UniswapV2Library.getAmountIn/getAmountOut (0.3% fee).
contract UniswapV2Adapter is ISwapAdapter {
    error AdapterTokenMismatch(address pair, address base, address quote);
    error AdapterInsufficientLiquidity(uint256 amountOut, uint256 reserveOut);

    IUniswapV2PairMinimal public immutable pair;
    address public immutable base;
    address public immutable quote;
    bool private immutable BASE_IS_TOKEN0;
    uint256 private immutable QUOTE_TO_WAD;

    constructor(address pair_, address base_, address quote_, uint8 quoteDecimals) {
        pair = IUniswapV2PairMinimal(pair_);
        base = base_;
        quote = quote_;
        address token0 = IUniswapV2PairMinimal(pair_).token0();
        if (token0 != base_ && token0 != quote_) revert AdapterTokenMismatch(pair_, base_, quote_);
        BASE_IS_TOKEN0 = token0 == base_;
        QUOTE_TO_WAD = 10 ** (18 - quoteDecimals);
    }

    /// @inheritdoc ISwapAdapter
    function pool() external view returns (address) {
        return address(pair);
    }

    /// @inheritdoc ISwapAdapter
    function spotPriceWad() external view returns (uint256) {
        (uint256 baseReserve, uint256 quoteReserve) = _reserves();
        return quoteReserve * QUOTE_TO_WAD * 1e18 / baseReserve;
    }

    /// @inheritdoc ISwapAdapter
    function quoteInForBaseOut(uint256 baseOut) public view returns (uint256) {
        (uint256 baseReserve, uint256 quoteReserve) = _reserves();
        return _amountIn(baseOut, quoteReserve, baseReserve);
    }

    /// @inheritdoc ISwapAdapter
    function quoteOutForBaseIn(uint256 baseIn) public view returns (uint256) {
        (uint256 baseReserve, uint256 quoteReserve) = _reserves();
        return _amountOut(baseIn, baseReserve, quoteReserve);
    }

    /// @inheritdoc ISwapAdapter
    /// @dev Constant product at the oracle price: with base reserve x and fee 0.3%, buying s costs
    ///      value(s) * x / (x - s) / 0.997 and selling s pays value(s) * 0.997 x / (x + 0.997 s). Only the
    ///      depth x comes from the pool for `atOracle`, so a pool pushed off the oracle does not widen it.
    function quoteTrade(uint256 sizeWad, uint256 oracleSpotWad, bool buyBase)
        external
        view
        returns (uint256 dexSpotWad, uint256 quoteAmount, uint256 atOracle)
    {
        (uint256 baseReserve, uint256 quoteReserve) = _reserves();
        dexSpotWad = quoteReserve * QUOTE_TO_WAD * 1e18 / baseReserve;
        // size * spot < 2^170 and the reserve products < 2^125: mulDiv keeps the full precision.
        uint256 value = sizeWad * oracleSpotWad;
        if (buyBase) {
            quoteAmount = _amountIn(sizeWad, quoteReserve, baseReserve);
            atOracle = Math.mulDiv(
                value, baseReserve * 1000, (baseReserve - sizeWad) * 997 * QUOTE_TO_WAD * 1e18, Math.Rounding.Ceil
            );
        } else {
            quoteAmount = _amountOut(sizeWad, baseReserve, quoteReserve);
            atOracle = Math.mulDiv(value, baseReserve * 997, (baseReserve * 1000 + sizeWad * 997) * QUOTE_TO_WAD * 1e18);
        }
    }

    /// @inheritdoc ISwapAdapter
    function swapToBase(uint256 baseOut, address to) external {
        (uint256 out0, uint256 out1) = BASE_IS_TOKEN0 ? (baseOut, uint256(0)) : (uint256(0), baseOut);
        pair.swap(out0, out1, to, "");
    }

    /// @inheritdoc ISwapAdapter
    function swapToQuote(uint256 quoteOut, address to) external {
        (uint256 out0, uint256 out1) = BASE_IS_TOKEN0 ? (uint256(0), quoteOut) : (quoteOut, uint256(0));
        pair.swap(out0, out1, to, "");
    }

    function _reserves() private view returns (uint256 baseReserve, uint256 quoteReserve) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        (baseReserve, quoteReserve) = BASE_IS_TOKEN0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
    }

    function _amountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) private pure returns (uint256) {
        uint256 inWithFee = amountIn * 997;
        return inWithFee * reserveOut / (reserveIn * 1000 + inWithFee);
    }

    function _amountIn(uint256 amountOut, uint256 reserveIn, uint256 reserveOut) private pure returns (uint256) {
        if (amountOut >= reserveOut) revert AdapterInsufficientLiquidity(amountOut, reserveOut);
        return reserveIn * amountOut * 1000 / ((reserveOut - amountOut) * 997) + 1;
    }
}
