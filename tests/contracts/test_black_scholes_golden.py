"""Golden vectors: the on-chain BlackScholes against the keeper's float64 model on >= 10,000 inputs.

Source of the vectors, in order:
1. tests/data/bs_golden.csv, written by scripts/golden/make_vectors.py from keeper/greeks.py. Columns
   are looked up by name, tolerant of spelling (call_price / call / c, sigma / vol, ...), in either
   a wide layout (call and put columns on one row) or a long one (price, delta and a call/put column).
2. Otherwise a seeded random set generated here with the same specification (spot/strike 0.2..5,
   vol 5%..300%, 1 hour..2 years in whole seconds, rate 0..20%, plus edge cases), priced with
   scipy.special.ndtr in float64.

Asserted: max |price error| / spot and max |delta error| are both <= 1e-8. The measured maxima are
printed (run with -s); they sit at the float64 reference's own noise, ~1e-15.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bs_reference import MIN_VOL_SQRT_T_WAD, SECONDS_PER_YEAR, WAD, bs_float, to_wad

GOLDEN_CSV = Path(__file__).resolve().parents[1] / "data" / "bs_golden.csv"

PRICE_TOL = 1e-8  # |price error| / spot
DELTA_TOL = 1e-8  # |delta error|
MIN_VECTORS = 10_000
BATCH = 400  # vectors per eth_call: ~9k gas each (call + put), well inside the node's 12M call cap

# Library domain (BlackScholes.sol); rows outside it are reported and left out.
MAX_T_SECONDS = 5 * SECONDS_PER_YEAR

ALIASES = {
    "spot": ("spot", "s", "s0", "spot_price", "underlying", "underlying_price"),
    "strike": ("strike", "k", "strike_price"),
    "t_seconds": ("t_seconds", "tseconds", "t_sec", "t_secs", "time_seconds", "tau_seconds", "seconds",
                  "expiry_seconds", "seconds_to_expiry", "t_s"),
    "sigma": ("sigma", "vol", "volatility", "iv", "implied_vol", "sigma_annual"),
    "rate": ("rate", "r", "risk_free_rate", "risk_free", "interest_rate", "rf"),
    "call_price": ("call_price", "call", "c", "price_call", "call_px", "callprice", "call_value"),
    "put_price": ("put_price", "put", "p", "price_put", "put_px", "putprice", "put_value"),
    "call_delta": ("call_delta", "delta_call", "calldelta", "c_delta"),
    "put_delta": ("put_delta", "delta_put", "putdelta", "p_delta"),
    # long layout
    "price": ("price", "premium", "value", "option_price"),
    "delta": ("delta",),
    "is_call": ("is_call", "iscall", "option_type", "type", "kind", "cp", "call_put", "right", "side"),
}
CALL_WORDS = {"call", "c", "1", "true", "t", "yes"}
PUT_WORDS = {"put", "p", "0", "false", "f", "no"}


@dataclass
class Golden:
    """One (inputs, option type) row with the reference price and delta."""

    source: str
    inputs: list[tuple[int, int, int, int, int]]  # WAD (spot, strike, t, vol, rate), possibly repeated
    spot: np.ndarray
    is_call: np.ndarray
    price: np.ndarray
    delta: np.ndarray
    skipped: int = 0


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _find(columns: dict[str, str], key: str) -> str | None:
    for alias in ALIASES[key]:
        if alias in columns:
            return columns[alias]
    return None


def _in_domain(spot: int, strike: int, t: int, vol: int, rate: int) -> bool:
    return (
        10**9 <= spot <= 10**36
        and 10**9 <= strike <= 10**36
        and strike * 10**16 <= spot * WAD <= strike * 10**20
        and 0 <= t <= MAX_T_SECONDS
        and 0 <= vol <= 5 * WAD
        and 0 <= rate <= WAD
    )


def load_golden_csv(path: Path) -> Golden:
    with path.open(newline="") as fp:
        reader = csv.DictReader(fp)
        columns = {_norm(c): c for c in reader.fieldnames or []}
        rows = list(reader)
    need = {k: _find(columns, k) for k in ("spot", "strike", "t_seconds", "sigma", "rate")}
    missing = [k for k, c in need.items() if c is None]
    assert not missing, f"{path}: no column for {missing}; columns are {sorted(columns)}"
    wide = {k: _find(columns, k) for k in ("call_price", "put_price", "call_delta", "put_delta")}
    long = {k: _find(columns, k) for k in ("price", "delta", "is_call")}
    is_wide = all(wide.values())
    assert is_wide or all(long.values()), (
        f"{path}: need call/put price and delta columns (or price, delta and a call/put column); "
        f"columns are {sorted(columns)}"
    )
    inputs, spot, is_call, price, delta = [], [], [], [], []
    skipped = 0
    for row in rows:
        t_raw = float(row[need["t_seconds"]])
        assert t_raw == int(t_raw), f"t_seconds must be whole seconds, got {row[need['t_seconds']]}"
        vec = (
            to_wad(row[need["spot"]].strip()),
            to_wad(row[need["strike"]].strip()),
            int(t_raw),
            to_wad(row[need["sigma"]].strip()),
            to_wad(row[need["rate"]].strip()),
        )
        if not _in_domain(*vec):
            skipped += 1
            continue
        if is_wide:
            legs = [(True, wide["call_price"], wide["call_delta"]), (False, wide["put_price"], wide["put_delta"])]
        else:
            word = row[long["is_call"]].strip().lower()
            assert word in CALL_WORDS | PUT_WORDS, f"unrecognised option type {word!r}"
            legs = [(word in CALL_WORDS, long["price"], long["delta"])]
        for call, price_col, delta_col in legs:
            inputs.append(vec)
            spot.append(float(row[need["spot"]]))
            is_call.append(call)
            price.append(float(row[price_col]))
            delta.append(float(row[delta_col]))
    return Golden(str(path), inputs, np.array(spot), np.array(is_call), np.array(price), np.array(delta), skipped)


def generate_golden(n: int = MIN_VECTORS, seed: int = 7) -> Golden:
    """The specification of scripts/golden/make_vectors.py, priced with scipy.special.ndtr."""
    rng = np.random.default_rng(seed)
    spot = np.exp(rng.uniform(math.log(1.0), math.log(1e5), n))
    ratio = np.exp(rng.uniform(math.log(0.2), math.log(5.0), n))
    t = rng.integers(3600, 2 * SECONDS_PER_YEAR, n, endpoint=True)
    vol = rng.uniform(0.05, 3.0, n)
    rate = rng.uniform(0.0, 0.2, n)
    rows = [(f"{s:.10g}", f"{s / q:.10g}", int(tt), f"{v:.10g}", f"{r:.10g}") for s, q, tt, v, r in zip(spot, ratio, t, vol, rate)]
    # Edge cases: every corner of the box, at, in and out of the money.
    for s, k in (("3000", "3000"), ("3000", "15000"), ("3000", "600"), ("1", "1.0001"), ("100000", "99999")):
        for tt in (3600, 2 * SECONDS_PER_YEAR):
            for v in ("0.05", "3"):
                for r in ("0", "0.2"):
                    rows.append((s, k, tt, v, r))
    s_arr = np.array([float(r[0]) for r in rows])
    k_arr = np.array([float(r[1]) for r in rows])
    t_arr = np.array([r[2] for r in rows], dtype=float)
    v_arr = np.array([float(r[3]) for r in rows])
    r_arr = np.array([float(r[4]) for r in rows])
    ref = bs_float(s_arr, k_arr, t_arr, v_arr, r_arr)
    inputs = [(to_wad(a), to_wad(b), int(c), to_wad(d), to_wad(e)) for a, b, c, d, e in rows]
    both = lambda a, b: np.concatenate([a, b])  # noqa: E731
    return Golden(
        "generated (scipy.special.ndtr, seed 7)",
        inputs + inputs,
        both(s_arr, s_arr),
        both(np.ones(len(rows), bool), np.zeros(len(rows), bool)),
        both(ref["call"], ref["put"]),
        both(ref["call_delta"], ref["put_delta"]),
    )


@pytest.fixture(scope="module")
def golden() -> Golden:
    return load_golden_csv(GOLDEN_CSV) if GOLDEN_CSV.exists() else generate_golden()


def evaluate_on_chain(bs, golden: Golden) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate each distinct input vector once (call and put together) and map back to the rows."""
    unique = list(dict.fromkeys(golden.inputs))
    results = {}
    for i in range(0, len(unique), BATCH):
        chunk = unique[i : i + BATCH]
        calls, call_deltas, puts, put_deltas = bs.batchPriceDelta(chunk)
        for vec, c, cd, p, pd in zip(chunk, calls, call_deltas, puts, put_deltas):
            results[vec] = (int(c), int(cd), int(p), int(pd))
    price = np.array([results[v][0] if c else results[v][2] for v, c in zip(golden.inputs, golden.is_call)], float)
    delta = np.array([results[v][1] if c else results[v][3] for v, c in zip(golden.inputs, golden.is_call)], float)
    return price / WAD, delta / WAD


