// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IHedgeVault} from "./interfaces/IHedgeVault.sol";
import {IOptionMarket} from "./interfaces/IOptionMarket.sol";
import {ISwapAdapter} from "./interfaces/ISwapAdapter.sol";
import {OracleLib} from "./libraries/OracleLib.sol";
import {MarginLib} from "./libraries/MarginLib.sol";

/// @title HedgeVault
/// @notice ERC-4626 vault over USDC that writes options through the OptionMarket and keeps its
///         net delta in a band by trading WETH through an ISwapAdapter; see IHedgeVault.
/// @dev Rounding: NAV marks liabilities up and assets down, shares mint down and burn up, so every
///      conversion favours the vault. Deposits/withdrawals compute NAV once and convert with it.
contract HedgeVault is IHedgeVault, ERC4626, AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    /// @notice Virtual shares (10**6 per unit of assets) make the first-depositor donation attack
    ///         cost the attacker a million times what it can take from the next depositor.
    uint8 private constant DECIMALS_OFFSET = 6;

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

    HedgeParams internal _hedgeParams;
    RiskParams internal _riskParams;
    OracleParams internal _oracleParams;
    HedgeState internal _hedgeState;
    uint256 public depositCap;
    uint256 public emergencyBounty;

    constructor(
        Wiring memory w,
        HedgeParams memory hedge,
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

    function _holdings() internal view returns (Holdings memory h) {
        h.quoteWad = _quoteBalance() * QUOTE_TO_WAD;
        h.baseWad = baseToken.balanceOf(address(this));
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
        if (_hedgeState.emergency) revert EmergencyMode();
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
        emergency = _hedgeState.emergency;
        uint256 maintenance = v.notionalValueWad * r.maintenanceMarginBps / BPS;
        uint256 recovery = v.notionalValueWad * r.recoveryMarginBps / BPS;
        if (!emergency && v.notionalValueWad > 0 && v.worstEquityWad < int256(maintenance)) {
            _hedgeState.emergency = emergency = true;
            emit EmergencyEntered(v.worstEquityWad, maintenance);
        } else if (emergency && v.worstEquityWad >= int256(recovery)) {
            _hedgeState.emergency = emergency = false;
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

    /// @notice Chainlink Automation: the contract's own check decides; the data pins target, bound
    ///         and nonce so a stale upkeep cannot trade twice.
    function checkUpkeep(bytes calldata) external view returns (bool upkeepNeeded, bytes memory performData) {
        RebalanceCheck memory c = rebalanceCheck();
        upkeepNeeded = c.needed;
        performData = abi.encode(c.targetBaseWad, c.limitQuote, _hedgeState.nonce);
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
        int256 holdersDeltaWad = market.bookDelta(spotWad, volWad);
        return _check(_hedgeState, baseToken.balanceOf(address(this)), holdersDeltaWad, spotWad);
    }

    function _check(HedgeState memory hs, uint256 baseWad, int256 holdersDeltaWad, uint256 spotWad)
        internal
        view
        returns (RebalanceCheck memory c)
    {
        HedgeParams memory hp = _hedgeParams;
        (c.targetBaseWad, c.sizeBaseWad, c.buyBase) =
            MarginLib.hedgeTarget(baseWad, holdersDeltaWad, _riskParams.maxTradeBaseWad);
        if (c.buyBase) {
            // Margin bounds risk, not cash: a buy is capped by the quote held (at the slippage
            // bound), else a target the vault cannot pay for would make every rebalance revert,
            // the emergency one included.
            uint256 affordable =
                Math.mulDiv(_quoteBalance() * QUOTE_TO_WAD, WAD * BPS, spotWad * (BPS + hp.maxSlippageBps));
            if (c.sizeBaseWad > affordable) (c.sizeBaseWad, c.targetBaseWad) = (affordable, baseWad + affordable);
        }
        if (c.sizeBaseWad == 0) return c;
        uint256 absNet = MarginLib.abs(int256(baseWad) - holdersDeltaWad);
        // Inside the band nothing is due, in emergency too: else anyone could collect the emergency
        // bounty again every block for a dust trade, as the book's delta drifts with time.
        if (absNet <= hp.deltaBandWad) return c;
        if (hs.emergency) {
            c.reason = Reason.Emergency;
        } else if (absNet > hp.hardBandWad) {
            c.reason = Reason.OutsideHardBand;
        } else {
            c.reason = block.timestamp >= uint256(hs.lastRebalanceAt) + hp.minRebalanceIntervalSeconds
                ? Reason.OutsideBand
                : Reason.IntervalNotElapsed;
        }
        c.needed = c.reason != Reason.IntervalNotElapsed;
        c.limitQuote = _slippageBound(c.sizeBaseWad, spotWad, hp.maxSlippageBps, c.buyBase);
    }

    /// @dev The contract's own execution bound: max quote in for a buy (rounded up), min quote
    ///      out for a sell (rounded down), `maxSlippageBps` around the oracle value of the trade.
    function _slippageBound(uint256 sizeWad, uint256 spotWad, uint256 slippageBps, bool buyBase)
        internal
        view
        returns (uint256)
    {
        if (buyBase) {
            return Math.mulDiv(sizeWad * spotWad, BPS + slippageBps, WAD * BPS * QUOTE_TO_WAD, Math.Rounding.Ceil);
        }
        return Math.mulDiv(sizeWad * spotWad, BPS - slippageBps, WAD * BPS * QUOTE_TO_WAD);
    }

    /// @dev A verified trade, carried in memory to keep the stack shallow.
    struct Trade {
        uint256 spotWad;
        uint256 volWad;
        int256 preDeltaWad;
        int256 postDeltaWad;
        uint256 sizeWad;
        uint256 boundQuote;
        uint256 baseWad; // the base held before the trade
        bool buyBase;
        Reason reason;
    }

    function _rebalance(uint256 targetBaseWad, uint256 limitQuote, uint256 expectedNonce) internal {
        HedgeState memory hs = _hedgeState;
        if (expectedNonce != hs.nonce) revert StaleNonce(expectedNonce, hs.nonce);
        Trade memory t = _verifyTrade(hs, targetBaseWad, limitQuote);

        // Effects before the swap: a re-entered or repeated call with this nonce now fails.
        _hedgeState = HedgeState({nonce: hs.nonce + 1, lastRebalanceAt: uint40(block.timestamp), emergency: hs.emergency});
        int256 quoteChange =
            t.buyBase ? -int256(_buyBase(t.sizeWad, t.boundQuote, t.baseWad)) : int256(_sellBase(t.sizeWad, t.boundQuote));

        uint256 bounty;
        if (hs.emergency) {
            // The bounty scales with the trade up to one band's worth: dust trades earn dust.
            uint256 band = _hedgeParams.deltaBandWad;
            bounty = Math.min(emergencyBounty * Math.min(t.sizeWad, band) / band, _quoteBalance());
            if (bounty > 0) IERC20(asset()).safeTransfer(msg.sender, bounty);
            _updateMarginState(_valuation(t.spotWad, t.volWad));
        }
        emit Rebalanced(
            hs.nonce,
            msg.sender,
            t.reason,
            t.preDeltaWad,
            t.postDeltaWad,
            t.spotWad,
            t.buyBase ? int256(t.sizeWad) : -int256(t.sizeWad),
            quoteChange,
            bounty
        );
    }

    /// @dev Every guard of DESIGN.md's rebalance, in one place; reverts with the failing one.
    function _verifyTrade(HedgeState memory hs, uint256 targetBaseWad, uint256 limitQuote)
        internal
        view
        returns (Trade memory t)
    {
        (t.spotWad, t.volWad) = oraclePrices();
        int256 holdersDeltaWad = market.bookDelta(t.spotWad, t.volWad);
        uint256 baseWad = t.baseWad = baseToken.balanceOf(address(this));
        RebalanceCheck memory c = _check(hs, baseWad, holdersDeltaWad, t.spotWad);
        if (!c.needed) revert RebalanceNotNeeded(c.reason);
        t.reason = c.reason;

        HedgeParams memory hp = _hedgeParams;
        if (hs.emergency) {
            // Anyone may act in emergency, but the trade is the contract's own. The caller's target
            // only pins it to within the band: the delta drifts between simulation and inclusion,
            // so an exact match would almost never land.
            if (MarginLib.abs(int256(targetBaseWad) - int256(c.targetBaseWad)) > hp.deltaBandWad) {
                revert EmergencyTargetMismatch(targetBaseWad, c.targetBaseWad);
            }
            targetBaseWad = c.targetBaseWad;
        } else if (!hasRole(KEEPER_ROLE, msg.sender)) {
            revert Unauthorized(msg.sender);
        }
        _checkDexPrice(t.spotWad, hp.maxOracleDeviationBps);

        t.buyBase = targetBaseWad > baseWad;
        t.sizeWad = t.buyBase ? targetBaseWad - baseWad : baseWad - targetBaseWad;
        if (t.sizeWad == 0) revert ZeroAmount();
        if (t.sizeWad > _riskParams.maxTradeBaseWad) revert TradeTooLarge(t.sizeWad, _riskParams.maxTradeBaseWad);
        t.preDeltaWad = int256(baseWad) - holdersDeltaWad;
        t.postDeltaWad = int256(targetBaseWad) - holdersDeltaWad;
        if (MarginLib.abs(t.postDeltaWad) > Math.max(MarginLib.abs(t.preDeltaWad), hp.deltaBandWad)) {
            revert DeltaIncreased(t.preDeltaWad, t.postDeltaWad, hp.deltaBandWad);
        }
        // The keeper's limit can only tighten the contract's own bound (zero means "no limit").
        t.boundQuote = _slippageBound(t.sizeWad, t.spotWad, hp.maxSlippageBps, t.buyBase);
        if (limitQuote != 0) {
            t.boundQuote = t.buyBase ? Math.min(t.boundQuote, limitQuote) : Math.max(t.boundQuote, limitQuote);
        }
    }

    function _checkDexPrice(uint256 spotWad, uint256 maxDeviationBps) internal view {
        uint256 dexWad = adapter.spotPriceWad();
        uint256 diff = dexWad > spotWad ? dexWad - spotWad : spotWad - dexWad;
        if (diff * BPS > spotWad * maxDeviationBps) revert DexPriceDeviation(dexWad, spotWad, maxDeviationBps);
    }

    /// @dev Pays the quote straight into the pool and receives exactly `sizeWad` base; what
    ///      arrives is measured, not trusted, against `before`, the balance read by the checks (paying
    ///      quote does not move it).
    function _buyBase(uint256 sizeWad, uint256 maxQuoteIn, uint256 before) internal returns (uint256 quoteIn) {
        quoteIn = adapter.quoteInForBaseOut(sizeWad);
        if (quoteIn > maxQuoteIn) revert SlippageExceeded(quoteIn, maxQuoteIn);
        uint256 quoteBal = _quoteBalance();
        if (quoteIn > quoteBal) revert InsufficientFunds(quoteIn, quoteBal);
        IERC20(asset()).safeTransfer(adapter.pool(), quoteIn);
        adapter.swapToBase(sizeWad, address(this));
        uint256 received = baseToken.balanceOf(address(this)) - before;
        if (received < sizeWad) revert SwapShortfall(received, sizeWad);
    }

    function _sellBase(uint256 sizeWad, uint256 minQuoteOut) internal returns (uint256 quoteOut) {
        quoteOut = adapter.quoteOutForBaseIn(sizeWad);
        if (quoteOut < minQuoteOut) revert SlippageExceeded(quoteOut, minQuoteOut);
        uint256 before = _quoteBalance();
        baseToken.safeTransfer(adapter.pool(), sizeWad);
        adapter.swapToQuote(quoteOut, address(this));
        uint256 received = _quoteBalance() - before;
        if (received < quoteOut) revert SwapShortfall(received, quoteOut);
    }

    // =============================================================== views for the keeper

    /// @inheritdoc IHedgeVault
    function valuation() external view returns (Valuation memory) {
        (uint256 spotWad, uint256 volWad) = oraclePrices();
        return _valuation(spotWad, volWad);
    }

    function hedgeParams() external view returns (HedgeParams memory) {
        return _hedgeParams;
    }

    function riskParams() external view returns (RiskParams memory) {
        return _riskParams;
    }

    function oracleParams() external view returns (OracleParams memory) {
        return _oracleParams;
    }

    function hedgeState() external view returns (HedgeState memory) {
        return _hedgeState;
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
        _bound("deltaBandWad", p.deltaBandWad, 1e15, 1e24);
        _bound("hardBandWad", p.hardBandWad, p.deltaBandWad, 1e25);
        _bound("minRebalanceIntervalSeconds", p.minRebalanceIntervalSeconds, 0, 1 days);
        _bound("maxSlippageBps", p.maxSlippageBps, 10, 500);
        _bound("maxOracleDeviationBps", p.maxOracleDeviationBps, 10, 1_000);
        emit SetHedgeParams(_hedgeParams, p);
        _hedgeParams = p;
    }

    function _setRiskParams(RiskParams memory p) internal {
        _bound("initialMarginBps", p.initialMarginBps, 100, 5_000);
        _bound("maintenanceMarginBps", p.maintenanceMarginBps, 50, p.initialMarginBps);
        _bound("recoveryMarginBps", p.recoveryMarginBps, p.maintenanceMarginBps + 1, p.initialMarginBps);
        _bound("stressBps", p.stressBps, 100, 5_000);
        _bound("maxTradeBaseWad", p.maxTradeBaseWad, 1e16, 1e23);
        _bound("maxResidualDeltaWad", p.maxResidualDeltaWad, 0, 1e23);
        emit SetRiskParams(_riskParams, p);
        _riskParams = p;
    }

    function _setOracleParams(OracleParams memory p) internal {
        _bound("priceHeartbeatSeconds", p.priceHeartbeatSeconds, 60, 2 days);
        _bound("volHeartbeatSeconds", p.volHeartbeatSeconds, 60, 2 days);
        _bound("sequencerGraceSeconds", p.sequencerGraceSeconds, 0, 1 days);
        _bound("minPriceWad", p.minPriceWad, 1e12, p.maxPriceWad);
        _bound("maxPriceWad", p.maxPriceWad, p.minPriceWad, 1e27);
        _bound("minVolWad", p.minVolWad, 0.01e18, p.maxVolWad);
        _bound("maxVolWad", p.maxVolWad, p.minVolWad, 5e18);
        emit SetOracleParams(_oracleParams, p);
        _oracleParams = p;
    }

    function _setDepositCap(uint256 cap) internal {
        _bound("depositCap", cap, 0, 1e12 * QUOTE_UNIT);
        emit SetDepositCap(depositCap, cap);
        depositCap = cap;
    }

    function _setEmergencyBounty(uint256 bounty) internal {
        _bound("emergencyBounty", bounty, 0, 100 * QUOTE_UNIT);
        emit SetEmergencyBounty(emergencyBounty, bounty);
        emergencyBounty = bounty;
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    function decimals() public view override(ERC4626) returns (uint8) {
        return super.decimals();
    }
}
