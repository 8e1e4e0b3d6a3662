// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHedgeVault} from "../interfaces/IHedgeVault.sol";

/// @title ParamsLogic
/// @notice Every governed vault parameter, its hard bounds and its change event, in one place.
/// @dev An external library (linked, reached by DELEGATECALL): it writes the vault's storage and
///      emits the vault's events. Bounds are checked on the whole struct before any write, and an
///      out-of-bounds value reverts with `ParameterOutOfBounds` naming the field. Governance code
///      runs rarely, so it pays the library call to keep the vault's money path small.
library ParamsLogic {
    function setHedgeParams(IHedgeVault.HedgeParams storage s, IHedgeVault.HedgeParams memory p) external {
        _bound("dustDeltaWad", p.dustDeltaWad, 1e12, 1e22);
        _bound("hardBandWad", p.hardBandWad, p.dustDeltaWad, 1e24);
        _bound("minRebalanceIntervalSeconds", p.minRebalanceIntervalSeconds, 0, 1 days);
        _bound("mustGraceSeconds", p.mustGraceSeconds, 5 minutes, 7 days);
        _bound("executionToleranceBps", p.executionToleranceBps, 1, 200);
        _bound("maxOracleDeviationBps", p.maxOracleDeviationBps, 10, 1_000);
        emit IHedgeVault.SetHedgeParams(s, p);
        s.dustDeltaWad = p.dustDeltaWad;
        s.hardBandWad = p.hardBandWad;
        s.minRebalanceIntervalSeconds = p.minRebalanceIntervalSeconds;
        s.mustGraceSeconds = p.mustGraceSeconds;
        s.executionToleranceBps = p.executionToleranceBps;
        s.maxOracleDeviationBps = p.maxOracleDeviationBps;
    }

    /// @param quoteUnit One whole quote token (10 ** decimals): the loss budget is in quote units.
    function setBudgetParams(IHedgeVault.BudgetParams storage s, IHedgeVault.BudgetParams memory p, uint256 quoteUnit)
        external
    {
        _bound("windowSeconds", p.windowSeconds, 1 hours, 7 days);
        _bound("maxTradeBaseWad", p.maxTradeBaseWad, 1e16, 1e23);
        _bound("maxBaseTradedWad", p.maxBaseTradedWad, 1e16, 1e24);
        _bound("maxExecutionLossQuote", p.maxExecutionLossQuote, quoteUnit, 1e9 * quoteUnit);
        emit IHedgeVault.SetBudgetParams(s, p);
        s.windowSeconds = p.windowSeconds;
        s.maxTradeBaseWad = p.maxTradeBaseWad;
        s.maxBaseTradedWad = p.maxBaseTradedWad;
        s.maxExecutionLossQuote = p.maxExecutionLossQuote;
    }

    function setRiskParams(IHedgeVault.RiskParams storage s, IHedgeVault.RiskParams memory p) external {
        _bound("initialMarginBps", p.initialMarginBps, 100, 5_000);
        _bound("maintenanceMarginBps", p.maintenanceMarginBps, 50, p.initialMarginBps);
        _bound("recoveryMarginBps", p.recoveryMarginBps, p.maintenanceMarginBps + 1, p.initialMarginBps);
        _bound("stressBps", p.stressBps, 100, 5_000);
        _bound("maxResidualDeltaWad", p.maxResidualDeltaWad, 0, 1e23);
        emit IHedgeVault.SetRiskParams(s, p);
        s.initialMarginBps = p.initialMarginBps;
        s.maintenanceMarginBps = p.maintenanceMarginBps;
        s.recoveryMarginBps = p.recoveryMarginBps;
        s.stressBps = p.stressBps;
        s.maxResidualDeltaWad = p.maxResidualDeltaWad;
    }

    function setOracleParams(IHedgeVault.OracleParams storage s, IHedgeVault.OracleParams memory p) external {
        _bound("priceHeartbeatSeconds", p.priceHeartbeatSeconds, 60, 2 days);
        _bound("volHeartbeatSeconds", p.volHeartbeatSeconds, 60, 2 days);
        _bound("sequencerGraceSeconds", p.sequencerGraceSeconds, 0, 1 days);
        _bound("minPriceWad", p.minPriceWad, 1e12, p.maxPriceWad);
        _bound("maxPriceWad", p.maxPriceWad, p.minPriceWad, 1e27);
        _bound("minVolWad", p.minVolWad, 0.01e18, p.maxVolWad);
        _bound("maxVolWad", p.maxVolWad, p.minVolWad, 5e18);
        emit IHedgeVault.SetOracleParams(s, p);
        s.priceHeartbeatSeconds = p.priceHeartbeatSeconds;
        s.volHeartbeatSeconds = p.volHeartbeatSeconds;
        s.sequencerGraceSeconds = p.sequencerGraceSeconds;
        s.minPriceWad = p.minPriceWad;
        s.maxPriceWad = p.maxPriceWad;
        s.minVolWad = p.minVolWad;
        s.maxVolWad = p.maxVolWad;
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert IHedgeVault.ParameterOutOfBounds(name, value, min, max);
    }
}
