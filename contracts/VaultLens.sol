// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IHedgeVault} from "./interfaces/IHedgeVault.sol";
import {IOptionMarket} from "./interfaces/IOptionMarket.sol";
import {MarginLib} from "./libraries/MarginLib.sol";

/// @title VaultLens
/// @notice Everything the keeper reads about a vault, in one `eth_call`. Kept out of the vault
///         so the money path stays under the contract size limit and free of read-only code.
contract VaultLens {
    struct RiskSnapshot {
        uint256 blockNumber;
        uint256 timestamp;
        uint256 quoteBalance;
        uint256 baseBalanceWad;
        uint256 owedQuote;
        uint256 totalAssets;
        uint256 totalSupply;
        bool paused;
        bool oracleOk; // both feeds (and the sequencer) passed the vault's checks
        uint256 spotWad;
        uint256 volWad;
        uint256 priceUpdatedAt; // reported even when a check fails, so the keeper can say why
        uint256 volUpdatedAt;
        uint256 dexSpotWad;
        int256 holdersDeltaWad; // the vault is short this
        int256 netDeltaWad; // base held - holders' delta
        uint256 notionalValueWad;
        int256 worstEquityWad;
        uint256 marginRatioBps;
        IHedgeVault.HedgeState hedge;
        IHedgeVault.HedgeParams hedgeParams;
        IHedgeVault.RiskParams riskParams;
        IHedgeVault.RebalanceCheck check;
        IOptionMarket.SeriesView[] series;
        uint256 rateWad;
        IHedgeVault.BudgetParams budgetParams; // the window budgets; what is left of them is in `check`
    }

    function riskSnapshot(IHedgeVault vault) external view returns (RiskSnapshot memory s) {
        IOptionMarket market = vault.market();
        s.blockNumber = block.number;
        s.timestamp = block.timestamp;
        s.quoteBalance = IERC20(IERC4626(address(vault)).asset()).balanceOf(address(vault));
        s.baseBalanceWad = vault.baseToken().balanceOf(address(vault));
        s.owedQuote = market.owedQuote();
        s.totalSupply = IERC20(address(vault)).totalSupply();
        s.paused = PausableView(address(vault)).paused();
        s.hedge = vault.hedgeState();
        s.hedgeParams = vault.hedgeParams();
        s.budgetParams = vault.budgetParams();
        s.riskParams = vault.riskParams();
        s.series = market.liveSeries();
        (,,,,,,, s.rateWad,) = MarketParamsView(address(market)).params();
        s.dexSpotWad = vault.adapter().spotPriceWad();
        (,,, s.priceUpdatedAt,) = vault.priceFeed().latestRoundData();
        (,,, s.volUpdatedAt,) = vault.volFeed().latestRoundData();
        s.check = vault.rebalanceCheck();

        try vault.oraclePrices() returns (uint256 spotWad, uint256 volWad) {
            s.oracleOk = true;
            s.spotWad = spotWad;
            s.volWad = volWad;
        } catch {
            return s;
        }
        IHedgeVault.Valuation memory v = vault.valuation();
        s.totalAssets = v.navQuote;
        s.holdersDeltaWad = v.holdersDeltaWad;
        s.netDeltaWad = int256(s.baseBalanceWad) - v.holdersDeltaWad;
        s.notionalValueWad = v.notionalValueWad;
        s.worstEquityWad = v.worstEquityWad;
        s.marginRatioBps = MarginLib.ratioBps(v.worstEquityWad, v.notionalValueWad);
    }
}

interface PausableView {
    function paused() external view returns (bool);
}

interface MarketParamsView {
    function params()
        external
        view
        returns (uint16, uint8, uint16, uint16, uint32, uint32, uint32, uint64, uint96);
}
