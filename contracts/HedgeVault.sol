// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IHedgeVault} from "./interfaces/IHedgeVault.sol";
import {IOptionMarket} from "./interfaces/IOptionMarket.sol";
import {ISwapAdapter} from "./interfaces/ISwapAdapter.sol";
import {OracleLib} from "./libraries/OracleLib.sol";
import {MarginLib} from "./libraries/MarginLib.sol";
import {RebalanceLogic} from "./libraries/RebalanceLogic.sol";
import {ParamsLogic} from "./libraries/ParamsLogic.sol";
import {LockAndPause} from "./utils/LockAndPause.sol";

/// @title HedgeVault
/// @notice ERC-4626 vault over USDC that writes options through the OptionMarket and keeps its
///         net delta in a band by trading WETH through an ISwapAdapter; see IHedgeVault.
/// @dev Rounding: NAV marks liabilities up and assets down, shares mint down and burn up, so every
///      conversion favours the vault. Deposits/withdrawals compute NAV once and convert with it.
contract HedgeVault is IHedgeVault, ERC4626, AccessControl, LockAndPause {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    /// @notice Virtual shares (10**6 per unit of assets) make the first-depositor donation attack
    ///         cost the attacker a million times what it can take from the next depositor.
    uint8 private constant DECIMALS_OFFSET = 6;
    uint256 private constant MAX_BALANCE = 2 ** 128;

    struct Wiring {
        IERC20 quote;
        IERC20 base;
        IOptionMarket market;
        ISwapAdapter adapter;
        AggregatorV3Interface priceFeed;
        AggregatorV3Interface volFeed;
        AggregatorV3Interface sequencerFeed; // zero on L1
        address admin;
        address governor;
        address guardian;
    }

    IERC20 public immutable baseToken;
    IOptionMarket public immutable market;
    ISwapAdapter public immutable adapter;
    AggregatorV3Interface public immutable priceFeed;
    AggregatorV3Interface public immutable volFeed;
    AggregatorV3Interface public immutable sequencerFeed;
    uint256 private immutable QUOTE_TO_WAD;
    uint256 private immutable QUOTE_UNIT;
    /// @dev Pinned with the (immutable) feeds: saves a decimals() call per feed per read.
    uint8 private immutable PRICE_DECIMALS;
    uint8 private immutable VOL_DECIMALS;
    /// @dev The must path's grace runs from deployment too: a new vault's keeper gets its full grace.
    uint256 private immutable DEPLOYED_AT;

    RebalanceLogic.Layout internal _hedging;
    RiskParams internal _riskParams;
    OracleParams internal _oracleParams;
    uint256 public depositCap;

    constructor(
        Wiring memory w,
        HedgeParams memory hedge,
        BudgetParams memory budget,
        RiskParams memory risk,
        OracleParams memory oracle,
        uint256 depositCap_,
        uint256 emergencyBounty_
    ) ERC4626(w.quote) ERC20("Hedge Vault USDC", "hvUSDC") {
        baseToken = w.base;
        market = w.market;
        adapter = w.adapter;
        priceFeed = w.priceFeed;
        volFeed = w.volFeed;
        sequencerFeed = w.sequencerFeed;
        PRICE_DECIMALS = OracleLib.decimalsOf(w.priceFeed);
        VOL_DECIMALS = OracleLib.decimalsOf(w.volFeed);
        uint8 quoteDecimals = IERC20Metadata(address(w.quote)).decimals();
        QUOTE_TO_WAD = 10 ** (18 - quoteDecimals);
        QUOTE_UNIT = 10 ** quoteDecimals;
        _grantRole(DEFAULT_ADMIN_ROLE, w.admin);
        _grantRole(GOVERNOR_ROLE, w.governor);
        _grantRole(GUARDIAN_ROLE, w.guardian);
        _setHedgeParams(hedge);
        _setBudgetParams(budget);
        DEPLOYED_AT = block.timestamp;
        _setRiskParams(risk);
        _setOracleParams(oracle);
        _setDepositCap(depositCap_);
        _setEmergencyBounty(emergencyBounty_);
    }

    // =============================================================== oracle

    /// @inheritdoc IHedgeVault
    function oraclePrices() public view returns (uint256 spotWad, uint256 volWad) {
        OracleParams memory o = _oracleParams;
        OracleLib.checkSequencer(sequencerFeed, o.sequencerGraceSeconds);
        (spotWad,) = OracleLib.read(priceFeed, PRICE_DECIMALS, o.priceHeartbeatSeconds, o.minPriceWad, o.maxPriceWad);
        (volWad,) = OracleLib.read(volFeed, VOL_DECIMALS, o.volHeartbeatSeconds, o.minVolWad, o.maxVolWad);
    }

    /// @dev Non-reverting twin of `oraclePrices` for views that must not revert (max*, snapshot).
    function _tryOracle() internal view returns (bool ok, uint256 spotWad, uint256 volWad) {
        try this.oraclePrices() returns (uint256 s, uint256 v) {
            return (true, s, v);
        } catch {
            return (false, 0, 0);
        }
    }

    // =============================================================== valuation

    /// @dev Balances and owed payoffs in WAD, read once per valuation (three scenarios share them).
    struct Holdings {
        uint256 quoteWad;
        uint256 baseWad;
        uint256 owedWad;
    }

    /// @dev Balances count up to 2^128 units (3.4e32 USDC, far beyond any token's supply): past that,
    ///      NAV arithmetic would overflow and the ERC-4626 views (which must not revert) would panic.
    function _holdings() internal view returns (Holdings memory h) {
        h.quoteWad = Math.min(_quoteBalance(), MAX_BALANCE) * QUOTE_TO_WAD;
        h.baseWad = Math.min(baseToken.balanceOf(address(this)), MAX_BALANCE);
        h.owedWad = market.owedQuote() * QUOTE_TO_WAD;
    }

    /// @dev Equity in WAD at `spotWad` given the book's mark there; negative when under water.
    ///      Base is valued rounded down and the mark was rounded up: NAV errs low, in the vault's favour.
    function _equityAt(Holdings memory h, uint256 spotWad, uint256 markWad) internal pure returns (int256) {
        return int256(h.quoteWad + h.baseWad * spotWad / WAD) - int256(markWad + h.owedWad);
    }

    /// @dev NAV in quote units, rounded down; zero if the vault is under water.
    function _nav(uint256 spotWad, uint256 volWad) internal view returns (uint256) {
        (uint256 markWad,,) = market.book(spotWad, volWad);
        return _toQuoteDown(_equityAt(_holdings(), spotWad, markWad));
    }

    function _toQuoteDown(int256 wad) internal view returns (uint256) {
        return wad > 0 ? uint256(wad) / QUOTE_TO_WAD : 0;
    }

    /// @dev Full valuation: NAV, worst equity over the stress scenarios, notional and delta.
    function _valuation(uint256 spotWad, uint256 volWad) internal view returns (Valuation memory v) {
        uint256[3] memory spots = MarginLib.scenarioSpots(spotWad, _riskParams.stressBps);
        (uint256[3] memory marks, int256 deltaWad, uint256 notionalWad) = market.scenarios(spots, volWad);
        Holdings memory h = _holdings();
        int256[3] memory equities;
        for (uint256 k; k < 3; ++k) {
            equities[k] = _equityAt(h, spots[k], marks[k]);
        }
        v.navQuote = _toQuoteDown(equities[0]);
        v.worstEquityWad = MarginLib.min3(equities);
        v.notionalValueWad = notionalWad * spotWad / WAD;
        v.holdersDeltaWad = deltaWad;
    }

    /// @notice NAV in USDC. Reverts when the oracle fails its checks: without a trusted price the
    ///         vault cannot be valued, and deposits and withdrawals are refused (max* return 0).
    function totalAssets() public view override returns (uint256) {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        return _nav(spotWad, volWad);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return DECIMALS_OFFSET;
    }

    function _toShares(uint256 assets, uint256 nav, Math.Rounding r) internal view returns (uint256) {
        return Math.mulDiv(assets, totalSupply() + 10 ** DECIMALS_OFFSET, nav + 1, r);
    }

    function _toAssets(uint256 shares, uint256 nav, Math.Rounding r) internal view returns (uint256) {
        return Math.mulDiv(shares, nav + 1, totalSupply() + 10 ** DECIMALS_OFFSET, r);
    }

    // =============================================================== ERC-4626 entry points

    function deposit(uint256 assets, address receiver) public override nonReentrant whenNotPaused returns (uint256 shares) {
        uint256 nav = totalAssets();
        _checkCap(assets, nav);
        shares = _toShares(assets, nav, Math.Rounding.Floor);
        if (shares == 0) revert ZeroAmount();
        _deposit(_msgSender(), receiver, assets, shares);
    }

    function mint(uint256 shares, address receiver) public override nonReentrant whenNotPaused returns (uint256 assets) {
        uint256 nav = totalAssets();
        assets = _toAssets(shares, nav, Math.Rounding.Ceil);
        if (assets == 0) revert ZeroAmount();
        _checkCap(assets, nav);
        _deposit(_msgSender(), receiver, assets, shares);
    }

    function withdraw(uint256 assets, address receiver, address owner)
        public
        override
        nonReentrant
        returns (uint256 shares)
    {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        Valuation memory v = _valuation(spotWad, volWad);
        uint256 max = _maxWithdraw(owner, v);
        if (assets > max) revert WithdrawExceedsMax(assets, max);
        if (assets == 0) revert ZeroAmount();
        shares = _toShares(assets, v.navQuote, Math.Rounding.Ceil);
        _withdraw(_msgSender(), receiver, owner, assets, shares);
    }

    function redeem(uint256 shares, address receiver, address owner)
        public
        override
        nonReentrant
        returns (uint256 assets)
    {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        Valuation memory v = _valuation(spotWad, volWad);
        assets = _toAssets(shares, v.navQuote, Math.Rounding.Floor);
        uint256 max = _maxWithdraw(owner, v);
        if (assets > max) revert WithdrawExceedsMax(assets, max);
        if (assets == 0) revert ZeroAmount();
        _withdraw(_msgSender(), receiver, owner, assets, shares);
    }

    function maxDeposit(address) public view override returns (uint256) {
        if (paused() || _expiredUnsettled() != 0) return 0;
        (bool ok, uint256 spotWad, uint256 volWad) = _tryOracle();
        if (!ok) return 0;
        uint256 nav = _nav(spotWad, volWad);
        return nav >= depositCap ? 0 : depositCap - nav;
    }

    function maxMint(address receiver) public view override returns (uint256) {
        uint256 assets = maxDeposit(receiver);
        return assets == 0 ? 0 : _toShares(assets, totalAssets(), Math.Rounding.Floor);
    }

    function maxWithdraw(address owner) public view override returns (uint256) {
        (bool ok, uint256 spotWad, uint256 volWad) = _tryOracle();
        if (!ok) return 0;
        return _maxWithdraw(owner, _valuation(spotWad, volWad));
    }

    function maxRedeem(address owner) public view override returns (uint256) {
        (bool ok, uint256 spotWad, uint256 volWad) = _tryOracle();
        if (!ok) return 0;
        Valuation memory v = _valuation(spotWad, volWad);
        uint256 shares = _toShares(_maxWithdraw(owner, v), v.navQuote, Math.Rounding.Floor);
        uint256 balance = balanceOf(owner);
        return shares < balance ? shares : balance;
    }

    /// @dev The owner's assets, capped by the margin headroom above the initial requirement and
    ///      by the quote not reserved for settled payoffs. Withdrawing quote lowers equity equally
    ///      in every scenario, so the headroom is exact.
    function _maxWithdraw(address owner, Valuation memory v) internal view returns (uint256) {
        uint256 ownerAssets = _toAssets(balanceOf(owner), v.navQuote, Math.Rounding.Floor);
        uint256 requiredWad = v.notionalValueWad * _riskParams.initialMarginBps / BPS;
        uint256 headroom =
            v.worstEquityWad > int256(requiredWad) ? uint256(v.worstEquityWad - int256(requiredWad)) / QUOTE_TO_WAD : 0;
        uint256 owed = market.owedQuote();
        uint256 quoteBal = _quoteBalance();
        uint256 freeQuote = quoteBal > owed ? quoteBal - owed : 0;
        return Math.min(ownerAssets, Math.min(headroom, freeQuote));
    }

    function _checkCap(uint256 assets, uint256 nav) internal view {
        // An expired series is marked at the live price until settled with its own round: entering
        // before that settlement (then settling, then leaving) would take the difference from the LPs.
        uint256 pending = _expiredUnsettled();
        if (pending != 0) revert SettlementPending(pending);
        uint256 room = nav >= depositCap ? 0 : depositCap - nav;
        if (assets > room) revert DepositCapExceeded(assets, room);
    }

    function _expiredUnsettled() internal view returns (uint256) {
        return market.expiredUnsettled();
    }

    function _quoteBalance() internal view returns (uint256) {
        return IERC20(asset()).balanceOf(address(this));
    }

    // =============================================================== writing and paying

    /// @inheritdoc IHedgeVault
    function checkWrite() external view {
        _requireNotPaused();
        if (_hedging.state.emergency) revert EmergencyMode();
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        Valuation memory v = _valuation(spotWad, volWad);
        uint256 requiredWad = v.notionalValueWad * _riskParams.initialMarginBps / BPS;
        if (v.worstEquityWad < int256(requiredWad)) revert MarginInsufficient(v.worstEquityWad, requiredWad);
        // Put-heavy books have positive delta that a long-only spot hedge cannot offset.
        uint256 residual = v.holdersDeltaWad < 0 ? uint256(-v.holdersDeltaWad) : 0;
        if (residual > _riskParams.maxResidualDeltaWad) revert ResidualDeltaTooLarge(residual, _riskParams.maxResidualDeltaWad);
    }

    /// @inheritdoc IHedgeVault
    function payout(address to, uint256 quoteAmount) external nonReentrant {
        if (msg.sender != address(market)) revert OnlyMarket(msg.sender);
        uint256 quoteBal = _quoteBalance();
        uint256 quotePart = Math.min(quoteAmount, quoteBal);
        uint256 baseAmount;
        uint256 spotWad;
        if (quotePart < quoteAmount) {
            (spotWad,) = oraclePrices();
            // Rounded down: the shortfall is paid in base at the oracle price, never over.
            baseAmount = (quoteAmount - quotePart) * QUOTE_TO_WAD * WAD / spotWad;
            uint256 baseBal = baseToken.balanceOf(address(this));
            if (baseAmount > baseBal) revert InsufficientFunds(baseAmount, baseBal);
        }
        if (quotePart > 0) IERC20(asset()).safeTransfer(to, quotePart);
        if (baseAmount > 0) baseToken.safeTransfer(to, baseAmount);
        emit PaidOut(to, quotePart, baseAmount, spotWad);
    }

    // =============================================================== margin state

    /// @inheritdoc IHedgeVault
    function updateMarginState() external nonReentrant returns (bool) {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        return _updateMarginState(_valuation(spotWad, volWad));
    }

    function _updateMarginState(Valuation memory v) internal returns (bool emergency) {
        RiskParams memory r = _riskParams;
        emergency = _hedging.state.emergency;
        uint256 maintenance = v.notionalValueWad * r.maintenanceMarginBps / BPS;
        uint256 recovery = v.notionalValueWad * r.recoveryMarginBps / BPS;
        if (!emergency && v.notionalValueWad > 0 && v.worstEquityWad < int256(maintenance)) {
            _hedging.state.emergency = emergency = true;
            emit EmergencyEntered(v.worstEquityWad, maintenance);
        } else if (emergency && v.worstEquityWad >= int256(recovery)) {
            _hedging.state.emergency = emergency = false;
            emit EmergencyExited(v.worstEquityWad, recovery);
        }
    }

    // =============================================================== rebalance

    /// @inheritdoc IHedgeVault
    function rebalance(uint256 targetBaseWad, uint256 limitQuote, uint256 deadline, uint256 expectedNonce)
        external
        nonReentrant
        whenNotPaused
    {
        if (block.timestamp > deadline) revert DeadlinePassed(deadline, block.timestamp);
        _rebalance(targetBaseWad, limitQuote, expectedNonce);
    }

    /// @notice Chainlink Automation drives the must path only (emergency, or a keeper late outside the
    ///         hard band); the data pins target, bound and nonce so a stale upkeep cannot trade twice.
    function checkUpkeep(bytes calldata) external view returns (bool upkeepNeeded, bytes memory performData) {
        RebalanceCheck memory c = rebalanceCheck();
        upkeepNeeded = c.needed && (c.reason == Reason.Emergency || c.reason == Reason.KeeperLate);
        performData = abi.encode(c.targetBaseWad, c.limitQuote, _hedging.state.nonce);
    }

    function performUpkeep(bytes calldata performData) external nonReentrant whenNotPaused {
        (uint256 targetBaseWad, uint256 limitQuote, uint256 nonce) = abi.decode(performData, (uint256, uint256, uint256));
        _rebalance(targetBaseWad, limitQuote, nonce);
    }

    /// @inheritdoc IHedgeVault
    function rebalanceCheck() public view returns (RebalanceCheck memory c) {
        if (paused()) {
            c.reason = Reason.Paused;
            return c;
        }
        (bool ok, uint256 spotWad, uint256 volWad) = _tryOracle();
        if (!ok) {
            c.reason = Reason.OracleInvalid;
            return c;
        }
        return RebalanceLogic.check(_hedging, _call(spotWad, volWad));
    }

    function _rebalance(uint256 targetBaseWad, uint256 limitQuote, uint256 expectedNonce) internal {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        bool emergency = RebalanceLogic.execute(
            _hedging, _call(spotWad, volWad), targetBaseWad, limitQuote, expectedNonce, hasRole(KEEPER_ROLE, msg.sender)
        );
        if (emergency) _updateMarginState(_valuation(spotWad, volWad));
    }

    function _call(uint256 spotWad, uint256 volWad) internal view returns (RebalanceLogic.Call memory) {
        return RebalanceLogic.Call({
            quote: IERC20(asset()),
            base: baseToken,
            adapter: adapter,
            quoteToWad: QUOTE_TO_WAD,
            spotWad: spotWad,
            holdersDeltaWad: market.bookDelta(spotWad, volWad),
            deployedAt: DEPLOYED_AT
        });
    }

    // =============================================================== views for the keeper

    /// @inheritdoc IHedgeVault
    function valuation() external view returns (Valuation memory) {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        return _valuation(spotWad, volWad);
    }

    function hedgeParams() external view returns (HedgeParams memory) {
        return _hedging.params;
    }

    /// @notice Paid (in quote) to whoever hedges on the must path, scaled by size up to one hard band.
    function emergencyBounty() external view returns (uint256) {
        return _hedging.bounty;
    }

    function budgetParams() external view returns (BudgetParams memory) {
        return _hedging.budget;
    }

    function riskParams() external view returns (RiskParams memory) {
        return _riskParams;
    }

    function oracleParams() external view returns (OracleParams memory) {
        return _oracleParams;
    }

    function hedgeState() external view returns (HedgeState memory) {
        return _hedging.state;
    }

    // =============================================================== governance

    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(GOVERNOR_ROLE) {
        _unpause();
    }

    function setHedgeParams(HedgeParams calldata p) external onlyRole(GOVERNOR_ROLE) {
        _setHedgeParams(p);
    }

    function setBudgetParams(BudgetParams calldata p) external onlyRole(GOVERNOR_ROLE) {
        _setBudgetParams(p);
    }

    function setRiskParams(RiskParams calldata p) external onlyRole(GOVERNOR_ROLE) {
        _setRiskParams(p);
    }

    function setOracleParams(OracleParams calldata p) external onlyRole(GOVERNOR_ROLE) {
        _setOracleParams(p);
    }

    function setDepositCap(uint256 cap) external onlyRole(GOVERNOR_ROLE) {
        _setDepositCap(cap);
    }

    function setEmergencyBounty(uint256 bounty) external onlyRole(GOVERNOR_ROLE) {
        _setEmergencyBounty(bounty);
    }

    function _setHedgeParams(HedgeParams memory p) internal {
        ParamsLogic.setHedgeParams(_hedging.params, p);
    }

    function _setBudgetParams(BudgetParams memory p) internal {
        ParamsLogic.setBudgetParams(_hedging.budget, p, QUOTE_UNIT);
    }

    function _setRiskParams(RiskParams memory p) internal {
        ParamsLogic.setRiskParams(_riskParams, p);
    }

    function _setOracleParams(OracleParams memory p) internal {
        ParamsLogic.setOracleParams(_oracleParams, p);
    }

    function _setDepositCap(uint256 cap) internal {
        _bound("depositCap", cap, 0, 1e12 * QUOTE_UNIT);
        emit SetDepositCap(depositCap, cap);
        depositCap = cap;
    }

    function _setEmergencyBounty(uint256 bounty) internal {
        _bound("emergencyBounty", bounty, 0, 100 * QUOTE_UNIT);
        emit SetEmergencyBounty(_hedging.bounty, bounty);
        _hedging.bounty = bounty;
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    function decimals() public view override(ERC4626) returns (uint8) {
        return super.decimals();
    }
}
