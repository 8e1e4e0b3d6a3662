"""Policy sweeps: many policies × many books × many paths, in-process or on a Dask cluster.

The unit of work is a task ``(case, policy, chunk)``: one book (a :class:`SweepCase`, which
carries the recipe for its paths, not the paths) hedged by one policy on one chunk of paths.
A task regenerates its chunk from the seed, so nothing bigger than a book and a policy travels
to a worker and only per-path results travel back.

Seed scheme: the paths of a case are cut into chunks of ``PathSpec.chunk_paths``; chunk ``k``
draws from ``SeedSequence(seed, spawn_key=(k,))`` (what ``SeedSequence(seed).spawn(n)[k]``
gives). The chunk size is therefore part of the seed scheme, like the seed: the in-process run
uses the same chunks, so a Dask run and an in-process run of the same settings give the same
numbers bit for bit, whatever the number of workers or the order tasks finish in.

Also here: :func:`efficient_frontier`, the policies no other policy beats on both mean cost and
hedge-error std.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keeper.greeks import SECONDS_PER_YEAR, JumpParams, OptionBook
from keeper.policy import HedgePolicy
from keeper.sim.backtest import BacktestConfig, BacktestResult, run_backtest
from keeper.sim.models import gbm_paths, merton_paths, regime_switching_paths, time_grid
from keeper.sim.replay import replay_paths, resample

FloatArray = NDArray[np.float64]
Progress = Callable[[int, int], None]  # (tasks done, tasks in all)

MODELS = ("gbm", "merton", "regime", "replay")
DEFAULT_CHUNK_PATHS = 2_000


@dataclass(frozen=True, eq=False)
class ReplaySource:
    """A price history and how to build paths from it (see :func:`keeper.sim.replay.replay_paths`)."""

    timestamps_s: FloatArray
    prices: FloatArray
    method: str = "bootstrap"
    mean_block_steps: float = 24.0

    def realised_vol(self, dt_s: float) -> float:
        """Annualised vol of the history's log returns on the grid the paths are built from."""
        log_ret = np.diff(np.log(resample(self.timestamps_s, self.prices, dt_s)))
        if log_ret.size < 2:
            raise ValueError("the price history is shorter than two steps of the grid")
        return float(log_ret.std() * math.sqrt(SECONDS_PER_YEAR / dt_s))


@dataclass(frozen=True)
class PathSpec:
    """The recipe for a case's spot paths: model, parameters, seed and chunk size.

    ``model`` is one of :data:`MODELS`; ``jumps`` is needed by ``merton``, ``regime_vols`` and
    ``regime_switch_per_year`` by ``regime``, ``replay`` by ``replay``.
    """

    model: str
    s0: float
    mu: float
    sigma: float
    t_years: float
    n_steps: int
    n_paths: int
    seed: int
    chunk_paths: int = DEFAULT_CHUNK_PATHS
    jumps: JumpParams | None = None
    regime_vols: tuple[float, float] | None = None
    regime_switch_per_year: tuple[float, float] | None = None
    replay: ReplaySource | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for name in ("n_steps", "n_paths", "chunk_paths"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.model == "merton" and self.jumps is None:
            raise ValueError("the merton model needs jumps")
        if self.model == "regime" and (self.regime_vols is None or self.regime_switch_per_year is None):
            raise ValueError("the regime model needs regime_vols and regime_switch_per_year")
        if self.model == "replay" and self.replay is None:
            raise ValueError("the replay model needs a price history")

    @property
    def n_chunks(self) -> int:
        return -(-self.n_paths // self.chunk_paths)

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        if not 0 <= chunk < self.n_chunks:
            raise ValueError(f"chunk must be in [0, {self.n_chunks}), got {chunk!r}")
        start = chunk * self.chunk_paths
        return start, min(start + self.chunk_paths, self.n_paths)

    def times(self) -> FloatArray:
        return time_grid(self.t_years, self.n_steps)

    def generate(self, chunk: int) -> FloatArray:
        """Spot paths of one chunk, shape ``(chunk size, n_steps + 1)``; deterministic."""
        start, stop = self.chunk_bounds(chunk)
        n = stop - start
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(chunk,)))
        if self.model == "gbm":
            return gbm_paths(self.s0, self.mu, self.sigma, self.t_years, self.n_steps, n, rng)
        if self.model == "merton":
            assert self.jumps is not None
            return merton_paths(self.s0, self.mu, self.sigma, self.jumps, self.t_years, self.n_steps, n, rng)
        if self.model == "regime":
            assert self.regime_vols is not None and self.regime_switch_per_year is not None
            return regime_switching_paths(
                self.s0, self.mu, self.regime_vols, self.regime_switch_per_year, self.t_years, self.n_steps, n, rng
            )
        src = self.replay
        assert src is not None
        common: dict[str, Any] = {
            "dt_s": self.t_years * SECONDS_PER_YEAR / self.n_steps,
            "n_steps": self.n_steps,
            "s0": self.s0,
            "method": src.method,
            "mean_block_steps": src.mean_block_steps,
        }
        if src.method == "windows":  # evenly spaced windows over all paths: no randomness, slice them
            every = replay_paths(src.timestamps_s, src.prices, n_paths=self.n_paths, rng=rng, **common)
            return every[start:stop]
        return replay_paths(src.timestamps_s, src.prices, n_paths=n, rng=rng, **common)


@dataclass(frozen=True)
class SweepCase:
    """One book under one market: what every policy of a sweep is run against."""

    label: str
    book: OptionBook
    config: BacktestConfig
    paths: PathSpec


# ----------------------------------------------------------------------------- tasks


