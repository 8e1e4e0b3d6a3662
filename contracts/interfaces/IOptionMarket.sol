// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IOptionMarket
/// @notice European options written by the hedge vault: governance lists series, anyone buys
///         (ERC-1155 positions, token id = series id), anyone settles after expiry from the first
///         oracle round at or after it, holders redeem the payoff. Cash-settled in the quote
///         token; see HedgeVault.payout for how a shortfall of quote is paid.
interface IOptionMarket {
    struct Series {
        uint96 strikeWad; // quote per base, 18 decimals
        uint40 expiry; // unix seconds
        bool isCall;
        uint96 openWad; // base units written and not yet settled, 18 decimals
    }

    struct SeriesView {
        uint256 id;
        uint256 strikeWad;
        uint256 expiry;
        bool isCall;
        uint256 openWad;
    }

    struct MarketParams {
        uint16 spreadBps; // premium = Black-Scholes * (1 + spread)
        uint8 maxLiveSeries;
        uint16 minStrikeBps; // strike range at listing, relative to the oracle spot
        uint16 maxStrikeBps;
        uint32 minExpirySeconds; // expiry range at listing, from now
        uint32 maxExpirySeconds;
        uint32 minTimeToBuySeconds; // no buys this close to expiry
        uint64 rateWad; // risk-free rate for marks, 18 decimals
        uint96 minBuyWad; // dust guard
    }

    error SeriesUnknown(uint256 id);
    error SeriesNotLive(uint256 id);
    error SeriesExpired(uint256 id, uint256 expiry);
    error SeriesNotExpired(uint256 id, uint256 expiry);
    error SeriesNotSettled(uint256 id);
    error SeriesTooCloseToExpiry(uint256 id, uint256 expiry, uint256 minTimeToBuy);
    error LiveSeriesCapReached(uint256 cap);
    error StrikeOutOfRange(uint256 strikeWad, uint256 minWad, uint256 maxWad);
    error ExpiryOutOfRange(uint256 expiry, uint256 min, uint256 max);
    error SeriesAlreadyListed(uint256 id);
    error AmountBelowMinimum(uint256 amountWad, uint256 minWad);
    error PremiumAboveMax(uint256 premium, uint256 maxPremium);
    error DeadlinePassed(uint256 deadline, uint256 timestamp);
    error SettlementRoundTooEarly(uint80 roundId, uint256 updatedAt, uint256 expiry);
    error SettlementRoundNotFirst(uint80 roundId, uint80 previousRoundId, uint256 previousUpdatedAt);
    error SettlementPriceInvalid(int256 answer);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error OnlyVault(address caller);
    error VaultAlreadySet(address vault);

    event SeriesListed(uint256 indexed id, uint256 strikeWad, uint256 expiry, bool isCall);
    event OptionBought(
        uint256 indexed id, address indexed buyer, uint256 amountWad, uint256 premium, uint256 spotWad, uint256 volWad
    );
    event SeriesSettled(uint256 indexed id, uint80 roundId, uint256 settlementPriceWad, uint256 payoffPerUnitWad, uint256 owed);
    event OptionRedeemed(uint256 indexed id, address indexed holder, uint256 amountWad, uint256 payout);
    event SetMarketParams(MarketParams oldParams, MarketParams newParams);

    /// @notice List a new series. Lister role only; bounded by the live-series cap and the strike
    ///         and expiry ranges. Returns the series id (also its ERC-1155 token id).
    function listSeries(uint256 strikeWad, uint256 expiry, bool isCall) external returns (uint256 id);

    /// @notice Buy `amountWad` options of series `id`, paying at most `maxPremium` quote (token
    ///         units) before `deadline`. The write must leave the vault above initial margin.
    function buy(uint256 id, uint256 amountWad, uint256 maxPremium, uint256 deadline) external returns (uint256 premium);

    /// @notice Premium (quote token units, rounded up) for `amountWad` of series `id` now.
    function quote(uint256 id, uint256 amountWad) external view returns (uint256 premium);

    /// @notice Settle an expired series with `roundId`: the first price-feed round updated at or
    ///         after expiry (however long after), proved by the round before it being earlier
    ///         than expiry (or absent: the first round of the feed's phase). Permissionless.
    function settle(uint256 id, uint80 roundId) external;

    /// @notice Burn `amountWad` of a settled series and receive its payoff.
    function redeem(uint256 id, uint256 amountWad) external returns (uint256 payout);

    /// @notice The written book at `spotWad` and `volWad`: the mark of every live series
    ///         (rounded up, a liability), the buyers' net delta, and the gross notional in base.
    function book(uint256 spotWad, uint256 volWad)
        external
        view
        returns (uint256 markWad, int256 deltaWad, uint256 notionalWad);

    /// @notice The buyers' net delta alone, equal to `book`'s to the wei at half its gas: what the
    ///         vault's rebalance checks, which hedges and does not mark.
    function bookDelta(uint256 spotWad, uint256 volWad) external view returns (int256 deltaWad);

    /// @notice Marks at three spots at once (the margin scenarios), sharing the series reads,
    ///         plus the holders' delta at the first spot and the gross notional in base.
    function scenarios(uint256[3] calldata spotsWad, uint256 volWad)
        external
        view
        returns (uint256[3] memory marksWad, int256 deltaWad, uint256 notionalWad);

    /// @notice The id of a live series that has expired with open interest (0 if none): it is marked
    ///         at the live price until settled, so the vault takes no deposits meanwhile.
    function expiredUnsettled() external view returns (uint256 id);

    /// @notice Quote owed to holders of settled, unredeemed series (token units).
    function owedQuote() external view returns (uint256);

    function liveSeries() external view returns (SeriesView[] memory);
    function liveSeriesCount() external view returns (uint256);
}
