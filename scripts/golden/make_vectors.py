"""Generate Black-Scholes golden vectors for cross-implementation checks (e.g. the Solidity library).

    python scripts/golden/make_vectors.py [--out tests/data/bs_golden.csv] [--seed 20240601]

Writes one CSV row per input with columns

    spot,strike,t_seconds,sigma,rate,call_price,put_price,call_delta,put_delta

Inputs are exact short decimals (spot, strike, sigma and rate with at most 6 decimals,
t_seconds an integer), so a fixed-point implementation can read them without rounding
questions; T in years is t_seconds / 31_536_000 (365-day year). Outputs are
keeper.greeks float64 values printed as the shortest decimal that round-trips (Python repr),
so parsing a cell gives back the exact float64.
Prices are in the same units as spot/strike; deltas per unit of underlying. No dividend yield.

Domain: strike/spot 0.2..5, sigma 5 %..300 %, T 1 hour..2 years, rate 0..20 %; 10,000 random
rows (fixed seed) plus a grid of edge cases (domain edges, deep ITM/OTM, ATM, short T).
Imports only numpy and keeper.greeks (plus the standard library).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from keeper.greeks import SECONDS_PER_YEAR, bs_greeks  # noqa: E402

COLUMNS = ("spot", "strike", "t_seconds", "sigma", "rate", "call_price", "put_price", "call_delta", "put_delta")
DEFAULT_SEED = 20240601
N_RANDOM = 10_000
T_MIN_S, T_MAX_S = 3_600, 2 * SECONDS_PER_YEAR
RATIO_MIN, RATIO_MAX = 0.2, 5.0
SIGMA_MIN, SIGMA_MAX = 0.05, 3.0
RATE_MIN, RATE_MAX = 0.0, 0.2


def _dec6(x: np.ndarray) -> np.ndarray:
    """Round to 6 decimals: the float64 nearest an exact 6-decimal number."""
    return np.round(x, 6)


def random_inputs(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    spot = _dec6(np.exp(rng.uniform(np.log(1.0), np.log(10_000.0), n)))
    ratio = np.exp(rng.uniform(np.log(RATIO_MIN), np.log(RATIO_MAX), n))
    # Keep strike/spot inside the domain after rounding the strike to 6 decimals.
    strike = np.clip(_dec6(spot * ratio), np.ceil(spot * RATIO_MIN * 1e6) / 1e6, np.floor(spot * RATIO_MAX * 1e6) / 1e6)
    t_seconds = np.round(np.exp(rng.uniform(np.log(T_MIN_S), np.log(T_MAX_S), n))).astype(np.int64)
    sigma = _dec6(np.exp(rng.uniform(np.log(SIGMA_MIN), np.log(SIGMA_MAX), n)))
    rate = _dec6(rng.uniform(RATE_MIN, RATE_MAX, n))
    return {"spot": spot, "strike": strike, "t_seconds": t_seconds, "sigma": sigma, "rate": rate}


def edge_inputs() -> dict[str, np.ndarray]:
    """Full grid over domain edges and interior landmarks, at two spot scales."""
    ratios = np.array([0.2, 0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0, 5.0])
    t_values = np.array([T_MIN_S, 86_400, 7 * 86_400, 30 * 86_400, SECONDS_PER_YEAR, T_MAX_S], dtype=np.int64)
    sigmas = np.array([SIGMA_MIN, 0.2, 0.8, SIGMA_MAX])
    rates = np.array([RATE_MIN, 0.05, RATE_MAX])
    spots = np.array([1.0, 2000.0])
    grid = np.meshgrid(spots, ratios, t_values, sigmas, rates, indexing="ij")
    spot, ratio, t_seconds, sigma, rate = (g.ravel() for g in grid)
    return {
        "spot": spot,
        "strike": _dec6(spot * ratio),
        "t_seconds": t_seconds.astype(np.int64),
        "sigma": sigma,
        "rate": rate,
    }


def compute(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    t_years = inputs["t_seconds"] / SECONDS_PER_YEAR
    both = np.array([True, False])
    g = bs_greeks(
        inputs["spot"][:, None],
        inputs["strike"][:, None],
        t_years[:, None],
        inputs["sigma"][:, None],
        inputs["rate"][:, None],
        both,
    )
    return {
        "call_price": g.price[:, 0],
        "put_price": g.price[:, 1],
        "call_delta": g.delta[:, 0],
        "put_delta": g.delta[:, 1],
    }


def generate(seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    rnd, edge = random_inputs(np.random.default_rng(seed), N_RANDOM), edge_inputs()
    inputs = {k: np.concatenate([rnd[k], edge[k]]) for k in rnd}
    return inputs | compute(inputs)


def to_csv(rows: dict[str, np.ndarray]) -> str:
    lines = [",".join(COLUMNS)]
    for i in range(rows["spot"].size):
        cells = []
        for col in COLUMNS:
            value = rows[col][i]
            # repr is the shortest decimal that round-trips: 6-decimal inputs print as written.
            cells.append(str(int(value)) if col == "t_seconds" else repr(float(value)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "bs_golden.csv")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    rows = generate(args.seed)
    text = to_csv(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    ratio = rows["strike"] / rows["spot"]
    n, digest = rows["spot"].size, hashlib.sha256(text.encode()).hexdigest()[:16]
    print(f"wrote {args.out}: {n} rows ({N_RANDOM} random, seed {args.seed}, {n - N_RANDOM} edge)")
    print(f"  {len(text.encode()) / 1e6:.2f} MB, sha256 {digest}")
    t = rows["t_seconds"]
    print(f"  strike/spot {ratio.min():.4f}..{ratio.max():.4f}; t_seconds {t.min()}..{t.max()}")
    print(f"  sigma {rows['sigma'].min()}..{rows['sigma'].max()}; rate {rows['rate'].min()}..{rows['rate'].max()}")
    tiny = (rows["call_price"] < 1e-18 * rows["spot"]) | (rows["put_price"] < 1e-18 * rows["spot"])
    print(f"  rows with a price below 1e-18 x spot (under one wei per WAD): {int(tiny.sum())}")
    parity = (
        rows["call_price"]
        - rows["put_price"]
        - (rows["spot"] - rows["strike"] * np.exp(-rows["rate"] * rows["t_seconds"] / SECONDS_PER_YEAR))
    )
    print(f"  max |put-call parity residual| / spot: {float(np.max(np.abs(parity) / rows['spot'])):.2e}")


if __name__ == "__main__":
    main()