@pytest.fixture(scope="module")
def chain_values(bs, golden):
    return evaluate_on_chain(bs, golden)


def _delta_is_convention(vec: tuple[int, int, int, int, int]) -> bool:
    """At expiry (or below MIN_VOL_SQRT_T) exactly at the forward, delta is a convention: the library
    reports call 0 / put -1 (docs/PRICING.md); a reference may use the smooth limit 1/2."""
    spot, strike, t, vol, rate = vec
    if math.isqrt(vol * vol * t // SECONDS_PER_YEAR) >= MIN_VOL_SQRT_T_WAD:
        return False
    forward_strike = strike * math.exp(-rate / WAD * t / SECONDS_PER_YEAR)
    return abs(spot - forward_strike) <= spot * 1e-12


def test_golden_set_is_large_enough(golden):
    distinct = len(set(golden.inputs))
    print(f"\ngolden source: {golden.source}; {distinct} input vectors, {len(golden.inputs)} option rows, "
          f"{golden.skipped} rows outside the library's domain left out")
    assert distinct >= MIN_VECTORS


def test_price_and_delta_match_golden_vectors(golden, chain_values):
    price, delta = chain_values
    price_err = np.abs(price - golden.price) / golden.spot
    convention = np.array([_delta_is_convention(v) for v in golden.inputs])
    delta_err = np.where(convention, 0.0, np.abs(delta - golden.delta))
    i_p, i_d = int(np.argmax(price_err)), int(np.argmax(delta_err))
    print(
        f"\ngolden ({golden.source}): max |price err|/spot = {price_err[i_p]:.3e} at {golden.inputs[i_p]}, "
        f"max |delta err| = {delta_err[i_d]:.3e} at {golden.inputs[i_d]}; "
        f"{int(convention.sum())} at-the-forward expiry deltas compared by convention instead"
    )
    assert np.all(np.isfinite(golden.price)) and np.all(np.isfinite(golden.delta))
    assert price_err.max() <= PRICE_TOL
    assert delta_err.max() <= DELTA_TOL
    # The convention rows: call 0, put -1.
    for vec, call, d in zip(golden.inputs, golden.is_call, delta):
        if _delta_is_convention(vec):
            assert d == (0.0 if call else -1.0)


def test_golden_set_spans_the_specified_box(golden):
    """The comparison means something only if the vectors cover the box the vault prices in."""
    ratio = np.array([s / k for s, k, *_ in golden.inputs])
    t = np.array([v[2] for v in golden.inputs])
    vol = np.array([v[3] / WAD for v in golden.inputs])
    rate = np.array([v[4] / WAD for v in golden.inputs])
    assert ratio.min() <= 0.21 and ratio.max() >= 4.9
    assert t.min() <= 3600 and t.max() >= 2 * SECONDS_PER_YEAR - 86400
    assert vol.min() <= 0.06 and vol.max() >= 2.9
    assert rate.min() <= 0.01 and rate.max() >= 0.19
    assert golden.is_call.any() and (~golden.is_call).any()


# --------------------------------------------------------------------------------------- the loader
# The real CSV does not exist yet: these tests make sure the loader reads the layouts and spellings it
# claims to, so the golden test works unchanged the day scripts/golden/make_vectors.py writes it.

_LOADER_VECTORS = [("3000", "3100", 604800, "0.8", "0.05"), ("100", "40", 3600, "1.5", "0"), ("2", "9.5", 63072000, "0.05", "0.2")]


def _reference_rows():
    s, k, t, v, r = (np.array([float(x[i]) for x in _LOADER_VECTORS]) for i in range(5))
    return bs_float(s, k, t, v, r)


def test_csv_loader_reads_a_wide_layout_with_other_spellings(tmp_path, bs):
    ref = _reference_rows()
    path = tmp_path / "wide.csv"
    lines = ["S, K, T_Seconds, Vol, r, Call, Put, Delta_Call, Delta_Put"]
    for i, (s, k, t, v, r) in enumerate(_LOADER_VECTORS):
        lines.append(f"{s},{k},{t},{v},{r},{float(ref['call'][i])!r},{float(ref['put'][i])!r},{float(ref['call_delta'][i])!r},{float(ref['put_delta'][i])!r}")
    lines.append("3000,3000,3600,0.5,-0.01,1,1,0.5,-0.5")  # negative rate: outside the domain
    path.write_text("\n".join(lines) + "\n")
    golden = load_golden_csv(path)
    assert golden.skipped == 1
    assert golden.inputs[0] == (3000 * WAD, 3100 * WAD, 604800, 8 * 10**17, 5 * 10**16)
    assert list(golden.is_call) == [True, False] * 3
    price, delta = evaluate_on_chain(bs, golden)
    assert (np.abs(price - golden.price) / golden.spot).max() <= PRICE_TOL
    assert np.abs(delta - golden.delta).max() <= DELTA_TOL


def test_csv_loader_reads_a_long_layout(tmp_path, bs):
    ref = _reference_rows()
    path = tmp_path / "long.csv"
    lines = ["spot,strike,t_seconds,sigma,rate,option_type,price,delta"]
    for i, (s, k, t, v, r) in enumerate(_LOADER_VECTORS):
        lines.append(f"{s},{k},{t},{v},{r},call,{float(ref['call'][i])!r},{float(ref['call_delta'][i])!r}")
        lines.append(f"{s},{k},{t},{v},{r},put,{float(ref['put'][i])!r},{float(ref['put_delta'][i])!r}")
    path.write_text("\n".join(lines) + "\n")
    golden = load_golden_csv(path)
    assert len(golden.inputs) == 6 and golden.skipped == 0
    price, delta = evaluate_on_chain(bs, golden)
    assert (np.abs(price - golden.price) / golden.spot).max() <= PRICE_TOL
    assert np.abs(delta - golden.delta).max() <= DELTA_TOL


def test_csv_loader_names_missing_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("spot,strike,years,sigma,rate,call_price,put_price,call_delta,put_delta\n1,1,1,1,0,0,0,0,0\n")
    with pytest.raises(AssertionError, match="t_seconds"):
        load_golden_csv(path)
