// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface IFlashPair {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @title FlashManipulator
/// @notice Test-only attacker. In ONE transaction it skews a Uniswap V2 pair with a swap, calls
///         its victims (the vault's rebalance, deposit, withdraw, ...) while the pool is off, then
///         swaps everything the first swap returned back into the pool: the shape of a flash-loan
///         price manipulation, funded by the test instead of a lender. A victim's revert is
///         bubbled unchanged, so the test sees the vault's own custom error.
///         Never deployed by scripts/deploy.py.
contract FlashManipulator {
    IFlashPair public immutable pair;
    IERC20 public immutable base;
    IERC20 public immutable quote;
    address public immutable owner;
    bool private immutable BASE_IS_TOKEN0;

    /// @notice Amount the opening swap received and the closing swap returned, for the test's P&L.
    uint256 public lastOpenOut;
    uint256 public lastCloseOut;

    error NotOwner(address caller);

    constructor(IFlashPair pair_, IERC20 base_, IERC20 quote_) {
        pair = pair_;
        base = base_;
        quote = quote_;
        owner = msg.sender;
        BASE_IS_TOKEN0 = pair_.token0() == address(base_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Swap `amountIn` into the pair (quote in, pushing base dearer, if `pumpBase`; else base
    ///         in), call every `targets[i]` with `data[i]`, then sell everything the swap returned
    ///         back into the pair. All in this one transaction.
    function manipulate(bool pumpBase, uint256 amountIn, address[] calldata targets, bytes[] calldata data)
        external
        onlyOwner
        returns (bytes[] memory results)
    {
        lastOpenOut = _swap(pumpBase, amountIn);
        results = new bytes[](targets.length);
        for (uint256 i; i < targets.length; ++i) {
            results[i] = _call(targets[i], data[i]);
        }
        lastCloseOut = _swap(!pumpBase, lastOpenOut);
    }

    /// @notice Several calls as this contract in one transaction, without a swap: atomic multi-step
    ///         attacks that need no pool (deposit, settle, redeem).
    function batch(address[] calldata targets, bytes[] calldata data) external onlyOwner returns (bytes[] memory results) {
        results = new bytes[](targets.length);
        for (uint256 i; i < targets.length; ++i) {
            results[i] = _call(targets[i], data[i]);
        }
    }

    /// @notice A plain call as this contract (approvals, deposits, sweeping funds back).
    function exec(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        return _call(target, data);
    }

    /// @dev Exact-input swap straight against the pair (UniswapV2Library.getAmountOut, 0.3% fee).
    function _swap(bool quoteIn, uint256 amountIn) internal returns (uint256 amountOut) {
        (uint256 r0, uint256 r1,) = pair.getReserves();
        (uint256 baseR, uint256 quoteR) = BASE_IS_TOKEN0 ? (r0, r1) : (r1, r0);
        (uint256 reserveIn, uint256 reserveOut) = quoteIn ? (quoteR, baseR) : (baseR, quoteR);
        uint256 inWithFee = amountIn * 997;
        amountOut = inWithFee * reserveOut / (reserveIn * 1000 + inWithFee);
        (quoteIn ? quote : base).transfer(address(pair), amountIn);
        // Output is base when quote goes in; token0 or token1 depending on the pair's ordering.
        bool outIsToken0 = quoteIn == BASE_IS_TOKEN0;
        pair.swap(outIsToken0 ? amountOut : 0, outIsToken0 ? 0 : amountOut, address(this), "");
    }

    function _call(address target, bytes calldata data) internal returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
