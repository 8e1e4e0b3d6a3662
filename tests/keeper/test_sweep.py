"""keeper.sim.sweep: the seeded chunk scheme, the sweep engine in-process and on Dask, the frontier."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.greeks import JumpParams, OptionBook
from keeper.policy import FixedBand, TimeInterval, WhalleyWilmott
from keeper.sim.backtest import BacktestConfig, run_backtest
from keeper.sim.sweep import PathSpec, SweepCase, efficient_frontier, merge_chunks, run_sweep

CALLS = OptionBook(strikes=[2200.0], expiries=[7 / 365], is_call=[True], quantities=[-50.0])
STRADDLE = OptionBook(
    strikes=[2000.0, 2000.0], expiries=[7 / 365, 7 / 365], is_call=[True, False], quantities=[-20.0, -20.0]
)
CONFIG = BacktestConfig(hedger_vol=0.8, rate=0.05, fee_bps=30.0, gas_price_gwei=20.0, gas_per_hedge=150_000.0)
POLICIES = [
    ("interval 4h", TimeInterval(interval_s=4 * 3600.0)),
    ("fixed 2", FixedBand(half_width_base=2.0)),
    ("ww 1e-3", WhalleyWilmott(risk_aversion=1e-3)),
]


def spec(**kw) -> PathSpec:
    base = dict(model="gbm", s0=2000.0, mu=0.0, sigma=0.8, t_years=7 / 365, n_steps=42, n_paths=250, seed=11)
    return PathSpec(**{**base, "chunk_paths": 100, **kw})


def cases() -> list[SweepCase]:
    merton = spec(model="merton", jumps=JumpParams(12.0, -0.04, 0.06), seed=12)
    return [SweepCase("calls gbm", CALLS, CONFIG, spec()), SweepCase("straddle merton", STRADDLE, CONFIG, merton)]


def test_chunks_cover_the_paths_and_regenerate_identically():
    s = spec()
    assert [s.chunk_bounds(k) for k in range(s.n_chunks)] == [(0, 100), (100, 200), (200, 250)]
    assert s.generate(2).shape == (50, 43)
    np.testing.assert_array_equal(s.generate(1), s.generate(1))
    assert not np.array_equal(s.generate(0), s.generate(1))


def test_adding_paths_keeps_the_paths_already_drawn():
    small, big = spec(n_paths=150), spec(n_paths=1000)
    np.testing.assert_array_equal(small.generate(0), big.generate(0))
    np.testing.assert_array_equal(small.generate(1), big.generate(1)[:50])


def test_sweep_result_is_the_chunk_backtests_concatenated_in_order():
    case = cases()[0]
    label, policy = POLICIES[2]
    swept = run_sweep([case], [POLICIES[2]])[0][0]
    parts = [run_backtest(case.paths.generate(k), case.paths.times(), CALLS, policy, CONFIG) for k in range(3)]
    assert swept.policy == label and swept.n_paths == 250
    np.testing.assert_array_equal(swept.hedge_error, np.concatenate([p.hedge_error for p in parts]))
    np.testing.assert_array_equal(swept.trades, np.concatenate([p.trades for p in parts]))
    assert swept.premium == parts[0].premium


def test_merge_refuses_nothing_to_merge():
    with pytest.raises(ValueError, match="no chunk results"):
        merge_chunks([], "x")


def test_sweep_refuses_two_policies_with_one_label():
    with pytest.raises(ValueError, match="'fixed 2' appears twice"):
        run_sweep(cases(), [POLICIES[1], POLICIES[1]])


def test_progress_is_reported_once_per_task():
    seen: list[tuple[int, int]] = []
    run_sweep(cases(), POLICIES, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 18) for i in range(1, 19)]  # 2 books x 3 chunks x 3 policies


@pytest.fixture(scope="module")
def dask_client_2_workers():
    pytest.importorskip("distributed")
    from keeper.sim.sweep import dask_client

    with dask_client(None, n_workers=2, timeout_s=180.0) as client:
        client.wait_for_workers(2, timeout=180)
        yield client


def test_local_cluster_listens_on_localhost_only(dask_client_2_workers):
    info = dask_client_2_workers.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])


def test_dask_sweep_on_two_workers_gives_the_in_process_numbers(dask_client_2_workers):
    here = run_sweep(cases(), POLICIES)
    there = run_sweep(cases(), POLICIES, client=dask_client_2_workers)
    for row_here, row_there in zip(here, there, strict=True):
        for a, b in zip(row_here, row_there, strict=True):
            assert a.policy == b.policy
            assert a.summary() == b.summary()  # exact, not approximate
            np.testing.assert_array_equal(a.cost, b.cost)
            np.testing.assert_array_equal(a.trades, b.trades)


def test_frontier_flags_the_non_dominated_points():
    # (cost, std): B is beaten by A on both; D by C; A, C, E trade one for the other.
    cost = [100.0, 110.0, 90.0, 95.0, 80.0]
    std = [10.0, 12.0, 20.0, 25.0, 30.0]
    assert efficient_frontier(cost, std).tolist() == [True, False, True, False, True]


def test_frontier_keeps_equal_points_and_drops_weakly_dominated_ones():
    assert efficient_frontier([1.0, 1.0, 1.0], [2.0, 2.0, 3.0]).tolist() == [True, True, False]


def test_frontier_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="one shape"):
        efficient_frontier([1.0, 2.0], [1.0])
