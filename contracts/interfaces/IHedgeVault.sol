// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IOptionMarket} from "./IOptionMarket.sol";
import {ISwapAdapter} from "./ISwapAdapter.sol";

/// @title IHedgeVault
/// @notice ERC-4626 vault over the quote token (USDC) that writes the OptionMarket's options
///         and delta-hedges them with the base token (WETH) through an ISwapAdapter.
///         NAV = quote + base * oracle - mark of open written options - payoff owed on settled
///         series. Every rebalance is verified on chain: fresh oracle, DEX within a deviation
///         bound, a contract-computed execution bound, size cap, interval, rolling budgets, net
///         delta only toward zero, and the hedge nonce.
interface IHedgeVault {
    /// @notice What `rebalanceCheck` reports and `Rebalanced` records. The keeper may trade
    ///         (`needed`) on OutsideDust and OutsideHardBand; anyone may on KeeperLate and
    ///         Emergency (the must path, to the contract's own target, for the bounty).
    enum Reason {
        None, // |net delta| within the dust tolerance: nothing to hedge
        OutsideDust, // the keeper may trade toward zero (its policy picks the moment)
        OutsideHardBand, // the keeper may trade, the minimum interval waived
        Emergency, // below maintenance margin: anyone may hedge to the contract's target
        IntervalNotElapsed,
        OracleInvalid,
        Paused,
        KeeperLate, // outside the hard band for longer than the grace: anyone may hedge
        BudgetSpent // the window's base or loss budget is used up: only the must path remains
    }

    /// @dev One storage slot: read once per rebalance.
    struct HedgeParams {
        uint80 dustDeltaWad; // |net delta| at or below this is not worth a trade; a keeper trade may cross zero by this much
        uint80 hardBandWad; // outside: the interval is waived, and after `mustGraceSeconds` anyone may hedge
        uint32 minRebalanceIntervalSeconds; // between keeper trades (the must path ignores it)
        uint32 mustGraceSeconds; // outside the hard band this long since the last rebalance: the must path opens
        uint16 executionToleranceBps; // on top of the venue fee and the trade's own impact at the oracle price
        uint16 maxOracleDeviationBps; // DEX spot must be within this of the oracle
    }

    /// @dev One storage slot, read once per rebalance. Limits on keeper trades: per trade, and rolling
    ///      (leaky-bucket) budgets per window: over any span of T seconds a keeper trades at most
    ///      max * (1 + T / window).
    struct BudgetParams {
        uint32 windowSeconds;
        uint80 maxTradeBaseWad; // per-rebalance trade cap (the must path's step too)
        uint80 maxBaseTradedWad; // base bought plus sold per window
        uint64 maxExecutionLossQuote; // paid over the oracle value per window (fee, impact, slippage), quote units
    }

    /// @dev One storage slot.
    struct RiskParams {
        uint16 initialMarginBps; // worst-case equity needed for writes and withdrawals, of notional
        uint16 maintenanceMarginBps; // below this: emergency mode (the liquidation threshold)
        uint16 recoveryMarginBps; // emergency ends only above this (hysteresis)
        uint16 stressBps; // scenario spots: oracle * (1 +- stress)
        uint96 maxResidualDeltaWad; // unhedgeable (put-heavy) delta a write may leave
    }

    struct OracleParams {
        uint32 priceHeartbeatSeconds;
        uint32 volHeartbeatSeconds;
        uint32 sequencerGraceSeconds;
        uint96 minPriceWad;
        uint96 maxPriceWad;
        uint64 minVolWad;
        uint64 maxVolWad;
    }

    /// @dev One storage slot: the nonce, the clock and the budgets' fill, written once per rebalance.
    struct HedgeState {
        uint64 nonce;
        uint40 lastRebalanceAt;
        bool emergency;
        uint80 baseUsedWad; // the base budget's fill at lastRebalanceAt (it drains linearly)
        uint64 lossUsedQuote; // the loss budget's fill at lastRebalanceAt
    }

    /// @notice The vault valued at the oracle: NAV, the worst equity over the stress scenarios,
    ///         the written notional's value and the option holders' delta.
    struct Valuation {
        uint256 navQuote;
        int256 worstEquityWad;
        uint256 notionalValueWad;
        int256 holdersDeltaWad;
    }

    struct RebalanceCheck {
        bool needed; // the keeper may trade now (or, on the must path, anyone)
        Reason reason;
        uint256 targetBaseWad; // the contract's own target: the full hedge, stepped by maxTradeBaseWad, a buy capped by the quote held
        uint256 sizeBaseWad;
        uint256 limitQuote; // contract bound for that trade: max quote in (buy) or min quote out (sell)
        bool buyBase;
        uint256 baseBudgetWad; // base a keeper may still trade now
        uint256 lossBudgetQuote; // execution loss a keeper may still incur now
    }

