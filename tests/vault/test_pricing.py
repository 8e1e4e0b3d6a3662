"""The market's premiums and the vault's marks, delta and stress equities against an independent
Black-Scholes (tests/vault/bsref.py, scipy): checks the wiring (time to expiry in seconds, rate,
vol and price scaling, spread, rounding up) rather than the library's numerics, which its own
golden-vector tests cover. Values are compared at the exact block the contract evaluated them in.
"""

from __future__ import annotations

import pytest
from brownie import web3

from tests.vault.bsref import series_price_delta
from tests.vault.conftest import DAY, USD, WAD

SPREAD_BPS = 200
# Library target: 1e-8 of spot per unit; float64 is far tighter. In USDC units for 1 WETH at 3000:
PRICE_TOL_USD_UNITS = 3_000 * USD * 1e-8 * 10 + 2

SERIES = [  # (strike bps of spot, expiry, call?)
    (9_000, 7 * DAY, True),
    (11_000, 30 * DAY, True),
    (11_000, 7 * DAY, False),
    (9_000, 30 * DAY, False),
]


@pytest.fixture
def book(hv, buyer, depositor):
    hv.deposit(depositor, 1_000_000 * USD)
    ids, txs = [], []
    for strike_bps, expiry_in, is_call in SERIES:
        sid = hv.list_series(strike_bps, expiry_in, is_call)
        ids.append(sid)
        txs.append(hv.buy(buyer, sid, 2 * WAD))
    return ids, txs


def _rate(hv) -> int:
    return hv.params("market")["rateWad"]


def test_premiums_match_independent_black_scholes_plus_spread(hv, book):
    ids, txs = book
    for sid, tx in zip(ids, txs):
        now = web3.eth.get_block(tx.block_number).timestamp
        ev = tx.events["OptionBought"]
        price, _ = series_price_delta(hv.market.seriesOf(sid), ev["spotWad"], ev["volWad"], _rate(hv), now)
        expected = price * 2 * (1 + SPREAD_BPS / 10_000) * USD
        premium = int(tx.return_value)
        assert abs(premium - expected) <= PRICE_TOL_USD_UNITS, (sid, premium, expected)
        # Rounded up: never below the exact premium by more than the library's error.
        assert premium >= expected - PRICE_TOL_USD_UNITS


def test_valuation_marks_delta_and_stress_equities_match_independent_black_scholes(hv, vault, book):
    ids, _ = book
    hv.advance(2 * DAY)
    hv.move_price(3_120)
    block = web3.eth.block_number
    now = web3.eth.get_block(block).timestamp
    nav, worst, notional_value, holders_delta = vault.valuation.call(block_identifier=block)
    spot, vol, rate = hv.spot_wad(), hv.vol_wad(), _rate(hv)
    series = [hv.market.seriesOf(sid) for sid in ids]
    stress = hv.params("risk")["stressBps"] / 10_000

    def equity(at_spot_wad: int) -> float:
        mark = sum(series_price_delta(s, at_spot_wad, vol, rate, now)[0] * s[3] / WAD for s in series)
        assets = hv.usdc.balanceOf(vault) / USD + hv.weth.balanceOf(vault) / WAD * at_spot_wad / WAD
        return assets - mark - hv.market.owedQuote() / USD

    tol = len(series) * PRICE_TOL_USD_UNITS / USD
    assert nav / USD == pytest.approx(equity(spot), abs=tol)
    scenarios = [spot, spot * 8_000 // 10_000, spot * 12_000 // 10_000]
    assert worst / WAD == pytest.approx(min(equity(s) for s in scenarios), abs=tol)
    assert notional_value == sum(s[3] for s in series) * spot // WAD
    expected_delta = sum(series_price_delta(s, spot, vol, rate, now)[1] * s[3] / WAD for s in series)
    assert holders_delta / WAD == pytest.approx(expected_delta, abs=1e-7 * len(series))
    assert stress == 0.2


def test_book_delta_alone_equals_the_books_delta_to_the_wei(hv, vault, market, book):
    """The rebalance checks `bookDelta` while the margin and the keeper's snapshot read `book` and
    `scenarios`: the three must report the same holders' delta, in and out of the money and after
    a series expires unsettled (marked at intrinsic, step delta)."""
    for move_to, wait in ((3_000, 0), (3_400, 3 * DAY), (2_500, 5 * DAY)):
        hv.advance(wait)
        hv.move_price(move_to)
        spot, vol = hv.spot_wad(), hv.vol_wad()
        _, delta, _ = market.book(spot, vol)
        assert market.bookDelta(spot, vol) == delta
        assert market.scenarios([spot, spot, spot], vol)[1] == delta
        assert delta != 0
