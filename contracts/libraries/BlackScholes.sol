// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMathLib} from "solady/src/utils/FixedPointMathLib.sol";

/// @title BlackScholes
/// @notice Black-Scholes-Merton price, delta, gamma and vega of European calls and puts on an asset
///         that pays no dividends, in 18-decimal fixed point (WAD).
/// @dev Units. Spot, strike and prices are WAD amounts of the quote asset per unit of the base asset
///      (the price comes out in the same unit as the spot). Time to expiry is whole seconds and a year
///      is 365 days (`SECONDS_PER_YEAR`), so `volWad` and `rateWad` are annualised on that basis;
///      `rateWad` is a continuously compounded rate. Delta is per unit of base (call in [0, 1], put in
///      [-1, 0]); gamma is d(delta)/d(spot) per unit of spot; vega is d(price)/d(vol) per 1.0 (= 100 vol
///      points) of volatility, so divide by 100 for "per vol point".
///
///      Domain (anything outside reverts with a custom error that carries the offending value):
///        spot and strike    1e-9 .. 1e18 (WAD 1e9 .. 1e36)
///        spot / strike      0.01 .. 100
///        time to expiry     0 .. 5 years (0 = at expiry)
///        volatility         0 .. 500 %   (0 = deterministic forward; see below)
///        rate               0 .. 100 %   (negative rates are not supported)
///      The golden-vector test covers spot/strike 0.2..5, vol 5%..300%, 1 hour..2 years, rate 0..20%
///      and the property tests the whole vol range; see docs/PRICING.md for the measured errors.
///
///      Accuracy. The normal CDF is W. J. Cody's rational Chebyshev approximation (see `normCdf`),
///      evaluated in WAD: its absolute error is below 2e-18, far below the 1e-8 (price / spot and
///      delta) target. exp, ln and sqrt are Solady's FixedPointMathLib. Every fixed-point product and
///      quotient rounds toward zero; prices are accurate to 4 wei plus ~2.5e-18 * max(spot, strike)
///      (measured against a 50-digit reference) and are not rounded in a chosen direction: a caller
///      that must round in its own favour (the vault sells options) adds its spread on top. Delta,
///      gamma and vega inherit the 1-wei resolution of ln(S/K) + drift and of sigma sqrt(T) divided by
///      sigma sqrt(T): about 1e-18 / (sigma sqrt T), i.e. < 1e-15 for sigma sqrt(T) > 1e-3.
///
///      Degenerate cases. At expiry (T = 0), or when sigma * sqrt(T) < 1e-10 (`MIN_VOL_SQRT_T_WAD`;
///      with T >= 1 s only for vol below 5.6e-7, i.e. 0.000056 %), the option is worth its
///      discounted-forward intrinsic value: call max(S - K e^{-rT}, 0), put max(K e^{-rT} - S, 0), with a step delta: call
///      1 if S > K e^{-rT} else 0, put = call delta - 1. At the money the call delta is 0 and the put
///      delta is -1: the option pays nothing there, and keeping delta(call) - delta(put) = 1 (the
///      derivative of put-call parity) means a book holding both never sees a hedge jump from the
///      convention. (The smooth limit would be 1/2; any value in [0, 1] is a valid subgradient.)
///      Gamma and vega are reported as 0 there (the true gamma is a point mass at the forward).
///      Below the threshold the intrinsic value differs from the exact price by at most
///      phi(0) * S * sigma * sqrt(T) < 4e-11 * S, so the switch is not visible at the 1e-8 target.
library BlackScholes {
    /// @notice Inputs of one evaluation, for callers that hold them in memory.
    struct Inputs {
        uint256 spotWad;
        uint256 strikeWad;
        uint256 tSeconds;
        uint256 volWad;
        uint256 rateWad;
    }

    /// @notice Price and Greeks of one option from a single d1 evaluation.
    struct Greeks {
        uint256 priceWad;
        int256 deltaWad;
        uint256 gammaWad;
        uint256 vegaWad;
    }

    /// @notice Spot outside [MIN_PRICE_WAD, MAX_PRICE_WAD].
    error BlackScholesSpotOutOfRange(uint256 spotWad);
    /// @notice Strike outside [MIN_PRICE_WAD, MAX_PRICE_WAD].
    error BlackScholesStrikeOutOfRange(uint256 strikeWad);
    /// @notice spot / strike outside [MIN_MONEYNESS_WAD, MAX_MONEYNESS_WAD].
    error BlackScholesMoneynessOutOfRange(uint256 spotWad, uint256 strikeWad);
    /// @notice Time to expiry above MAX_T_SECONDS.
    error BlackScholesTimeOutOfRange(uint256 tSeconds);
    /// @notice Volatility above MAX_VOL_WAD.
    error BlackScholesVolOutOfRange(uint256 volWad);
    /// @notice Rate above MAX_RATE_WAD.
    error BlackScholesRateOutOfRange(uint256 rateWad);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant SECONDS_PER_YEAR = 365 days;

    uint256 internal constant MIN_PRICE_WAD = 1e9;
    uint256 internal constant MAX_PRICE_WAD = 1e36;
    uint256 internal constant MIN_MONEYNESS_WAD = 0.01e18;
    uint256 internal constant MAX_MONEYNESS_WAD = 100e18;
    uint256 internal constant MAX_T_SECONDS = 5 * 365 days;
    uint256 internal constant MAX_VOL_WAD = 5e18;
    uint256 internal constant MAX_RATE_WAD = 1e18;

    /// @notice Below this total volatility sigma * sqrt(T) the option is priced at its discounted-forward
    ///         intrinsic value (error < 4e-11 * spot); above it d1 = ln(F/K) / (sigma sqrt T) is resolved
    ///         to better than 1e-8 from a 1-wei error in ln(F/K).
    uint256 internal constant MIN_VOL_SQRT_T_WAD = 1e8;

    /*//////////////////////////////////////////////////////////////
                    NORMAL CDF: W. J. CODY'S APPROXIMATION
    //////////////////////////////////////////////////////////////*/

    // Coefficients of ANORM from W. J. Cody, "Algorithm 715: SPECFUN - a portable FORTRAN package of
    // special function routines and test drivers", ACM TOMS 19(1), 1993, pp. 22-32 (the rational
    // Chebyshev approximations of Cody, Math. Comp. 23, 1969, pp. 631-637, rewritten for the normal
    // CDF; the same ones R's pnorm uses). Cody states that these rational functions approximate the
    // normal CDF to at least 18 significant decimal digits; here each coefficient is rounded to the
    // nearest 1e-18, which moves the result by less than 1e-19 over the whole range.

    // |x| <= 0.67448975: Phi(x) = 1/2 + x * A(x^2) / B(x^2).
    uint256 private constant CENTRAL_BOUND_WAD = 674_489_750_000_000_000;
    uint256 private constant A0 = 2_235_252_035_460_683_929;
    uint256 private constant A1 = 161_028_231_068_555_878_810;
    uint256 private constant A2 = 1_067_689_485_460_370_958_200;
    uint256 private constant A3 = 18_154_981_253_343_561_249_000;
    uint256 private constant A4 = 65_682_337_918_207_449;
    uint256 private constant B0 = 47_202_581_904_688_241_870;
    uint256 private constant B1 = 976_098_551_737_776_693_220;
    uint256 private constant B2 = 10_260_932_208_618_978_205_000;
    uint256 private constant B3 = 45_507_789_335_026_729_956_000;

    // 0.67448975 < y <= sqrt(32): 1 - Phi(y) = exp(-y^2/2) * C(y) / D(y).
    uint256 private constant SQRT_32_WAD = 5_656_854_249_492_380_195;
    uint256 private constant C0 = 398_941_512_088_134_668;
    uint256 private constant C1 = 8_883_149_794_388_375_941;
    uint256 private constant C2 = 93_506_656_132_177_855_979;
    uint256 private constant C3 = 597_270_276_394_800_262_260;
    uint256 private constant C4 = 2_494_537_585_290_372_671_100;
    uint256 private constant C5 = 6_848_190_450_536_282_332_600;
    uint256 private constant C6 = 11_602_651_437_647_350_124_000;
    uint256 private constant C7 = 9_842_714_838_383_978_021_800;
    uint256 private constant C8 = 10_765_576_774;
    uint256 private constant D0 = 22_266_688_044_328_115_691;
    uint256 private constant D1 = 235_387_901_782_624_998_610;
    uint256 private constant D2 = 1_519_377_599_407_554_805_000;
    uint256 private constant D3 = 6_485_558_298_266_760_755_000;
    uint256 private constant D4 = 18_615_571_640_885_098_091_000;
    uint256 private constant D5 = 34_900_952_721_145_977_266_000;
    uint256 private constant D6 = 38_912_003_286_093_271_411_000;
    uint256 private constant D7 = 19_685_429_676_859_990_727_000;

    // y > sqrt(32), z = 1/y^2: 1 - Phi(y) = exp(-y^2/2) / y * (1/sqrt(2 pi) - z * P(z) / Q(z)).
    uint256 private constant P0 = 215_898_534_057_956_990;
    uint256 private constant P1 = 127_401_161_160_247_364;
    uint256 private constant P2 = 22_235_277_870_649_807;
    uint256 private constant P3 = 1_421_619_193_227_893;
    uint256 private constant P4 = 29_112_874_951_169;
    uint256 private constant P5 = 23_073_441_764_940_173;
    uint256 private constant Q0 = 1_284_260_096_144_911_210;
    uint256 private constant Q1 = 468_238_212_480_865_118;
    uint256 private constant Q2 = 65_988_137_868_928_552;
    uint256 private constant Q3 = 3_782_396_332_027_582;
    uint256 private constant Q4 = 72_975_155_508_397;

    uint256 private constant INV_SQRT_2PI_WAD = 398_942_280_401_432_678;

    /// @dev 1 - Phi(9) = 1.13e-19 < 1 wei: beyond it the tail is 0 in WAD.
    uint256 private constant TAIL_CUTOFF_WAD = 9e18;
    /// @dev phi(10) = 7.7e-23: beyond it the density is 0 in WAD (and y*y cannot overflow).
    uint256 private constant PDF_CUTOFF_WAD = 10e18;

    /*//////////////////////////////////////////////////////////////
                                PRICES
    //////////////////////////////////////////////////////////////*/

    /// @notice Price and delta of a European call.
    /// @param spotWad Spot price (quote per base, WAD).
    /// @param strikeWad Strike (quote per base, WAD).
    /// @param tSeconds Time to expiry in seconds (year = 365 days); 0 = at expiry.
    /// @param volWad Annualised volatility (1e18 = 100 %).
    /// @param rateWad Continuously compounded annual rate (1e18 = 100 %).
    /// @return priceWad Call price, in the unit of `spotWad`.
    /// @return deltaWad Call delta in [0, 1e18].
    function callPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        internal
        pure
        returns (uint256 priceWad, uint256 deltaWad)
    {
        (uint256 nd1, uint256 nd2, uint256 discountedStrikeWad) = _cdfs(spotWad, strikeWad, tSeconds, volWad, rateWad);
        priceWad = _callPrice(spotWad, discountedStrikeWad, nd1, nd2);
        deltaWad = nd1;
    }

    /// @notice Price and delta of a European put; parameters as in `callPriceDelta`.
    /// @return priceWad Put price, in the unit of `spotWad`.
    /// @return deltaWad Put delta in [-1e18, 0].
    function putPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        internal
        pure
        returns (uint256 priceWad, int256 deltaWad)
    {
        (uint256 nd1, uint256 nd2, uint256 discountedStrikeWad) = _cdfs(spotWad, strikeWad, tSeconds, volWad, rateWad);
        priceWad = _putPrice(spotWad, discountedStrikeWad, nd1, nd2);
        deltaWad = _putDelta(nd1);
    }

    /// @notice Price and signed delta of a call (`isCall`) or a put; parameters as in `callPriceDelta`.
    /// @return priceWad Option price, in the unit of `spotWad`.
    /// @return deltaWad Delta in [0, 1e18] for a call, [-1e18, 0] for a put.
    function priceDelta(
        uint256 spotWad,
        uint256 strikeWad,
        uint256 tSeconds,
        uint256 volWad,
        uint256 rateWad,
        bool isCall
    ) internal pure returns (uint256 priceWad, int256 deltaWad) {
        (uint256 nd1, uint256 nd2, uint256 discountedStrikeWad) = _cdfs(spotWad, strikeWad, tSeconds, volWad, rateWad);
        if (isCall) {
            priceWad = _callPrice(spotWad, discountedStrikeWad, nd1, nd2);
            // nd1 <= 1e18, so the cast cannot overflow.
            deltaWad = int256(nd1);
        } else {
            priceWad = _putPrice(spotWad, discountedStrikeWad, nd1, nd2);
            deltaWad = _putDelta(nd1);
        }
    }

    /// @notice `priceDelta` with the inputs in memory.
    function priceDelta(Inputs memory inputs, bool isCall) internal pure returns (uint256 priceWad, int256 deltaWad) {
        return priceDelta(inputs.spotWad, inputs.strikeWad, inputs.tSeconds, inputs.volWad, inputs.rateWad, isCall);
    }

    /// @notice Delta alone of a call (`isCall`) or a put; parameters as in `callPriceDelta`.
    /// @dev The same d1 and normal CDF as `priceDelta`, so the two deltas are equal to the wei; it skips
    ///      the discount factor (needed only at expiry), N(d2) and the price: about half the gas, for
    ///      callers that hedge and do not mark (the vault's rebalance).
    function delta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad, bool isCall)
        internal
        pure
        returns (int256 deltaWad)
    {
        (int256 d1Wad, uint256 volSqrtTWad, uint256 discountedStrikeWad) =
            _d1(spotWad, strikeWad, tSeconds, volWad, rateWad, false);
        // The step of `_nd1nd2`'s degenerate case, at the same discounted strike.
        uint256 nd1 = volSqrtTWad == 0 ? (spotWad > discountedStrikeWad ? WAD : 0) : normCdf(d1Wad);
        // nd1 <= 1e18, so the cast cannot overflow.
        deltaWad = isCall ? int256(nd1) : _putDelta(nd1);
    }

    /// @notice Price, delta, gamma and vega of a call (`isCall`) or a put, sharing one d1.
    function greeks(Inputs memory inputs, bool isCall) internal pure returns (Greeks memory g) {
        (int256 d1Wad, uint256 volSqrtTWad, uint256 discountedStrikeWad) =
            _d1(inputs.spotWad, inputs.strikeWad, inputs.tSeconds, inputs.volWad, inputs.rateWad, true);
        (uint256 nd1, uint256 nd2) = _nd1nd2(inputs.spotWad, d1Wad, volSqrtTWad, discountedStrikeWad);
        if (isCall) {
            g.priceWad = _callPrice(inputs.spotWad, discountedStrikeWad, nd1, nd2);
            g.deltaWad = int256(nd1);
        } else {
            g.priceWad = _putPrice(inputs.spotWad, discountedStrikeWad, nd1, nd2);
            g.deltaWad = _putDelta(nd1);
        }
        if (volSqrtTWad != 0) {
            uint256 pdf = normPdf(d1Wad);
            g.gammaWad = _gamma(inputs.spotWad, volSqrtTWad, pdf);
            g.vegaWad = _vega(inputs.spotWad, inputs.tSeconds, pdf);
        }
    }

    /// @notice Gamma d(delta)/d(spot), the same for a call and a put, in WAD per unit of spot.
    /// @dev 0 at expiry and below `MIN_VOL_SQRT_T_WAD` (see the library notes).
    function gamma(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        internal
        pure
        returns (uint256 gammaWad)
    {
        (int256 d1Wad, uint256 volSqrtTWad,) = _d1(spotWad, strikeWad, tSeconds, volWad, rateWad, false);
        if (volSqrtTWad != 0) gammaWad = _gamma(spotWad, volSqrtTWad, normPdf(d1Wad));
    }

    /// @notice Vega d(price)/d(vol), the same for a call and a put, per 1.0 of volatility, in the unit
    ///         of `spotWad`.
    /// @dev 0 at expiry and below `MIN_VOL_SQRT_T_WAD` (see the library notes).
    function vega(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        internal
        pure
        returns (uint256 vegaWad)
    {
        (int256 d1Wad, uint256 volSqrtTWad,) = _d1(spotWad, strikeWad, tSeconds, volWad, rateWad, false);
        if (volSqrtTWad != 0) vegaWad = _vega(spotWad, tSeconds, normPdf(d1Wad));
    }

    /*//////////////////////////////////////////////////////////////
                            NORMAL DISTRIBUTION
    //////////////////////////////////////////////////////////////*/

    /// @notice Standard normal CDF Phi(x) in WAD.
    /// @dev W. J. Cody's rational Chebyshev approximation as in ANORM (ACM TOMS Algorithm 715, 1993),
    ///      three ranges: |x| <= 0.674 (rational in x^2), to sqrt(32) (exp(-x^2/2) times a degree-8
    ///      rational), beyond (asymptotic form in 1/x^2); 0 / 1 beyond |x| = 9 where the tail is below
    ///      1 wei. The approximation itself is good to 18 significant digits (Cody); evaluated in WAD
    ///      with truncating division, the measured absolute error against a 50-digit reference over
    ///      [-10, 10] is at most 1.9e-18 (docs/PRICING.md). Exactly symmetric: normCdf(-x) = 1e18 - normCdf(x),
    ///      so call and put prices obey put-call parity to the wei.
    function normCdf(int256 xWad) internal pure returns (uint256) {
        unchecked {
            // For x = type(int256).min, -x wraps to itself and the cast gives 2^255: the saturated tail,
            // which is the right answer.
            uint256 y = xWad < 0 ? uint256(-xWad) : uint256(xWad);
            if (y <= CENTRAL_BOUND_WAD) {
                uint256 offset = _centralOffset(y);
                return xWad < 0 ? WAD / 2 - offset : WAD / 2 + offset;
            }
            uint256 tail = _upperTail(y);
            return xWad < 0 ? tail : WAD - tail;
        }
    }

    /// @notice Standard normal density phi(x) = exp(-x^2/2) / sqrt(2 pi), in WAD.
    function normPdf(int256 xWad) internal pure returns (uint256) {
        unchecked {
            uint256 y = xWad < 0 ? uint256(-xWad) : uint256(xWad);
            if (y >= PDF_CUTOFF_WAD) return 0;
            // y < 1e19, so y * y < 1e38 and the exponent is >= -50e18, inside expWad's domain
            // (expWad returns 0 below about -41.4e18).
            return uint256(FixedPointMathLib.expWad(-int256(y * y / (2 * WAD)))) * INV_SQRT_2PI_WAD / WAD;
        }
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev Revert unless the inputs are inside the documented domain.
    function _checkDomain(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        private
        pure
    {
        if (spotWad < MIN_PRICE_WAD || spotWad > MAX_PRICE_WAD) revert BlackScholesSpotOutOfRange(spotWad);
        if (strikeWad < MIN_PRICE_WAD || strikeWad > MAX_PRICE_WAD) revert BlackScholesStrikeOutOfRange(strikeWad);
        // Compare spot / strike with the bounds by cross-multiplying: both sides < 1e36 * 1e20.
        if (spotWad * WAD < strikeWad * MIN_MONEYNESS_WAD || spotWad * WAD > strikeWad * MAX_MONEYNESS_WAD) {
            revert BlackScholesMoneynessOutOfRange(spotWad, strikeWad);
        }
        if (tSeconds > MAX_T_SECONDS) revert BlackScholesTimeOutOfRange(tSeconds);
        if (volWad > MAX_VOL_WAD) revert BlackScholesVolOutOfRange(volWad);
        if (rateWad > MAX_RATE_WAD) revert BlackScholesRateOutOfRange(rateWad);
    }

    /// @dev d1, sigma * sqrt(T) and K e^{-rT}. `volSqrtTWad` = 0 flags the degenerate (intrinsic) case,
    ///      in which `d1Wad` is 0 and meaningless. With `discount` false the discounted strike is
    ///      computed only in that case (delta needs it only there) and is 0 otherwise.
    function _d1(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad, bool discount)
        private
        pure
        returns (int256 d1Wad, uint256 volSqrtTWad, uint256 discountedStrikeWad)
    {
        _checkDomain(spotWad, strikeWad, tSeconds, volWad, rateWad);
        unchecked {
            // Bounds from the domain: rate <= 1e18, t <= 1.6e8, vol <= 5e18, spot and strike <= 1e36;
            // no product below exceeds 1e55, far from 2^256 ~ 1.2e77.
            // sigma sqrt(T) with a single rounding: sqrt of (vol^2 T / year) in WAD^2.
            volSqrtTWad = FixedPointMathLib.sqrt(volWad * volWad * tSeconds / SECONDS_PER_YEAR);
            if (discount || volSqrtTWad < MIN_VOL_SQRT_T_WAD) {
                uint256 rtWad = rateWad * tSeconds / SECONDS_PER_YEAR; // <= 5e18
                discountedStrikeWad = rtWad == 0
                    ? strikeWad
                    // expWad(-x) for 0 < x <= 5e18 is in (0, 1e18]: the cast to uint256 is safe.
                    : strikeWad * uint256(FixedPointMathLib.expWad(-int256(rtWad))) / WAD;
                if (volSqrtTWad < MIN_VOL_SQRT_T_WAD) return (0, 0, discountedStrikeWad);
            }
            // spot / strike is in [0.01e18, 100e18] (checked above): positive, so lnWad is defined and
            // the int256 cast is safe.
            int256 lnMoneynessWad = FixedPointMathLib.lnWad(int256(spotWad * WAD / strikeWad));
            // (r + sigma^2 / 2) T with one rounding; <= (2e36 + 25e36) * 1.6e8 / 6.3e25 ~ 6.8e19.
            uint256 driftWad = (2 * rateWad * WAD + volWad * volWad) * tSeconds / (2 * WAD * SECONDS_PER_YEAR);
            // |ln| <= 4.7e18 and drift <= 6.8e19, so the numerator stays below 1e38 and the signed
            // division is by a positive volSqrtTWad >= 1e8.
            d1Wad = (lnMoneynessWad + int256(driftWad)) * int256(WAD) / int256(volSqrtTWad);
        }
    }

    /// @dev N(d1), N(d2) and K e^{-rT}; in the degenerate case N(d1) = N(d2) = the step 1{S > K e^{-rT}}.
    function _cdfs(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        private
        pure
        returns (uint256 nd1, uint256 nd2, uint256 discountedStrikeWad)
    {
        int256 d1Wad;
        uint256 volSqrtTWad;
        (d1Wad, volSqrtTWad, discountedStrikeWad) = _d1(spotWad, strikeWad, tSeconds, volWad, rateWad, true);
        (nd1, nd2) = _nd1nd2(spotWad, d1Wad, volSqrtTWad, discountedStrikeWad);
    }

    function _nd1nd2(uint256 spotWad, int256 d1Wad, uint256 volSqrtTWad, uint256 discountedStrikeWad)
        private
        pure
        returns (uint256 nd1, uint256 nd2)
    {
        if (volSqrtTWad == 0) {
            // At the money (S == K e^{-rT}) the step is 0: the call delta convention in the notes.
            nd1 = spotWad > discountedStrikeWad ? WAD : 0;
            return (nd1, nd1);
        }
        nd1 = normCdf(d1Wad);
        // |d1| < 1e38 and volSqrtTWad <= 1.2e19 (vol 5, 5 years): no overflow.
        unchecked {
            nd2 = normCdf(d1Wad - int256(volSqrtTWad));
        }
    }

    /// @dev S N(d1) - K e^{-rT} N(d2), floored at 0 against the rounding of the two terms.
    function _callPrice(uint256 spotWad, uint256 discountedStrikeWad, uint256 nd1, uint256 nd2)
        private
        pure
        returns (uint256)
    {
        unchecked {
            // spot, strike <= 1e36 and N <= 1e18: products <= 1e54.
            uint256 longLeg = spotWad * nd1 / WAD;
            uint256 shortLeg = discountedStrikeWad * nd2 / WAD;
            return longLeg > shortLeg ? longLeg - shortLeg : 0;
        }
    }

    /// @dev K e^{-rT} N(-d2) - S N(-d1), using N(-x) = 1 - N(x), which `normCdf` satisfies exactly.
    function _putPrice(uint256 spotWad, uint256 discountedStrikeWad, uint256 nd1, uint256 nd2)
        private
        pure
        returns (uint256)
    {
        unchecked {
            uint256 longLeg = discountedStrikeWad * (WAD - nd2) / WAD;
            uint256 shortLeg = spotWad * (WAD - nd1) / WAD;
            return longLeg > shortLeg ? longLeg - shortLeg : 0;
        }
    }

    function _putDelta(uint256 nd1) private pure returns (int256) {
        // nd1 <= 1e18: the result is in [-1e18, 0] and both casts are safe.
        unchecked {
            return int256(nd1) - int256(WAD);
        }
    }

    /// @dev phi(d1) / (S sigma sqrt T), as WAD per unit of spot: pdf * 1e36 / (S * volSqrtT).
    function _gamma(uint256 spotWad, uint256 volSqrtTWad, uint256 pdfWad) private pure returns (uint256) {
        unchecked {
            // pdf <= 4e17, so pdf * 1e36 <= 4e53; S * volSqrtT <= 1e36 * 1.2e19 and >= 1e9 * 1e8 > 0.
            return pdfWad * (WAD * WAD) / (spotWad * volSqrtTWad);
        }
    }

    /// @dev S phi(d1) sqrt(T).
    function _vega(uint256 spotWad, uint256 tSeconds, uint256 pdfWad) private pure returns (uint256) {
        unchecked {
            // sqrt(T / year) in WAD from T * 1e36 / year <= 5e36.
            uint256 sqrtTWad = FixedPointMathLib.sqrt(tSeconds * (WAD * WAD) / SECONDS_PER_YEAR);
            // One rounding: spot * pdf * sqrtT <= 1e36 * 4e17 * 2.3e18 ~ 9.2e71 < 2^256.
            return spotWad * pdfWad * sqrtTWad / (WAD * WAD);
        }
    }

    /// @dev Phi(y) - 1/2 for 0 <= y <= 0.67448975: y * A(y^2) / B(y^2).
    function _centralOffset(uint256 y) private pure returns (uint256) {
        unchecked {
            // y <= 0.675e18: ySq <= 0.455e18; every Horner term stays below 1e23 before the multiply.
            uint256 ySq = y * y / WAD;
            uint256 num = A4 * ySq / WAD;
            num = (num + A0) * ySq / WAD;
            num = (num + A1) * ySq / WAD;
            num = (num + A2) * ySq / WAD;
            num += A3;
            uint256 den = ySq;
            den = (den + B0) * ySq / WAD;
            den = (den + B1) * ySq / WAD;
            den = (den + B2) * ySq / WAD;
            den += B3;
            return y * num / den;
        }
    }

    /// @dev 1 - Phi(y) for y > 0.67448975.
    function _upperTail(uint256 y) private pure returns (uint256) {
        if (y >= TAIL_CUTOFF_WAD) return 0;
        unchecked {
            uint256 ratioWad;
            if (y <= SQRT_32_WAD) {
                // y <= 5.66e18: y^8 ~ 1e6 in WAD; every product stays below 1e45.
                uint256 num = C8 * y / WAD;
                num = (num + C0) * y / WAD;
                num = (num + C1) * y / WAD;
                num = (num + C2) * y / WAD;
                num = (num + C3) * y / WAD;
                num = (num + C4) * y / WAD;
                num = (num + C5) * y / WAD;
                num = (num + C6) * y / WAD;
                num += C7;
                uint256 den = y;
                den = (den + D0) * y / WAD;
                den = (den + D1) * y / WAD;
                den = (den + D2) * y / WAD;
                den = (den + D3) * y / WAD;
                den = (den + D4) * y / WAD;
                den = (den + D5) * y / WAD;
                den = (den + D6) * y / WAD;
                den += D7;
                ratioWad = num * WAD / den;
            } else {
                // z = 1 / y^2 in WAD, in (0.0123e18, 0.03125e18) for sqrt(32) < y < 9.
                uint256 z = 1e54 / (y * y);
                uint256 num = P5 * z / WAD;
                num = (num + P0) * z / WAD;
                num = (num + P1) * z / WAD;
                num = (num + P2) * z / WAD;
                num = (num + P3) * z / WAD;
                num += P4;
                uint256 den = z;
                den = (den + Q0) * z / WAD;
                den = (den + Q1) * z / WAD;
                den = (den + Q2) * z / WAD;
                den = (den + Q3) * z / WAD;
                den += Q4;
                // The correction z P/Q is ~0.012 against 1/sqrt(2 pi) ~ 0.399: no underflow.
                ratioWad = (INV_SQRT_2PI_WAD - z * num / den) * WAD / y;
            }
            // y < 9e18: y * y / 2 < 4.05e37 / 1e18, an exponent >= -40.5e18 inside expWad's domain;
            // the result is in (0, 1e18] so the cast is safe.
            return uint256(FixedPointMathLib.expWad(-int256(y * y / (2 * WAD)))) * ratioWad / WAD;
        }
    }
}
