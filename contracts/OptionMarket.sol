// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IOptionMarket} from "./interfaces/IOptionMarket.sol";
import {IHedgeVault} from "./interfaces/IHedgeVault.sol";
import {BookMath} from "./libraries/BookMath.sol";

/// @title OptionMarket
/// @notice Lists, sells, settles and redeems the European options the HedgeVault writes.
/// @dev Live series are kept in one packed array (one storage slot each) so the vault's book
///      valuation reads one slot per series; a settled series moves to `_settled`.
contract OptionMarket is IOptionMarket, ERC1155, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Lists series within the governor's bounds: an operational role (choosing this
    ///         week's strikes), so it is not behind the timelock; the bounds are.
    bytes32 public constant LISTER_ROLE = keccak256("LISTER_ROLE");

    /// @notice Hard ceiling on live series: bounds every loop over the book.
    uint256 public constant MAX_LIVE_SERIES_CAP = 32;
    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;

    IERC20 public immutable quoteToken;
    uint256 private immutable QUOTE_TO_WAD;

    IHedgeVault public vault;
    MarketParams public params;
    uint256 public nextSeriesId = 1;

    Series[] internal _live;
    mapping(uint256 id => uint256 indexPlusOne) internal _liveIndex;
    uint256[] internal _liveIds;

    struct Settled {
        Series series;
        uint128 payoffPerUnitWad; // quote per base unit, 18 decimals
        bool settled;
    }

    mapping(uint256 id => Settled) internal _settled;
    uint256 public owedQuote;

    constructor(
        address admin,
        address governor,
        address lister,
        IERC20 quoteToken_,
        uint8 quoteDecimals,
        MarketParams memory params_
    ) ERC1155("") {
        quoteToken = quoteToken_;
        QUOTE_TO_WAD = 10 ** (18 - quoteDecimals);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, governor);
        _grantRole(LISTER_ROLE, lister);
        _checkParams(params_);
        params = params_;
        emit SetMarketParams(params, params_);
    }

    /// @notice One-time wiring to the vault, which is deployed after the market.
    function initializeVault(IHedgeVault vault_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(vault) != address(0)) revert VaultAlreadySet(address(vault));
        vault = vault_;
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IOptionMarket
    function listSeries(uint256 strikeWad, uint256 expiry, bool isCall)
        external
        onlyRole(LISTER_ROLE)
        returns (uint256 id)
    {
        MarketParams memory p = params;
        if (_live.length >= p.maxLiveSeries) revert LiveSeriesCapReached(p.maxLiveSeries);
        (uint256 spotWad,) = vault.oraclePrices();
        uint256 minStrike = spotWad * p.minStrikeBps / BPS;
        uint256 maxStrike = spotWad * p.maxStrikeBps / BPS;
        if (strikeWad < minStrike || strikeWad > maxStrike) revert StrikeOutOfRange(strikeWad, minStrike, maxStrike);
        uint256 minExpiry = block.timestamp + p.minExpirySeconds;
        uint256 maxExpiry = block.timestamp + p.maxExpirySeconds;
        if (expiry < minExpiry || expiry > maxExpiry) revert ExpiryOutOfRange(expiry, minExpiry, maxExpiry);

        id = nextSeriesId++;
        // Casts are safe: strike <= 50 * spot and spot is bounded by the oracle's max answer;
        // expiry is bounded by now + maxExpirySeconds.
        _live.push(Series({strikeWad: uint96(strikeWad), expiry: uint40(expiry), isCall: isCall, openWad: 0}));
        _liveIds.push(id);
        _liveIndex[id] = _live.length;
        emit SeriesListed(id, strikeWad, expiry, isCall);
    }

    /// @dev `memory`, not `calldata`: the struct is decoded once and checked, logged and stored from
    ///      that copy. From calldata each of the three needed its own conversion code (~325 bytes of
    ///      the market's size headroom) to save a few hundred gas on a timelocked call.
    function setMarketParams(MarketParams memory newParams) external onlyRole(GOVERNOR_ROLE) {
        _checkParams(newParams);
        if (newParams.maxLiveSeries < _live.length) {
            revert ParameterOutOfBounds("maxLiveSeries", newParams.maxLiveSeries, _live.length, MAX_LIVE_SERIES_CAP);
        }
        emit SetMarketParams(params, newParams);
        params = newParams;
    }

    function _checkParams(MarketParams memory p) internal pure {
        _bound("spreadBps", p.spreadBps, 0, 2_000);
        _bound("maxLiveSeries", p.maxLiveSeries, 1, MAX_LIVE_SERIES_CAP);
        _bound("minStrikeBps", p.minStrikeBps, 2_000, BPS);
        _bound("maxStrikeBps", p.maxStrikeBps, BPS, 50_000);
        _bound("minExpirySeconds", p.minExpirySeconds, 10 minutes, 30 days);
        _bound("maxExpirySeconds", p.maxExpirySeconds, p.minExpirySeconds, 730 days);
        _bound("minTimeToBuySeconds", p.minTimeToBuySeconds, 0, 1 days);
        _bound("rateWad", p.rateWad, 0, 0.2e18);
        _bound("minBuyWad", p.minBuyWad, 1e12, 10e18);
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    // ---------------------------------------------------------------- buying

    /// @inheritdoc IOptionMarket
    function quote(uint256 id, uint256 amountWad) public view returns (uint256 premium) {
        Series memory s = _liveSeries(id);
        (uint256 spotWad, uint256 volWad) = vault.oraclePrices();
        premium = _premium(s, amountWad, spotWad, volWad);
    }

    /// @inheritdoc IOptionMarket
    function buy(uint256 id, uint256 amountWad, uint256 maxPremium, uint256 deadline)
        external
        nonReentrant
        returns (uint256 premium)
    {
        if (block.timestamp > deadline) revert DeadlinePassed(deadline, block.timestamp);
        MarketParams memory p = params;
        if (amountWad < p.minBuyWad) revert AmountBelowMinimum(amountWad, p.minBuyWad);
        uint256 index = _indexOf(id);
        Series memory s = _live[index];
        if (block.timestamp + p.minTimeToBuySeconds > s.expiry) {
            revert SeriesTooCloseToExpiry(id, s.expiry, p.minTimeToBuySeconds);
        }
        (uint256 spotWad, uint256 volWad) = vault.oraclePrices();
        premium = _premium(s, amountWad, spotWad, volWad);
        if (premium > maxPremium) revert PremiumAboveMax(premium, maxPremium);

        // Effects before interactions: the write is on the book before the margin check reads it,
        // and the ERC-1155 acceptance callback (the only external code a buyer controls) comes last.
        _live[index].openWad = s.openWad + SafeCast.toUint96(amountWad);
        quoteToken.safeTransferFrom(msg.sender, address(vault), premium);
        vault.checkWrite();
        emit OptionBought(id, msg.sender, amountWad, premium, spotWad, volWad);
        _mint(msg.sender, id, amountWad, "");
    }

    function _premium(Series memory s, uint256 amountWad, uint256 spotWad, uint256 volWad)
        internal
        view
        returns (uint256)
    {
        (uint256 priceWad,) = BookMath.priceDelta(s, spotWad, volWad, params.rateWad, block.timestamp);
        uint256 grossWad = Math.mulDiv(priceWad, amountWad * (BPS + params.spreadBps), WAD * BPS, Math.Rounding.Ceil);
        // Rounded up: the buyer pays the last unit, never the vault.
        return Math.ceilDiv(grossWad, QUOTE_TO_WAD);
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IOptionMarket
    function settle(uint256 id, uint80 roundId) external nonReentrant {
        uint256 index = _indexOf(id);
        Series memory s = _live[index];
        if (block.timestamp < s.expiry) revert SeriesNotExpired(id, s.expiry);

        uint256 priceWad = _settlementPrice(roundId, s.expiry);
        uint256 payoffPerUnitWad = BookMath.intrinsic(s, priceWad);
        // Rounded up: what the vault owes is over- rather than under-reserved.
        uint256 owed = Math.ceilDiv(Math.mulDiv(payoffPerUnitWad, s.openWad, WAD, Math.Rounding.Ceil), QUOTE_TO_WAD);

        _removeLive(id, index);
        _settled[id] = Settled({series: s, payoffPerUnitWad: uint128(payoffPerUnitWad), settled: true});
        owedQuote += owed;
        emit SeriesSettled(id, roundId, priceWad, payoffPerUnitWad, owed);
    }

    /// @dev The first round at or after expiry, with no upper bound: `roundId` updated at or after
    ///      expiry, and the round before it updated before expiry. A round the aggregator does not
    ///      have (or has not answered: updatedAt 0) counts as before expiry, so `roundId - 1` missing
    ///      (a phase's first round) makes `roundId` the first there is, and an unanswered hint is
    ///      refused as too early.
    function _settlementPrice(uint80 roundId, uint256 expiry) internal view returns (uint256) {
        AggregatorV3Interface feed = vault.priceFeed();
        (, int256 answer,, uint256 updatedAt,) = feed.getRoundData(roundId);
        if (updatedAt < expiry) revert SettlementRoundTooEarly(roundId, updatedAt, expiry);
        if (roundId > 0) {
            try feed.getRoundData(roundId - 1) returns (uint80, int256, uint256, uint256 prevUpdatedAt, uint80) {
                if (prevUpdatedAt >= expiry) revert SettlementRoundNotFirst(roundId, roundId - 1, prevUpdatedAt);
            } catch {
                // No earlier round in this phase: `roundId` is the first one there is.
            }
        }
        if (answer <= 0) revert SettlementPriceInvalid(answer);
        return uint256(answer) * 10 ** (18 - feed.decimals());
    }

    /// @inheritdoc IOptionMarket
    function redeem(uint256 id, uint256 amountWad) external nonReentrant returns (uint256 payout) {
        Settled storage st = _settled[id];
        if (!st.settled) revert SeriesNotSettled(id);
        // Rounded down per holder; the rounding dust stays in owedQuote, over-reserved.
        payout = Math.mulDiv(st.payoffPerUnitWad, amountWad, WAD) / QUOTE_TO_WAD;
        _burn(msg.sender, id, amountWad);
        owedQuote -= payout;
        emit OptionRedeemed(id, msg.sender, amountWad, payout);
        if (payout > 0) vault.payout(msg.sender, payout);
    }

    function _removeLive(uint256 id, uint256 index) internal {
        uint256 last = _live.length - 1;
        if (index != last) {
            _live[index] = _live[last];
            uint256 movedId = _liveIds[last];
            _liveIds[index] = movedId;
            _liveIndex[movedId] = index + 1;
        }
        _live.pop();
        _liveIds.pop();
        delete _liveIndex[id];
    }

    // ---------------------------------------------------------------- book

    /// @inheritdoc IOptionMarket
    function book(uint256 spotWad, uint256 volWad)
        external
        view
        returns (uint256 markWad, int256 deltaWad, uint256 notionalWad)
    {
        uint256 rateWad = params.rateWad;
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            Series memory s = _live[i];
            if (s.openWad == 0) continue;
            (uint256 priceWad, int256 unitDeltaWad) = BookMath.priceDelta(s, spotWad, volWad, rateWad, block.timestamp);
            // Bounded sums (see _position): at most 32 terms, each far below 2^200.
            unchecked {
                markWad += _markUp(priceWad, s.openWad);
                deltaWad += _position(unitDeltaWad, s.openWad);
                notionalWad += s.openWad;
            }
        }
    }

    /// @inheritdoc IOptionMarket
    function bookDelta(uint256 spotWad, uint256 volWad) external view returns (int256 deltaWad) {
        uint256 rateWad = params.rateWad;
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            Series memory s = _live[i];
            if (s.openWad == 0) continue;
            unchecked {
                deltaWad += _position(BookMath.delta(s, spotWad, volWad, rateWad, block.timestamp), s.openWad);
            }
        }
    }

    /// @inheritdoc IOptionMarket
    function scenarios(uint256[3] calldata spotsWad, uint256 volWad)
        external
        view
        returns (uint256[3] memory marksWad, int256 deltaWad, uint256 notionalWad)
    {
        uint256 rateWad = params.rateWad;
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            Series memory s = _live[i];
            if (s.openWad == 0) continue;
            for (uint256 k; k < 3; ++k) {
                (uint256 priceWad, int256 unitDeltaWad) =
                    BookMath.priceDelta(s, spotsWad[k], volWad, rateWad, block.timestamp);
                unchecked {
                    marksWad[k] += _markUp(priceWad, s.openWad);
                    if (k == 0) deltaWad += _position(unitDeltaWad, s.openWad);
                }
            }
            unchecked {
                notionalWad += s.openWad;
            }
        }
    }

    /// @dev price * open rounded up (a liability). The library's prices are at most max(spot, strike)
    ///      <= 1e36 and open < 2^96, so the product is below 2^216: no overflow, hence unchecked.
    function _markUp(uint256 priceWad, uint96 openWad) private pure returns (uint256) {
        unchecked {
            return (priceWad * openWad + WAD - 1) / WAD;
        }
    }

    /// @dev Unit delta (|d| <= 1e18) times open (< 2^96): below 2^157 in magnitude, hence unchecked.
    function _position(int256 unitDeltaWad, uint96 openWad) private pure returns (int256) {
        unchecked {
            return unitDeltaWad * int256(uint256(openWad)) / int256(WAD);
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOptionMarket
    function expiredUnsettled() external view returns (uint256) {
        uint256 n = _live.length;
        for (uint256 i; i < n; ++i) {
            Series storage s = _live[i];
            if (s.expiry <= block.timestamp && s.openWad != 0) return _liveIds[i];
        }
        return 0;
    }

    function liveSeries() external view returns (SeriesView[] memory out) {
        uint256 n = _live.length;
        out = new SeriesView[](n);
        for (uint256 i; i < n; ++i) {
            Series memory s = _live[i];
            out[i] = SeriesView(_liveIds[i], s.strikeWad, s.expiry, s.isCall, s.openWad);
        }
    }

    function liveSeriesCount() external view returns (uint256) {
        return _live.length;
    }

    function settledSeries(uint256 id) external view returns (Series memory series, uint256 payoffPerUnitWad, bool settled) {
        Settled memory st = _settled[id];
        return (st.series, st.payoffPerUnitWad, st.settled);
    }

    function seriesOf(uint256 id) external view returns (Series memory) {
        return _liveSeries(id);
    }

    function _liveSeries(uint256 id) internal view returns (Series memory) {
        return _live[_indexOf(id)];
    }

    function _indexOf(uint256 id) internal view returns (uint256) {
        uint256 indexPlusOne = _liveIndex[id];
        if (indexPlusOne == 0) {
            if (_settled[id].settled) revert SeriesNotLive(id);
            revert SeriesUnknown(id);
        }
        return indexPlusOne - 1;
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}
