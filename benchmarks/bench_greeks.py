"""Speed of price + delta + gamma + vega + theta for many European options, side by side.

    PYTHONPATH=. python benchmarks/bench_greeks.py [--n 1000000] [--ql-sample 20000] [--repeat 3]

Contenders (each skipped with "not installed" when its package is missing, so any venv runs
this; install the peers with ``pip install -r benchmarks/requirements-greeks-peers.txt``):

* keeper.greeks.bs_greeks (also returns rho);
* a bare numpy evaluation of the same formulas with scipy.special.ndtr (the floor we aim at);
* py_vollib_vectorized (numba; its JIT compile is done in a warm-up call and not timed);
* QuantLib's Python bindings: one EuropeanOption + AnalyticEuropeanEngine per option in a Python
  loop, timed on a subsample and extrapolated linearly to --n (stated in the table).

Times are the best of --repeat runs on the same random inputs (calls and puts mixed,
strike/spot 0.5..2, T 1 day..2 years, vol 10 %..150 %, rate 0..10 %). Every contender returns the
same five quantities in this project's units (py_vollib's per-vol-point vega and per-day theta are
converted inside the timed call); the table shows each one's largest price difference from
keeper.greeks as a sanity check.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from keeper.greeks import JumpParams, bs_greeks, bs_price, merton_greeks, merton_price

Arrays = dict[str, np.ndarray]


@dataclass
class Row:
    name: str
    seconds: float | None  # for --n options
    note: str
    max_price_diff: float | None = None


def make_inputs(n: int, seed: int = 1) -> Arrays:
    rng = np.random.default_rng(seed)
    s = rng.uniform(50.0, 150.0, n)
    return {
        "S": s,
        "K": s * np.exp(rng.uniform(math.log(0.5), math.log(2.0), n)),
        "T": rng.uniform(1 / 365, 2.0, n),
        "sigma": rng.uniform(0.1, 1.5, n),
        "r": rng.uniform(0.0, 0.1, n),
        "is_call": rng.random(n) < 0.5,
    }


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_keeper(x: Arrays) -> tuple[np.ndarray, ...]:
    g = bs_greeks(x["S"], x["K"], x["T"], x["sigma"], x["r"], x["is_call"])
    return g.price, g.delta, g.gamma, g.vega, g.theta


def run_bare_numpy(x: Arrays) -> tuple[np.ndarray, ...]:
    """The textbook formulas written directly, no validation, no limit handling."""
    S, K, T, sigma, r, call = x["S"], x["K"], x["T"], x["sigma"], x["r"], x["is_call"]
    sqrt_t = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * sigma**2) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    kdf = K * np.exp(-r * T)
    pdf = np.exp(-0.5 * d1**2) / math.sqrt(2 * math.pi)
    nd1, nd2 = ndtr(d1), ndtr(d2)
    price = np.where(call, S * nd1 - kdf * nd2, kdf * (1 - nd2) - S * (1 - nd1))
    delta = np.where(call, nd1, nd1 - 1)
    gamma = pdf / (S * sigma * sqrt_t)
    vega = S * pdf * sqrt_t
    theta = -S * pdf * sigma / (2 * sqrt_t) + np.where(call, -r * kdf * nd2, r * kdf * (1 - nd2))
    return price, delta, gamma, vega, theta


def vollib_runner(x: Arrays) -> Callable[[], tuple[np.ndarray, ...]] | None:
    try:
        import py_vollib_vectorized as pvv
    except ImportError:
        return None
    flag = np.where(x["is_call"], "c", "p")

    def run() -> tuple[np.ndarray, ...]:
        price = pvv.vectorized_black_scholes(flag, x["S"], x["K"], x["T"], x["r"], x["sigma"], return_as="numpy")
        g = pvv.get_all_greeks(
            flag, x["S"], x["K"], x["T"], x["r"], x["sigma"], model="black_scholes", return_as="dict"
        )
        # py_vollib units: vega per vol point, theta per day.
        return (
            np.asarray(price),
            np.asarray(g["delta"]),
            np.asarray(g["gamma"]),
            np.asarray(g["vega"]) * 100,
            np.asarray(g["theta"]) * 365,
        )

    small = {k: v[:100] for k, v in x.items()}
    pvv.get_all_greeks(
        np.where(small["is_call"], "c", "p"),
        small["S"],
        small["K"],
        small["T"],
        small["r"],
        small["sigma"],
        model="black_scholes",
        return_as="dict",
    )  # numba JIT warm-up, not timed
    pvv.vectorized_black_scholes(
        np.where(small["is_call"], "c", "p"),
        small["S"],
        small["K"],
        small["T"],
        small["r"],
        small["sigma"],
        return_as="numpy",
    )
    return run


def quantlib_runner(x: Arrays) -> Callable[[], tuple[np.ndarray, ...]] | None:
    try:
        import QuantLib as ql
    except ImportError:
        return None
    today = ql.Date(15, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, vol, rate = ql.SimpleQuote(100.0), ql.SimpleQuote(0.2), ql.SimpleQuote(0.0)
    process = ql.BlackScholesProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    # QuantLib maturities are dates: T is rounded to whole days (the check below uses the same T).
    days = np.maximum(np.round(x["T"] * 365.0), 1).astype(int)

    def run() -> tuple[np.ndarray, ...]:
        n = x["S"].size
        out = np.empty((5, n))
        for i in range(n):
            spot.setValue(float(x["S"][i]))
            vol.setValue(float(x["sigma"][i]))
            rate.setValue(float(x["r"][i]))
            kind = ql.Option.Call if x["is_call"][i] else ql.Option.Put
            option = ql.EuropeanOption(
                ql.PlainVanillaPayoff(kind, float(x["K"][i])), ql.EuropeanExercise(today + int(days[i]))
            )
            option.setPricingEngine(engine)
            out[:, i] = (option.NPV(), option.delta(), option.gamma(), option.vega(), option.theta())
        return tuple(out)

    run.days = days  # type: ignore[attr-defined]
    return run


MERTON_JUMPS = {
    "realistic (λ 12/yr, mean log jump -0.04, jump vol 0.06)": JumpParams(12.0, -0.04, 0.06),
    "heavy (λ 50/yr, mean log jump -0.10, jump vol 0.15)": JumpParams(50.0, -0.10, 0.15),
}


def merton_ratio_rows(x: Arrays, repeat: int) -> list[str]:
    """Merton / Black-Scholes cost ratio on the same options, maturities 1 day..1.5 years."""
    y = dict(x, T=np.random.default_rng(2).uniform(1 / 365, 1.5, x["S"].size))
    args = (y["S"], y["K"], y["T"], y["sigma"], y["r"], y["is_call"])
    t_bs_price, _ = best_of(lambda: bs_price(*args), repeat)
    t_bs_greeks, _ = best_of(lambda: bs_greeks(*args), repeat)
    lines = []
    for name, jumps in MERTON_JUMPS.items():
        t_price, _ = best_of(lambda j=jumps: merton_price(*args, j), repeat)
        t_greeks, _ = best_of(lambda j=jumps: merton_greeks(*args, j), repeat)
        lines.append(
            f"{name}: price {t_price:.2f} s = {t_price / t_bs_price:.1f} x bs_price ({t_bs_price:.3f} s); "
            f"price+Greeks {t_greeks:.2f} s = {t_greeks / t_bs_greeks:.1f} x bs_greeks ({t_bs_greeks:.3f} s)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--ql-sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--merton-only", action="store_true", help="only the Merton / Black-Scholes cost ratio")
    args = parser.parse_args()
    if args.merton_only:
        print(f"\nMerton / Black-Scholes cost ratio on {args.n:,} options (best of {args.repeat})")
        for line in merton_ratio_rows(make_inputs(args.n), args.repeat):
            print(line)
        return
    x = make_inputs(args.n)
    rows: list[Row] = []

    t_keeper, ref = best_of(lambda: run_keeper(x), args.repeat)
    rows.append(Row("keeper.greeks.bs_greeks", t_keeper, "price, delta, gamma, vega, theta (+ rho)"))
    t_bare, bare = best_of(lambda: run_bare_numpy(x), args.repeat)
    rows.append(
        Row("bare numpy + scipy ndtr", t_bare, "same formulas, no validation", float(np.max(np.abs(bare[0] - ref[0]))))
    )

    vollib = vollib_runner(x)
    if vollib is None:
        rows.append(Row("py_vollib_vectorized", None, "not installed"))
    else:
        t_vollib, out = best_of(vollib, args.repeat)
        rows.append(
            Row(
                "py_vollib_vectorized",
                t_vollib,
                "numba, JIT warm-up excluded",
                float(np.max(np.abs(np.asarray(out[0]) - ref[0]))),
            )
        )

    sample = {k: v[: args.ql_sample] for k, v in x.items()}
    quantlib = quantlib_runner(sample)
    if quantlib is None:
        rows.append(Row("QuantLib (Python loop)", None, "not installed"))
    else:
        t_ql, out = best_of(quantlib, 1)
        t_days = quantlib.days / 365.0  # type: ignore[attr-defined]
        check = bs_greeks(sample["S"], sample["K"], t_days, sample["sigma"], sample["r"], sample["is_call"])
        rows.append(
            Row(
                "QuantLib (Python loop)",
                t_ql * args.n / args.ql_sample,
                f"timed on {args.ql_sample:,} options, extrapolated x{args.n / args.ql_sample:g}",
                float(np.max(np.abs(out[0] - check.price))),
            )
        )

    print(
        f"\n{args.n:,} options: price + delta + gamma + vega + theta (best of {args.repeat}); "
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}"
    )
    header = (
        f"{'implementation':<26} {'time (s)':>10} {'Moptions/s':>11} {'vs keeper':>10} {'max |price diff|':>17}  note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if row.seconds is None:
            print(f"{row.name:<26} {'-':>10} {'-':>11} {'-':>10} {'-':>17}  {row.note}")
            continue
        diff = "-" if row.max_price_diff is None else f"{row.max_price_diff:.1e}"
        print(
            f"{row.name:<26} {row.seconds:>10.3f} {args.n / row.seconds / 1e6:>11.2f} "
            f"{row.seconds / t_keeper:>9.2f}x {diff:>17}  {row.note}"
        )
    print()
    verdict = "PASS" if t_keeper <= 1.25 * t_bare else "FAIL"
    print(f"target: keeper <= 1.25 x bare numpy: {t_keeper / t_bare:.2f} x -> {verdict}")
    print(f"\nMerton / Black-Scholes cost ratio on {args.n:,} options (maturities 1 day..1.5 years)")
    for line in merton_ratio_rows(x, args.repeat):
        print(line)
    vollib_row = next(r for r in rows if r.name == "py_vollib_vectorized")
    if vollib_row.seconds is not None:
        speedup = vollib_row.seconds / t_keeper
        verdict = "PASS" if speedup >= 20 else "FAIL"
        print(f"target: keeper >= 20 x faster than py_vollib_vectorized: {speedup:.1f} x -> {verdict}")


if __name__ == "__main__":
    main()
