"""Golden Black-Scholes vectors (tests/data/bs_golden.csv): reproducible and in agreement with keeper.greeks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from keeper.greeks import SECONDS_PER_YEAR, bs_greeks

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "bs_golden.csv"
GENERATOR = ROOT / "scripts" / "golden" / "make_vectors.py"
COLUMNS = "spot,strike,t_seconds,sigma,rate,call_price,put_price,call_delta,put_delta"


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with GOLDEN.open() as fh:
        header = fh.readline().strip()
    assert header == COLUMNS
    data = np.loadtxt(GOLDEN, delimiter=",", skiprows=1)
    return {name: data[:, i] for i, name in enumerate(COLUMNS.split(","))}


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_vectors", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_file_covers_the_domain_with_at_least_ten_thousand_rows(golden):
    ratio = golden["strike"] / golden["spot"]
    assert golden["spot"].size >= 10_000
    assert ratio.min() == pytest.approx(0.2, abs=1e-6) and ratio.max() == pytest.approx(5.0, abs=1e-6)
    assert golden["t_seconds"].min() == 3600 and golden["t_seconds"].max() == 2 * SECONDS_PER_YEAR
    assert golden["sigma"].min() == 0.05 and golden["sigma"].max() == 3.0
    assert golden["rate"].min() == 0.0 and golden["rate"].max() == 0.2
    assert np.all(golden["t_seconds"] == np.round(golden["t_seconds"]))


def test_golden_values_match_keeper_greeks(golden):
    g = bs_greeks(
        golden["spot"][:, None],
        golden["strike"][:, None],
        (golden["t_seconds"] / SECONDS_PER_YEAR)[:, None],
        golden["sigma"][:, None],
        golden["rate"][:, None],
        np.array([True, False]),
    )
    scale = golden["spot"]
    for col, values in (("call_price", g.price[:, 0]), ("put_price", g.price[:, 1])):
        np.testing.assert_array_less(np.abs(values - golden[col]), 1e-13 * scale + 1e-300, err_msg=col)
    for col, values in (("call_delta", g.delta[:, 0]), ("put_delta", g.delta[:, 1])):
        np.testing.assert_allclose(values, golden[col], rtol=0, atol=1e-13, err_msg=col)


def test_golden_file_is_exactly_what_the_generator_writes(generator):
    assert generator.to_csv(generator.generate()) == GOLDEN.read_text()


def test_golden_prices_satisfy_put_call_parity(golden):
    t = golden["t_seconds"] / SECONDS_PER_YEAR
    residual = (
        golden["call_price"] - golden["put_price"] - (golden["spot"] - golden["strike"] * np.exp(-golden["rate"] * t))
    )
    assert np.max(np.abs(residual) / golden["spot"]) < 1e-13
