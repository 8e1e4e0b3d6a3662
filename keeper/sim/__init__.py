"""Market models and the vectorised hedging backtester (pure numpy; no I/O).

Every model returns spot paths of shape ``(n_paths, n_steps + 1)`` on the grid
``time_grid(t_years, n_steps)``, seeded through a ``numpy.random.Generator``. Sweeps of many
policies and books run through :mod:`keeper.sim.sweep`, in-process or on Dask.
"""

from keeper.sim.backtest import BacktestConfig, BacktestResult, run_backtest
from keeper.sim.models import gbm_paths, merton_paths, regime_switching_paths, time_grid
from keeper.sim.replay import parse_price_csv, replay_paths
from keeper.sim.sweep import PathSpec, SweepCase, efficient_frontier, run_sweep

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "PathSpec",
    "SweepCase",
    "efficient_frontier",
    "gbm_paths",
    "merton_paths",
    "parse_price_csv",
    "regime_switching_paths",
    "replay_paths",
    "run_backtest",
    "run_sweep",
    "time_grid",
]