    error DepositCapExceeded(uint256 assets, uint256 cap);
    error SettlementPending(uint256 seriesId);
    error WithdrawExceedsMax(uint256 assets, uint256 max);
    error MarginInsufficient(int256 worstEquityWad, uint256 requiredWad);
    error ResidualDeltaTooLarge(uint256 residualWad, uint256 maxWad);
    error EmergencyMode();
    error NotInEmergency();
    error RebalanceNotNeeded(Reason reason);
    error StaleNonce(uint256 expected, uint256 actual);
    error DeadlinePassed(uint256 deadline, uint256 timestamp);
    error DexPriceDeviation(uint256 dexSpotWad, uint256 oracleSpotWad, uint256 maxDeviationBps);
    error TradeTooLarge(uint256 sizeWad, uint256 maxWad);
    error SlippageExceeded(uint256 quoteAmount, uint256 limit);
    error NotTowardZero(int256 preDeltaWad, int256 postDeltaWad, uint256 dustWad);
    error MustTargetMismatch(uint256 targetBaseWad, uint256 requiredWad);
    error BaseBudgetExceeded(uint256 sizeWad, uint256 leftWad);
    error LossBudgetExceeded(uint256 lossQuote, uint256 leftQuote);
    error SwapShortfall(uint256 received, uint256 expected);
    error InsufficientFunds(uint256 needed, uint256 available);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error OnlyMarket(address caller);
    error Unauthorized(address caller);
    error ZeroAmount();

    event Rebalanced(
        uint256 indexed nonce,
        address indexed caller,
        Reason reason,
        int256 preDeltaWad,
        int256 postDeltaWad,
        uint256 spotWad,
        int256 baseChangeWad,
        int256 quoteChange,
        uint256 bounty
    );
    event EmergencyEntered(int256 worstEquityWad, uint256 maintenanceWad);
    event EmergencyExited(int256 worstEquityWad, uint256 recoveryWad);
    event PaidOut(address indexed to, uint256 quoteAmount, uint256 baseAmountWad, uint256 spotWad);
    event SetHedgeParams(HedgeParams oldParams, HedgeParams newParams);
    event SetRiskParams(RiskParams oldParams, RiskParams newParams);
    event SetBudgetParams(BudgetParams oldParams, BudgetParams newParams);
    event SetOracleParams(OracleParams oldParams, OracleParams newParams);
    event SetDepositCap(uint256 oldCap, uint256 newCap);
    event SetEmergencyBounty(uint256 oldBounty, uint256 newBounty);

    /// @notice Oracle spot (quote per base) and implied vol, both WAD; reverts if either feed
    ///         fails its checks (stale, non-positive, incomplete, out of bounds, sequencer).
    function oraclePrices() external view returns (uint256 spotWad, uint256 volWad);

    function priceFeed() external view returns (AggregatorV3Interface);

    /// @notice Reverts unless the vault may carry its current book as written: not paused, not in
    ///         emergency, worst-case equity above initial margin, residual delta within its limit.
    function checkWrite() external view;

    /// @notice Pay a redeeming option holder `quoteAmount` of value: quote first, any shortfall in
    ///         base at the oracle price. Market only.
    function payout(address to, uint256 quoteAmount) external;

    /// @notice Trade base to `targetBaseWad`. The keeper decides when, the chain bounds what: a
    ///         keeper trade needs |net delta| above the dust tolerance and the minimum interval
    ///         passed (waived outside the hard band), may only move net delta toward zero (|post|
    ///         <= |pre|, crossing zero by at most the dust), stays within `maxTradeBaseWad` and the
    ///         window budgets, and executes within the contract's own bound (oracle value, venue
    ///         fee, the trade's impact at the pool's depth, a small tolerance); `limitQuote` (0:
    ///         none) can only tighten that bound. Must path: in emergency, or outside the hard band
    ///         for `mustGraceSeconds` since the last rebalance, anyone may call for the bounty; the
    ///         trade is then the contract's own target (`targetBaseWad` within the dust of it) and
    ///         the budgets are charged but not enforced.
    function rebalance(uint256 targetBaseWad, uint256 limitQuote, uint256 deadline, uint256 expectedNonce) external;

    function rebalanceCheck() external view returns (RebalanceCheck memory);

    /// @notice The full valuation at the oracle; reverts when the oracle fails its checks.
    function valuation() external view returns (Valuation memory);

    function hedgeParams() external view returns (HedgeParams memory);
    function riskParams() external view returns (RiskParams memory);
    function budgetParams() external view returns (BudgetParams memory);
    function oracleParams() external view returns (OracleParams memory);
    function hedgeState() external view returns (HedgeState memory);
    function market() external view returns (IOptionMarket);
    function adapter() external view returns (ISwapAdapter);
    function baseToken() external view returns (IERC20);
    function volFeed() external view returns (AggregatorV3Interface);

    /// @notice Enter or leave emergency mode according to the current margin. Permissionless.
    function updateMarginState() external returns (bool emergency);
}
