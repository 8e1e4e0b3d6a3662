"""Backtest speed and memory: the keeper's default policy on 10,000 paths x 1,000 steps.

Two ways to run the same size: every path in one array (``run_backtest`` on the whole
``(n_paths, n_steps + 1)`` array) and in seeded chunks (``keeper.sim.sweep.run_sweep``
in-process, what ``hv backtest`` does). Each mode runs in its own Python process so its peak
resident memory (``getrusage`` maxrss) is its own; the table also gives the resident memory
after the imports, before any path exists.

    .venv/bin/python benchmarks/bench_backtest.py [--paths 10000] [--steps 1000] [--chunk-paths 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import keeper.policy  # noqa: E402
from keeper.greeks import OptionBook  # noqa: E402
from keeper.sim.backtest import BacktestConfig, run_backtest  # noqa: E402
from keeper.sim.sweep import PathSpec, SweepCase, run_sweep  # noqa: E402

DAYS = 30.0


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure(mode: str, n_paths: int, n_steps: int, chunk_paths: int) -> dict[str, float | str]:
    """One run in this process: wall time (paths generated inside the timing) and peak RSS."""
    name = keeper.policy.DEFAULT_POLICY
    policy = keeper.policy.build_policy(name, keeper.policy.DEFAULT_POLICY_PARAMS.get(name))
    book = OptionBook(strikes=[2200.0], expiries=[DAYS / 365], is_call=[True], quantities=[-100.0])
    config = BacktestConfig(
        hedger_vol=0.8, rate=0.05, fee_bps=30.0, gas_price_gwei=20.0, gas_per_hedge=150_000.0, pool_base_reserve=20_000.0
    )
    spec = PathSpec("gbm", 2000.0, 0.0, 0.8, DAYS / 365, n_steps, n_paths, seed=7, chunk_paths=chunk_paths)
    rss_before = _maxrss_mb()
    t0 = time.perf_counter()
    if mode == "whole":
        rng = np.random.default_rng(7)
        from keeper.sim.models import gbm_paths

        paths = gbm_paths(2000.0, 0.0, 0.8, DAYS / 365, n_steps, n_paths, rng)
        result = run_backtest(paths, spec.times(), book, policy, config)
    else:
        result = run_sweep([SweepCase("bench", book, config, spec)], [("default", policy)])[0][0]
    wall = time.perf_counter() - t0
    return {
        "mode": mode,
        "policy": f"{name} {keeper.policy.DEFAULT_POLICY_PARAMS.get(name)}",
        "wall_s": wall,
        "rss_after_imports_mb": rss_before,
        "peak_rss_mb": _maxrss_mb(),
        "mean_cost": float(result.cost.mean()),
        "std_error": float(result.hedge_error.std(ddof=1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--chunk-paths", type=int, default=2_000)
    parser.add_argument("--child", choices=["whole", "chunked"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.paths, args.steps, args.chunk_paths)))
        return
    rows = []
    for mode in ("whole", "chunked"):
        cmd = [sys.executable, __file__, "--child", mode, "--paths", str(args.paths), "--steps", str(args.steps),
               "--chunk-paths", str(args.chunk_paths)]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    print(f"{args.paths:,} paths x {args.steps:,} steps, GBM, 100 written calls, default policy {rows[0]['policy']}")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    header = f"{'mode':<34}{'wall (s)':>10}{'peak RSS (MB)':>15}{'RSS after imports':>19}{'mean cost':>12}{'std error':>11}"
    print(header)
    print("-" * len(header))
    for row in rows:
        label = "one array" if row["mode"] == "whole" else f"seeded chunks of {args.chunk_paths:,} paths"
        print(
            f"{label:<34}{row['wall_s']:>10.2f}{row['peak_rss_mb']:>15.0f}{row['rss_after_imports_mb']:>19.0f}"
            f"{row['mean_cost']:>12,.0f}{row['std_error']:>11,.0f}"
        )
    print("(the two modes draw different paths: one seed stream vs one per chunk; the statistics agree within noise)")


if __name__ == "__main__":
    main()
