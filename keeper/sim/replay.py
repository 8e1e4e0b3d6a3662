"""Replay a historical price series as backtest paths.

``parse_price_csv`` turns CSV *text* (the caller reads the file: this package does no I/O)
into sorted timestamps and prices; ``replay_paths`` resamples them to a regular grid and
builds ``(n_paths, n_steps + 1)`` paths rescaled to start at ``s0``, either as overlapping
windows of the history or by a stationary block bootstrap of its log returns (Politis and
Romano 1994), which keeps volatility clustering within blocks.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _parse_time(text: str, line: int) -> float:
    value = text.strip()
    try:
        t = float(value)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"line {line}: timestamp {value!r} is neither unix seconds nor ISO 8601") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()
    # Unix milliseconds are common in exchange exports; seconds stay below 1e11 until year 5138.
    return t / 1000.0 if t > 1e11 else t


def parse_price_csv(text: str) -> tuple[FloatArray, FloatArray]:
    """Parse ``timestamp,price`` rows (optional header) into sorted arrays.

    Timestamps may be unix seconds, unix milliseconds or ISO 8601 (UTC if no zone). Prices
    must be positive and finite; duplicate timestamps are rejected. Returns
    ``(timestamps_s, prices)``.
    """
    times: list[float] = []
    prices: list[float] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise ValueError(f"line {line}: expected 'timestamp,price', got {row!r}")
        if line == 1 and not _is_number(row[1]):
            continue  # header
        try:
            price = float(row[1])
        except ValueError:
            raise ValueError(f"line {line}: price {row[1]!r} is not a number") from None
        if not (math.isfinite(price) and price > 0.0):
            raise ValueError(f"line {line}: price must be positive and finite, got {price!r}")
        times.append(_parse_time(row[0], line))
        prices.append(price)
    if len(times) < 2:
        raise ValueError("the price CSV needs at least two rows")
    t = np.asarray(times)
    p = np.asarray(prices)
    order = np.argsort(t, kind="stable")
    t, p = t[order], p[order]
    if (np.diff(t) <= 0.0).any():
        raise ValueError("the price CSV has duplicate timestamps")
    return t, p


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def resample(timestamps_s: FloatArray, prices: FloatArray, dt_s: float) -> FloatArray:
    """Prices on a regular grid of spacing ``dt_s`` from the first timestamp, last value
    carried forward (what a keeper polling every ``dt_s`` would have seen)."""
    if not dt_s > 0.0:
        raise ValueError(f"dt_s must be positive, got {dt_s!r}")
    grid = np.arange(timestamps_s[0], timestamps_s[-1] + 0.5 * dt_s, dt_s)
    idx = np.searchsorted(timestamps_s, grid, side="right") - 1
    return prices[idx]


def replay_paths(
    timestamps_s: FloatArray,
    prices: FloatArray,
    *,
    dt_s: float,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
    s0: float | None = None,
    method: Literal["bootstrap", "windows"] = "bootstrap",
    mean_block_steps: float = 24.0,
) -> FloatArray:
    """Paths of ``n_steps`` steps of ``dt_s`` seconds built from the history.

    ``windows``: path j is the history starting at an evenly spaced offset (needs a history
    longer than ``n_steps``). ``bootstrap``: stationary block bootstrap of the log returns with
    geometric block lengths of mean ``mean_block_steps``. Paths start at ``s0`` (default: the
    first price).
    """
    grid = resample(np.asarray(timestamps_s, dtype=np.float64), np.asarray(prices, dtype=np.float64), dt_s)
    log_ret = np.diff(np.log(grid))
    m = log_ret.size
    if m < 1:
        raise ValueError("the history is shorter than one step of dt_s")
    start = float(grid[0]) if s0 is None else float(s0)
    if method == "windows":
        if m < n_steps:
            raise ValueError(f"the history has {m} steps of {dt_s} s; windows need at least n_steps={n_steps}")
        offsets = np.linspace(0, m - n_steps, n_paths).round().astype(np.int64)
        idx = offsets[:, None] + np.arange(n_steps)[None, :]
    elif method == "bootstrap":
        if not mean_block_steps >= 1.0:
            raise ValueError(f"mean_block_steps must be >= 1, got {mean_block_steps!r}")
        idx = _stationary_bootstrap_index(m, n_steps, n_paths, 1.0 / mean_block_steps, rng)
    else:
        raise ValueError(f"method must be 'bootstrap' or 'windows', got {method!r}")
    inc = log_ret[idx]
    out = np.empty((n_paths, n_steps + 1))
    out[:, 0] = 0.0
    np.cumsum(inc, axis=1, out=out[:, 1:])
    return start * np.exp(out)


def _stationary_bootstrap_index(
    m: int, n_steps: int, n_paths: int, p_new: float, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Indices into m returns: a new block (uniform start) begins with probability p_new.

    Vectorised: each position finds the start time of its block with a running maximum, then
    reads ``block_start_index + offset`` circularly.
    """
    steps = np.arange(n_steps)
    new_block = rng.random((n_paths, n_steps)) < p_new
    new_block[:, 0] = True
    starts = rng.integers(0, m, size=(n_paths, n_steps))
    block_t0 = np.maximum.accumulate(np.where(new_block, steps[None, :], 0), axis=1)
    rows = np.arange(n_paths)[:, None]
    return (starts[rows, block_t0] + (steps[None, :] - block_t0)) % m
