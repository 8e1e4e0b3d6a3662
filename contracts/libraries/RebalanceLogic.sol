// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IHedgeVault} from "../interfaces/IHedgeVault.sol";
import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";
import {MarginLib} from "./MarginLib.sol";

/// @title RebalanceLogic
/// @notice The hedging half of the vault: the envelope every rebalance must stay inside, the
///         window budgets, and the swap. The keeper decides when; this code bounds what.
/// @dev An external library (linked, reached by DELEGATECALL, as Aave v3 splits its pool into
///      logic libraries): it runs in the vault's context, on the vault's storage and balances,
///      and emits the vault's events, which keeps the vault under EIP-170 with room to grow.
///      Its only callers are the vault's `rebalance`, `performUpkeep` and `rebalanceCheck`.
library RebalanceLogic {
    using SafeERC20 for IERC20;

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;

    /// @notice The hedging state the vault keeps for this library; one storage slot per member.
    struct Layout {
        IHedgeVault.HedgeParams params;
        IHedgeVault.BudgetParams budget;
        IHedgeVault.HedgeState state;
        uint256 bounty; // paid on the must path, scaled by the trade's size up to one hard band; read only there
    }

    /// @notice The vault's wiring (immutables a library cannot read) and one call's inputs.
    struct Call {
        IERC20 quote;
        IERC20 base;
        ISwapAdapter adapter;
        uint256 quoteToWad;
        uint256 spotWad;
        int256 holdersDeltaWad;
        uint256 deployedAt; // the must path's grace runs from the later of this and the last rebalance
    }

    /// @notice What `rebalanceCheck` reports: the contract's own target and bound, why a trade
    ///         is or is not allowed now, and what is left of the budgets.
    function check(Layout storage l, Call memory c) external view returns (IHedgeVault.RebalanceCheck memory r) {
        (r,) = _check(l.params, l.budget, l.state, c, c.base.balanceOf(address(this)), true);
    }

    /// @dev A verified trade, carried in memory to keep the stack shallow.
    struct Trade {
        bool must;
        bool buyBase;
        uint256 baseWad; // held before the trade
        uint256 sizeWad;
        int256 preDeltaWad;
        int256 postDeltaWad;
        uint256 quoteAmount; // in for a buy, out for a sell
        uint256 lossQuote; // over (buy) or under (sell) the oracle value
        IHedgeVault.Reason reason;
    }

    /// @notice One verified rebalance to `targetBaseWad`; returns whether the vault was in emergency
    ///         (the vault then re-reads its margin).
    function execute(
        Layout storage l,
        Call memory c,
        uint256 targetBaseWad,
        uint256 limitQuote,
        uint256 expectedNonce,
        bool callerIsKeeper
    ) external returns (bool emergency) {
        IHedgeVault.HedgeState memory hs = l.state;
        if (expectedNonce != hs.nonce) revert IHedgeVault.StaleNonce(expectedNonce, hs.nonce);
        IHedgeVault.HedgeParams memory hp = l.params;
        IHedgeVault.BudgetParams memory b = l.budget;
        (Trade memory t, IHedgeVault.RebalanceCheck memory r) = _verify(hp, b, hs, c, targetBaseWad, callerIsKeeper);
        _price(t, c, limitQuote, hp);
        if (!t.must) {
            if (t.sizeWad > r.baseBudgetWad) revert IHedgeVault.BaseBudgetExceeded(t.sizeWad, r.baseBudgetWad);
            if (t.lossQuote > r.lossBudgetQuote) revert IHedgeVault.LossBudgetExceeded(t.lossQuote, r.lossBudgetQuote);
        }

        // Effects before the swap: a re-entered or repeated call with this nonce now fails. The must
        // path is charged too, though not refused: a dead keeper's vault must still hedge.
        l.state = IHedgeVault.HedgeState({
            nonce: hs.nonce + 1,
            lastRebalanceAt: uint40(block.timestamp),
            emergency: hs.emergency,
            baseUsedWad: uint80(Math.min(b.maxBaseTradedWad - r.baseBudgetWad + t.sizeWad, type(uint80).max)),
            lossUsedQuote: uint64(Math.min(b.maxExecutionLossQuote - r.lossBudgetQuote + t.lossQuote, type(uint64).max))
        });
        int256 quoteChange = t.buyBase ? -int256(_buyBase(c, t)) : int256(_sellBase(c, t));

        uint256 bounty;
        if (t.must) {
            // Scaled by size up to one hard band's worth: a dust trade earns dust.
            bounty = l.bounty * Math.min(t.sizeWad, hp.hardBandWad) / hp.hardBandWad;
            bounty = Math.min(bounty, c.quote.balanceOf(address(this)));
            if (bounty > 0) c.quote.safeTransfer(msg.sender, bounty);
        }
        _emitRebalanced(hs.nonce, t, c.spotWad, quoteChange, bounty);
        return hs.emergency;
    }

    function _emitRebalanced(uint256 nonce, Trade memory t, uint256 spotWad, int256 quoteChange, uint256 bounty) private {
        emit IHedgeVault.Rebalanced(
            nonce,
            msg.sender,
            t.reason,
            t.preDeltaWad,
            t.postDeltaWad,
            spotWad,
            t.buyBase ? int256(t.sizeWad) : -int256(t.sizeWad),
            quoteChange,
            bounty
        );
    }

    /// @dev Who may trade now and to where: every guard but the price and the budgets.
    function _verify(
        IHedgeVault.HedgeParams memory hp,
        IHedgeVault.BudgetParams memory b,
        IHedgeVault.HedgeState memory hs,
        Call memory c,
        uint256 targetBaseWad,
        bool callerIsKeeper
    ) private view returns (Trade memory t, IHedgeVault.RebalanceCheck memory r) {
        t.baseWad = c.base.balanceOf(address(this));
        (r, t.preDeltaWad) = _check(hp, b, hs, c, t.baseWad, false);
        if (!r.needed) revert IHedgeVault.RebalanceNotNeeded(r.reason);
        t.reason = r.reason;
        t.must = r.reason == IHedgeVault.Reason.Emergency || r.reason == IHedgeVault.Reason.KeeperLate;
        if (t.must) {
            // The contract's own target, capped by the quote held at its bound (a keeper's own
            // target needs no such pricing here: the swap checks the quote held).
            (r,) = _check(hp, b, hs, c, t.baseWad, true);
            if (!r.needed) revert IHedgeVault.RebalanceNotNeeded(r.reason);
            // Anyone may act, but the trade is the contract's own. The caller's target only pins it
            // to within the dust: the delta drifts between simulation and inclusion.
            if (MarginLib.abs(int256(targetBaseWad) - int256(r.targetBaseWad)) > hp.dustDeltaWad) {
                revert IHedgeVault.MustTargetMismatch(targetBaseWad, r.targetBaseWad);
            }
            targetBaseWad = r.targetBaseWad;
        } else if (!callerIsKeeper) {
            revert IHedgeVault.Unauthorized(msg.sender);
        }

        t.buyBase = targetBaseWad > t.baseWad;
        t.sizeWad = t.buyBase ? targetBaseWad - t.baseWad : t.baseWad - targetBaseWad;
        if (t.sizeWad == 0) revert IHedgeVault.ZeroAmount();
        if (t.sizeWad > b.maxTradeBaseWad) revert IHedgeVault.TradeTooLarge(t.sizeWad, b.maxTradeBaseWad);
        t.postDeltaWad = int256(targetBaseWad) - c.holdersDeltaWad;
        _checkTowardZero(t.preDeltaWad, t.postDeltaWad, hp.dustDeltaWad);
    }

    /// @dev One read of the venue: its spot within the deviation bound of the oracle (manipulation
    ///      guard), its price for the trade within the contract's bound (which the keeper's limit,
    ///      zero for none, can only tighten), and the trade's loss against the oracle.
    function _price(Trade memory t, Call memory c, uint256 limitQuote, IHedgeVault.HedgeParams memory hp) private view {
        (uint256 dexWad, uint256 quoteAmount, uint256 atOracle) = c.adapter.quoteTrade(t.sizeWad, c.spotWad, t.buyBase);
        uint256 diff = dexWad > c.spotWad ? dexWad - c.spotWad : c.spotWad - dexWad;
        if (diff * BPS > c.spotWad * hp.maxOracleDeviationBps) {
            revert IHedgeVault.DexPriceDeviation(dexWad, c.spotWad, hp.maxOracleDeviationBps);
        }
        uint256 boundQuote = _widen(atOracle, t.buyBase, hp.executionToleranceBps);
        if (limitQuote != 0) {
            boundQuote = t.buyBase ? Math.min(boundQuote, limitQuote) : Math.max(boundQuote, limitQuote);
        }
        if (t.buyBase ? quoteAmount > boundQuote : quoteAmount < boundQuote) {
            revert IHedgeVault.SlippageExceeded(quoteAmount, boundQuote);
        }
        t.quoteAmount = quoteAmount;
        t.lossQuote = _lossAtOracle(c, t.sizeWad, quoteAmount, t.buyBase);
    }

    /// @dev The contract's target and verdict for the base held now, and with `priced` its bound (and
    ///      a buy capped by the quote held at that bound); also the pre-trade net delta.
    function _check(
        IHedgeVault.HedgeParams memory hp,
        IHedgeVault.BudgetParams memory b,
        IHedgeVault.HedgeState memory hs,
        Call memory c,
        uint256 baseWad,
        bool priced
    ) private view returns (IHedgeVault.RebalanceCheck memory r, int256 netWad) {
        (r.baseBudgetWad, r.lossBudgetQuote) = _budgetLeft(b, hs);
        (r.targetBaseWad, r.sizeBaseWad, r.buyBase) = MarginLib.hedgeTarget(baseWad, c.holdersDeltaWad, b.maxTradeBaseWad);
        netWad = int256(baseWad) - c.holdersDeltaWad;
        uint256 absNet = MarginLib.abs(netWad);
        // Inside the dust nothing is due, in emergency too: else anyone could collect the bounty
        // again every block for a dust trade, as the book's delta drifts with time.
        if (r.sizeBaseWad == 0 || absNet <= hp.dustDeltaWad) return (r, netWad);
        if (priced) r.limitQuote = _bound(c, r.sizeBaseWad, r.buyBase, hp.executionToleranceBps);
        if (priced && r.buyBase) {
            // Margin bounds risk, not cash: a buy is capped by the quote held (at the bound), else a
            // target the vault cannot pay for would make every rebalance revert, the must path too.
            // The bound is convex in size, so the scaled-down trade fits.
            uint256 quoteHeld = c.quote.balanceOf(address(this));
            if (r.limitQuote > quoteHeld) {
                r.sizeBaseWad = r.sizeBaseWad * quoteHeld / r.limitQuote;
                r.targetBaseWad = baseWad + r.sizeBaseWad;
                r.limitQuote = r.sizeBaseWad == 0 ? 0 : _bound(c, r.sizeBaseWad, true, hp.executionToleranceBps);
                if (r.sizeBaseWad == 0) return (r, netWad);
            }
        }
        if (hs.emergency) {
            r.reason = IHedgeVault.Reason.Emergency;
        } else if (absNet > hp.hardBandWad && block.timestamp >= Math.max(hs.lastRebalanceAt, c.deployedAt) + hp.mustGraceSeconds) {
            r.reason = IHedgeVault.Reason.KeeperLate;
        } else if (r.baseBudgetWad == 0 || r.lossBudgetQuote == 0) {
            r.reason = IHedgeVault.Reason.BudgetSpent;
        } else if (absNet > hp.hardBandWad) {
            r.reason = IHedgeVault.Reason.OutsideHardBand;
        } else if (block.timestamp < uint256(hs.lastRebalanceAt) + hp.minRebalanceIntervalSeconds) {
            r.reason = IHedgeVault.Reason.IntervalNotElapsed;
        } else {
            r.reason = IHedgeVault.Reason.OutsideDust;
        }
        r.needed = r.reason != IHedgeVault.Reason.IntervalNotElapsed && r.reason != IHedgeVault.Reason.BudgetSpent;
    }

    /// @dev |post| <= |pre|, and post on the other side of zero by at most the dust: flipping -x to +x
    ///      would let a keeper churn the vault through the pool every interval.
    function _checkTowardZero(int256 preWad, int256 postWad, uint256 dustWad) private pure {
        bool crossed = preWad > 0 ? postWad < -int256(dustWad) : postWad > int256(dustWad);
        if (crossed || MarginLib.abs(postWad) > MarginLib.abs(preWad)) {
            revert IHedgeVault.NotTowardZero(preWad, postWad, dustWad);
        }
    }

    /// @dev Leaky buckets: each fill drains linearly, `max` per `window`, since the last rebalance.
    function _budgetLeft(IHedgeVault.BudgetParams memory b, IHedgeVault.HedgeState memory hs)
        private
        view
        returns (uint256 baseLeftWad, uint256 lossLeftQuote)
    {
        uint256 elapsed = block.timestamp - hs.lastRebalanceAt;
        baseLeftWad = b.maxBaseTradedWad - _drained(hs.baseUsedWad, b.maxBaseTradedWad, elapsed, b.windowSeconds);
        lossLeftQuote = b.maxExecutionLossQuote - _drained(hs.lossUsedQuote, b.maxExecutionLossQuote, elapsed, b.windowSeconds);
    }

    /// @dev What is left of `used` after `elapsed` seconds, capped at `max` (a must-path trade may
    ///      have overfilled the bucket; a lowered budget may sit below an old fill).
    function _drained(uint256 used, uint256 max, uint256 elapsed, uint256 window) private pure returns (uint256) {
        uint256 leak = elapsed >= window ? max : max * elapsed / window;
        uint256 left = used > leak ? used - leak : 0;
        return left < max ? left : max;
    }

    /// @dev The contract's own execution bound: the venue's price for this trade at the oracle spot
    ///      (its fee and the trade's impact at the pool's depth), widened by the tolerance. Max quote
    ///      in for a buy (rounded up), min quote out for a sell (rounded down).
    function _bound(Call memory c, uint256 sizeWad, bool buyBase, uint256 toleranceBps) private view returns (uint256) {
        (,, uint256 atOracle) = c.adapter.quoteTrade(sizeWad, c.spotWad, buyBase);
        return _widen(atOracle, buyBase, toleranceBps);
    }

    /// @dev `atOracle` is at most ~1e32 (a bounded trade at a bounded price): no overflow below.
    function _widen(uint256 atOracle, bool buyBase, uint256 toleranceBps) private pure returns (uint256) {
        return buyBase ? (atOracle * (BPS + toleranceBps) + BPS - 1) / BPS : atOracle * (BPS - toleranceBps) / BPS;
    }

    /// @dev What the trade pays over (buy) or receives under (sell) its oracle value, rounded up:
    ///      the quantity the loss budget limits.
    function _lossAtOracle(Call memory c, uint256 sizeWad, uint256 quoteAmount, bool buyBase)
        private
        pure
        returns (uint256)
    {
        uint256 scale = WAD * c.quoteToWad;
        if (buyBase) {
            uint256 valueDown = sizeWad * c.spotWad / scale;
            return quoteAmount > valueDown ? quoteAmount - valueDown : 0;
        }
        uint256 valueUp = Math.mulDiv(sizeWad, c.spotWad, scale, Math.Rounding.Ceil);
        return valueUp > quoteAmount ? valueUp - quoteAmount : 0;
    }

    /// @dev Pays the quote straight into the pool and receives exactly the size in base; what arrives
    ///      is measured, not trusted, against the balance the checks read.
    function _buyBase(Call memory c, Trade memory t) private returns (uint256) {
        uint256 quoteBal = c.quote.balanceOf(address(this));
        if (t.quoteAmount > quoteBal) revert IHedgeVault.InsufficientFunds(t.quoteAmount, quoteBal);
        c.quote.safeTransfer(c.adapter.pool(), t.quoteAmount);
        c.adapter.swapToBase(t.sizeWad, address(this));
        uint256 received = c.base.balanceOf(address(this)) - t.baseWad;
        if (received < t.sizeWad) revert IHedgeVault.SwapShortfall(received, t.sizeWad);
        return t.quoteAmount;
    }

    function _sellBase(Call memory c, Trade memory t) private returns (uint256) {
        uint256 before = c.quote.balanceOf(address(this));
        c.base.safeTransfer(c.adapter.pool(), t.sizeWad);
        c.adapter.swapToQuote(t.quoteAmount, address(this));
        uint256 received = c.quote.balanceOf(address(this)) - before;
        if (received < t.quoteAmount) revert IHedgeVault.SwapShortfall(received, t.quoteAmount);
        return t.quoteAmount;
    }
}
