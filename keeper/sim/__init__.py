"""Market models and the vectorised hedging backtester (pure numpy; no I/O).

Every model returns spot paths of shape ``(n_paths, n_steps + 1)`` on the grid
``time_grid(t_years, n_steps)``, seeded through a ``numpy.random.Generator``.
"""

from keeper.sim.backtest import BacktestConfig, BacktestResult, run_backtest
from keeper.sim.models import gbm_paths, merton_paths, regime_switching_paths, time_grid
from keeper.sim.replay import parse_price_csv, replay_paths

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "gbm_paths",
    "merton_paths",
    "parse_price_csv",
    "regime_switching_paths",
    "replay_paths",
    "run_backtest",
    "time_grid",
]
