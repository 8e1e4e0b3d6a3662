// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BlackScholes} from "../libraries/BlackScholes.sol";

/// @title BlackScholesHarness
/// @notice Exposes the internal BlackScholes library to tests and benchmarks: single evaluations, batch
///         evaluations (thousands of vectors in a few eth_calls) and gas measurements. Test-only.
contract BlackScholesHarness {
    /*//////////////////////////////////////////////////////////////
                            SINGLE EVALUATIONS
    //////////////////////////////////////////////////////////////*/

    function callPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        pure
        returns (uint256 priceWad, uint256 deltaWad)
    {
        return BlackScholes.callPriceDelta(spotWad, strikeWad, tSeconds, volWad, rateWad);
    }

    function putPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        pure
        returns (uint256 priceWad, int256 deltaWad)
    {
        return BlackScholes.putPriceDelta(spotWad, strikeWad, tSeconds, volWad, rateWad);
    }

    function priceDelta(BlackScholes.Inputs memory inputs, bool isCall)
        external
        pure
        returns (uint256 priceWad, int256 deltaWad)
    {
        return BlackScholes.priceDelta(inputs, isCall);
    }

    function priceDeltaArgs(
        uint256 spotWad,
        uint256 strikeWad,
        uint256 tSeconds,
        uint256 volWad,
        uint256 rateWad,
        bool isCall
    ) external pure returns (uint256 priceWad, int256 deltaWad) {
        return BlackScholes.priceDelta(spotWad, strikeWad, tSeconds, volWad, rateWad, isCall);
    }

    function delta(
        uint256 spotWad,
        uint256 strikeWad,
        uint256 tSeconds,
        uint256 volWad,
        uint256 rateWad,
        bool isCall
    ) external pure returns (int256) {
        return BlackScholes.delta(spotWad, strikeWad, tSeconds, volWad, rateWad, isCall);
    }

    function greeks(BlackScholes.Inputs memory inputs, bool isCall)
        external
        pure
        returns (uint256 priceWad, int256 deltaWad, uint256 gammaWad, uint256 vegaWad)
    {
        BlackScholes.Greeks memory g = BlackScholes.greeks(inputs, isCall);
        return (g.priceWad, g.deltaWad, g.gammaWad, g.vegaWad);
    }

    function gamma(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        pure
        returns (uint256)
    {
        return BlackScholes.gamma(spotWad, strikeWad, tSeconds, volWad, rateWad);
    }

    function vega(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        pure
        returns (uint256)
    {
        return BlackScholes.vega(spotWad, strikeWad, tSeconds, volWad, rateWad);
    }

    function normCdf(int256 xWad) external pure returns (uint256) {
        return BlackScholes.normCdf(xWad);
    }

    function normPdf(int256 xWad) external pure returns (uint256) {
        return BlackScholes.normPdf(xWad);
    }

    /*//////////////////////////////////////////////////////////////
                                BATCHES
    //////////////////////////////////////////////////////////////*/

    /// @notice Call and put price and delta for each vector.
    function batchPriceDelta(BlackScholes.Inputs[] calldata inputs)
        external
        pure
        returns (uint256[] memory callPrice, uint256[] memory callDelta, uint256[] memory putPrice, int256[] memory putDelta)
    {
        uint256 n = inputs.length;
        callPrice = new uint256[](n);
        callDelta = new uint256[](n);
        putPrice = new uint256[](n);
        putDelta = new int256[](n);
        for (uint256 i; i < n; ++i) {
            BlackScholes.Inputs calldata x = inputs[i];
            (callPrice[i], callDelta[i]) =
                BlackScholes.callPriceDelta(x.spotWad, x.strikeWad, x.tSeconds, x.volWad, x.rateWad);
            (putPrice[i], putDelta[i]) =
                BlackScholes.putPriceDelta(x.spotWad, x.strikeWad, x.tSeconds, x.volWad, x.rateWad);
        }
    }

    /// @notice Gamma and vega for each vector.
    function batchGammaVega(BlackScholes.Inputs[] calldata inputs)
        external
        pure
        returns (uint256[] memory gammaWad, uint256[] memory vegaWad)
    {
        uint256 n = inputs.length;
        gammaWad = new uint256[](n);
        vegaWad = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            BlackScholes.Inputs calldata x = inputs[i];
            gammaWad[i] = BlackScholes.gamma(x.spotWad, x.strikeWad, x.tSeconds, x.volWad, x.rateWad);
            vegaWad[i] = BlackScholes.vega(x.spotWad, x.strikeWad, x.tSeconds, x.volWad, x.rateWad);
        }
    }

    function batchNormCdf(int256[] calldata xWad) external pure returns (uint256[] memory cdfWad) {
        cdfWad = new uint256[](xWad.length);
        for (uint256 i; i < xWad.length; ++i) {
            cdfWad[i] = BlackScholes.normCdf(xWad[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                  GAS
    //////////////////////////////////////////////////////////////*/

    /// @notice Gas of one library call measured with gasleft() around it, minus the cost of the
    ///         measurement itself (`gasOverhead`), so the number is the library's own cost.
    function gasCallPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        view
        returns (uint256 priceWad, uint256 deltaWad, uint256 gasUsed)
    {
        uint256 before = gasleft();
        (priceWad, deltaWad) = BlackScholes.callPriceDelta(spotWad, strikeWad, tSeconds, volWad, rateWad);
        uint256 spent = before - gasleft();
        gasUsed = spent - gasOverhead();
    }

    function gasPutPriceDelta(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        view
        returns (uint256 priceWad, int256 deltaWad, uint256 gasUsed)
    {
        uint256 before = gasleft();
        (priceWad, deltaWad) = BlackScholes.putPriceDelta(spotWad, strikeWad, tSeconds, volWad, rateWad);
        uint256 spent = before - gasleft();
        gasUsed = spent - gasOverhead();
    }

    function gasDelta(BlackScholes.Inputs memory inputs, bool isCall)
        external
        view
        returns (int256 deltaWad, uint256 gasUsed)
    {
        uint256 before = gasleft();
        deltaWad = BlackScholes.delta(inputs.spotWad, inputs.strikeWad, inputs.tSeconds, inputs.volWad, inputs.rateWad, isCall);
        uint256 spent = before - gasleft();
        gasUsed = spent - gasOverhead();
    }

    function gasGreeks(BlackScholes.Inputs memory inputs, bool isCall) external view returns (uint256 gasUsed) {
        uint256 before = gasleft();
        BlackScholes.greeks(inputs, isCall);
        uint256 spent = before - gasleft();
        gasUsed = spent - gasOverhead();
    }

    function gasNormCdf(int256 xWad) external view returns (uint256 cdfWad, uint256 gasUsed) {
        uint256 before = gasleft();
        cdfWad = BlackScholes.normCdf(xWad);
        uint256 spent = before - gasleft();
        gasUsed = spent - gasOverhead();
    }

    /// @notice What two back-to-back gasleft() reads cost here (GAS, arithmetic, stack moves), to be
    ///         subtracted from the measurements above.
    function gasOverhead() public view returns (uint256) {
        uint256 before = gasleft();
        return before - gasleft();
    }

    /// @notice Baseline for raw transaction gas: the calldata shape of `callPriceDelta` without the
    ///         library call, so gas_used(callPriceDelta sent as a tx) - gas_used(baseline) is the cost of
    ///         the evaluation (brownie: `harness.callPriceDelta.transact(...)`).
    function baseline(uint256 spotWad, uint256 strikeWad, uint256 tSeconds, uint256 volWad, uint256 rateWad)
        external
        pure
        returns (uint256 priceWad, uint256 deltaWad)
    {
        // Touch every argument so the compiler cannot drop the calldata decoding the real call pays for.
        return (spotWad ^ strikeWad ^ tSeconds, volWad ^ rateWad);
    }
}
