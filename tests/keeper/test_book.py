"""Portfolio aggregation: a book of options plus the spot hedge, in base and USD units."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.greeks import JumpParams, OptionBook, book_greeks, bs_greeks, merton_greeks


@pytest.fixture
def book() -> OptionBook:
    # The vault wrote 10 calls at 2200 and 4 puts at 1800 and holds 1 call at 2500.
    return OptionBook(
        strikes=np.array([2200.0, 1800.0, 2500.0]),
        expiries=np.array([30.0, 30.0, 60.0]) / 365.0,
        is_call=np.array([True, False, True]),
        quantities=np.array([-10.0, -4.0, 1.0]),
    )


def test_book_greeks_are_quantity_weighted_sums_plus_the_hedge(book):
    g = book_greeks(2000.0, book, 0.8, 0.05, hedge_base=3.5)
    per = bs_greeks(2000.0, book.strikes, book.expiries, 0.8, 0.05, book.is_call)
    q = book.quantities
    assert g.option_delta == pytest.approx(float(per.delta @ q))
    assert g.net_delta == pytest.approx(float(per.delta @ q) + 3.5)
    assert g.gamma == pytest.approx(float(per.gamma @ q))
    assert g.vega_usd == pytest.approx(float(per.vega @ q))
    assert g.theta_usd == pytest.approx(float(per.theta @ q))
    assert g.value_usd == pytest.approx(float(per.price @ q))


def test_usd_views_use_spot(book):
    g = book_greeks(2000.0, book, 0.8, 0.05, hedge_base=2.0)
    assert g.net_delta_usd == pytest.approx(g.net_delta * 2000.0)
    assert g.gamma_usd == pytest.approx(g.gamma * 2000.0**2 / 100.0)
    assert g.theta_usd_per_day == pytest.approx(g.theta_usd / 365.0)


def test_written_calls_give_negative_delta_and_gamma():
    written = OptionBook(np.array([2000.0]), np.array([0.1]), np.array([True]), np.array([-5.0]))
    g = book_greeks(2000.0, written, 0.7, 0.0)
    assert g.option_delta < 0.0 and g.gamma < 0.0 and g.value_usd < 0.0


def test_book_greeks_over_an_array_of_spots_match_one_at_a_time(book):
    spots = np.array([1500.0, 2000.0, 2600.0])
    hedge = np.array([0.0, 1.0, 2.0])
    many = book_greeks(spots, book, 0.8, 0.05, hedge_base=hedge)
    for i, s in enumerate(spots):
        one = book_greeks(s, book, 0.8, 0.05, hedge_base=hedge[i])
        assert many.net_delta[i] == pytest.approx(one.net_delta)
        assert many.gamma[i] == pytest.approx(one.gamma)


def test_tau_is_gamma_weighted_expiry(book):
    g = book_greeks(2000.0, book, 0.8, 0.05)
    assert 30.0 / 365.0 <= g.tau_years <= 60.0 / 365.0


def test_book_priced_with_jumps_uses_merton(book):
    jumps = JumpParams(10.0, -0.05, 0.1)
    g = book_greeks(2000.0, book, 0.6, 0.05, jumps=jumps)
    per = merton_greeks(2000.0, book.strikes, book.expiries, 0.6, 0.05, book.is_call, jumps)
    assert g.option_delta == pytest.approx(float(per.delta @ book.quantities))


def test_per_option_vols_are_accepted(book):
    smile = np.array([0.85, 0.95, 0.8])
    g = book_greeks(2000.0, book, smile, 0.05)
    per = bs_greeks(2000.0, book.strikes, book.expiries, smile, 0.05, book.is_call)
    assert g.vega_usd == pytest.approx(float(per.vega @ book.quantities))


def test_option_book_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="^quantities has shape"):
        OptionBook(np.array([1.0, 2.0]), np.array([0.1, 0.2]), np.array([True, False]), np.array([1.0]))


def test_option_book_rejects_negative_strike():
    with pytest.raises(ValueError, match="^strikes must be positive"):
        OptionBook(np.array([-1.0]), np.array([0.1]), np.array([True]), np.array([1.0]))


def test_option_book_arrays_are_read_only_copies(book):
    with pytest.raises(ValueError):
        book.strikes[0] = 1.0
    mine = np.array([100.0])
    other = OptionBook(mine, np.array([0.1]), np.array([True]), np.array([1.0]))
    mine[0] = 90.0  # the caller's array stays writable...
    assert other.strikes[0] == 100.0  # ...and is not aliased


def test_sigma_with_wrong_length_is_rejected(book):
    with pytest.raises(ValueError, match="^sigma has shape"):
        book_greeks(2000.0, book, np.array([0.5, 0.6]), 0.0)
