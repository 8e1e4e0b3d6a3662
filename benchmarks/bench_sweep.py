"""A policy sweep on Dask against the same sweep in-process: wall time and identical numbers.

The sweep is ``hv backtest``'s default: the seven compared policies plus the keeper's default
policy (8), on the CLI's default market and book (GBM, 100 written 30-day calls, hourly steps,
30 bps, gas, pool impact). The Dask run uses a local cluster of ``--workers`` single-threaded
processes on 127.0.0.1; its time is given with and without starting the cluster. The check
compares every policy's ``summary()`` and per-path hedge errors for exact equality.

    .venv/bin/python benchmarks/bench_sweep.py [--paths 10000] [--steps 720] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dask  # noqa: E402
import numpy as np  # noqa: E402

from keeper.cli_backtest import build_scenario, load_settings  # noqa: E402
from keeper.sim.sweep import dask_client, run_sweep  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=720)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-paths", type=int, default=2_000)
    args = parser.parse_args()
    settings = load_settings({}, {"paths": args.paths, "steps": args.steps, "chunk_paths": args.chunk_paths})
    scenario = build_scenario(settings)
    cases, policies = [scenario.case], scenario.policies
    n_tasks = scenario.case.paths.n_chunks * len(policies)

    t0 = time.perf_counter()
    here = run_sweep(cases, policies)[0]
    t_here = time.perf_counter() - t0

    t0 = time.perf_counter()
    with dask_client(None, n_workers=args.workers, timeout_s=180.0) as client:
        client.wait_for_workers(args.workers, timeout=180)
        t_started = time.perf_counter() - t0
        t1 = time.perf_counter()
        there = run_sweep(cases, policies, client=client)[0]
        t_dask = time.perf_counter() - t1
    t_dask_total = time.perf_counter() - t0

    same = all(
        a.policy == b.policy and a.summary() == b.summary() and np.array_equal(a.hedge_error, b.hedge_error)
        for a, b in zip(here, there, strict=True)
    )
    print(f"{len(policies)} policies x {args.paths:,} paths x {args.steps} steps ({n_tasks} tasks of "
          f"{args.chunk_paths:,} paths); {scenario.label}")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, dask {dask.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    header = f"{'run':<44}{'wall (s)':>10}{'speed-up':>10}"
    print(header)
    print("-" * len(header))
    print(f"{'in-process (one core)':<44}{t_here:>10.2f}{1.0:>9.2f}x")
    print(f"{f'dask, {args.workers} workers: sweep only':<44}{t_dask:>10.2f}{t_here / t_dask:>9.2f}x")
    print(f"{f'dask, {args.workers} workers: with cluster start/stop':<44}{t_dask_total:>10.2f}"
          f"{t_here / t_dask_total:>9.2f}x")
    print(f"{'  of which cluster start':<44}{t_started:>10.2f}")
    print(f"numbers identical (every summary and per-path hedge error): {'yes' if same else 'NO'}")
    print(f"{'policy':<44}{'mean cost':>10}{'std error':>11}")
    for res in here:
        s = res.summary()
        print(f"{res.policy:<44}{s['mean_cost']:>10,.0f}{s['std_error']:>11,.0f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