def run_task(case: SweepCase, policy: HedgePolicy, chunk: int) -> BacktestResult:
    """One task: regenerate the chunk's paths and hedge the case's book on them with ``policy``."""
    return run_backtest(case.paths.generate(chunk), case.paths.times(), case.book, policy, case.config)


def merge_chunks(parts: Sequence[BacktestResult], label: str) -> BacktestResult:
    """The chunks' results as one result over all paths (chunk order), named ``label``.

    Every per-path array field is concatenated, whatever fields the result carries; scalars
    (the premium) are the first chunk's: every chunk starts at the same spot and book.
    """
    if not parts:
        raise ValueError("no chunk results to merge")
    first = parts[0]
    sizes = [p.cost.shape[0] for p in parts]
    merged: dict[str, Any] = {"policy": label}
    for field in dataclasses.fields(first):
        value = getattr(first, field.name)
        if isinstance(value, np.ndarray) and value.shape[:1] == (sizes[0],):
            merged[field.name] = np.concatenate([getattr(p, field.name) for p in parts])
    return dataclasses.replace(first, **merged)


def run_sweep(
    cases: Sequence[SweepCase],
    policies: Sequence[tuple[str, HedgePolicy]],
    *,
    client: Any = None,
    progress: Progress | None = None,
) -> list[list[BacktestResult]]:
    """Every policy on every case: ``results[case][policy]``, each named by its policy label.

    ``client``: a ``distributed.Client`` to run the tasks on its cluster; ``None`` runs them
    here, one chunk's paths generated once for all policies. Both give the same numbers.
    """
    if not cases or not policies:
        raise ValueError("a sweep needs at least one case and one policy")
    labels = [label for label, _ in policies]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"policy labels must be distinct, {dup!r} appears twice")
    total = sum(case.paths.n_chunks for case in cases) * len(policies)
    parts: dict[tuple[int, int], list[BacktestResult | None]] = {
        (ci, pi): [None] * case.paths.n_chunks for ci, case in enumerate(cases) for pi in range(len(policies))
    }
    if client is None:
        _run_here(cases, policies, parts, total, progress)
    else:
        _run_on_cluster(client, cases, policies, parts, total, progress)
    out: list[list[BacktestResult]] = []
    for ci in range(len(cases)):
        row = []
        for pi, (label, _) in enumerate(policies):
            chunks = parts[(ci, pi)]
            assert all(c is not None for c in chunks)
            row.append(merge_chunks([c for c in chunks if c is not None], label))
        out.append(row)
    return out


def _run_here(
    cases: Sequence[SweepCase],
    policies: Sequence[tuple[str, HedgePolicy]],
    parts: dict[tuple[int, int], list[BacktestResult | None]],
    total: int,
    progress: Progress | None,
) -> None:
    done = 0
    for ci, case in enumerate(cases):
        times = case.paths.times()
        for k in range(case.paths.n_chunks):
            paths = case.paths.generate(k)
            for pi, (_, policy) in enumerate(policies):
                parts[(ci, pi)][k] = run_backtest(paths, times, case.book, policy, case.config)
                done += 1
                if progress is not None:
                    progress(done, total)


def _run_on_cluster(
    client: Any,
    cases: Sequence[SweepCase],
    policies: Sequence[tuple[str, HedgePolicy]],
    parts: dict[tuple[int, int], list[BacktestResult | None]],
    total: int,
    progress: Progress | None,
) -> None:
    from distributed import as_completed

    where: dict[str, tuple[int, int, int]] = {}
    futures = []
    for ci, case in enumerate(cases):
        for k in range(case.paths.n_chunks):
            for pi, (_, policy) in enumerate(policies):
                future = client.submit(run_task, case, policy, k, pure=False)
                where[future.key] = (ci, pi, k)
                futures.append(future)
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            ci, pi, k = where[future.key]
            parts[(ci, pi)][k] = future.result()
            future.release()
            if progress is not None:
                progress(done, total)
    finally:
        client.cancel(futures)


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 2, timeout_s: float = 120.0) -> Iterator[Any]:
    """A ``distributed.Client``: on the cluster at ``scheduler``, or on a local cluster of
    ``n_workers`` single-threaded worker processes bound to 127.0.0.1, closed on exit.

    Timeouts are generous: worker processes start slowly on a loaded machine.
    """
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout_s:.0f}s"}):
        if scheduler is not None:
            with Client(scheduler, timeout=timeout_s) as client:
                yield client
            return
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers!r}")
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
                timeout=timeout_s,
            ) as cluster,
            Client(cluster, timeout=timeout_s) as client,
        ):
            yield client


# ----------------------------------------------------------------------------- the frontier


def efficient_frontier(mean_cost: ArrayLike, std_error: ArrayLike) -> NDArray[np.bool_]:
    """True where no other point has a lower-or-equal mean cost and hedge-error std, one strictly.

    Both are to be minimised; equal points are all on the frontier.
    """
    c = np.asarray(mean_cost, dtype=np.float64)
    s = np.asarray(std_error, dtype=np.float64)
    if c.shape != s.shape or c.ndim != 1:
        raise ValueError(f"mean_cost and std_error must be 1-d of one shape, got {c.shape} and {s.shape}")
    if not (np.isfinite(c).all() and np.isfinite(s).all()):
        raise ValueError("mean_cost and std_error must be finite")
    no_worse = (c[None, :] <= c[:, None]) & (s[None, :] <= s[:, None])
    better = (c[None, :] < c[:, None]) | (s[None, :] < s[:, None])
    dominated = np.asarray((no_worse & better).any(axis=1), dtype=np.bool_)
    return ~dominated
