"""Helpers shared by the adversarial tests (a module of its own, imported by package path)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from brownie import web3
from brownie.test.managers.runner import RevertContextManager as reverts

from tests.vault.conftest import BPS, USD, WAD, revert_pattern

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "docs" / "BENCHMARKS.md"


def reverts_named(name: str, *first_args):
    """`brownie.reverts` for custom error `name`, whatever its arguments after `first_args`."""
    if first_args:
        return reverts(revert_pattern=revert_pattern(name, *first_args) + r"(, .*)?")
    return reverts(revert_pattern=re.escape(name) + r": .*")


def selector(signature: str) -> bytes:
    return bytes(web3.keccak(text=signature)[:4])


@lru_cache(maxsize=1)
def benchmark_rows() -> dict[str, list[int]]:
    """Every `| row | n | n | ... |` table row of docs/BENCHMARKS.md with integer cells, by label."""
    rows: dict[str, list[int]] = {}
    for line in BENCHMARKS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        numbers = [c.replace(",", "") for c in cells[1:]]
        if all(n.isdigit() for n in numbers):
            rows.setdefault(cells[0], [int(n) for n in numbers])
    return rows


def benchmark_gas(label: str, column: int = -1) -> int:
    """The gas figure docs/BENCHMARKS.md gives for `label` (last column: 32 live series)."""
    rows = benchmark_rows()
    if label not in rows:
        raise AssertionError(f"docs/BENCHMARKS.md has no row {label!r}: the gas bound cannot be checked")
    return rows[label][column]


def pool_push_weth(hv, bps: int) -> int:
    """WETH to buy from the pool (bps > 0) to move its price up by `bps` basis points: price ~ 1/x^2
    for a constant product at fixed k, so the WETH reserve must fall to x / sqrt(1 + bps)."""
    import math

    weth_r, _ = hv.pool_reserves()
    return weth_r - math.isqrt(weth_r * weth_r * BPS // (BPS + bps))


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


__all__ = [
    "BPS",
    "USD",
    "WAD",
    "benchmark_gas",
    "ceil_div",
    "pool_push_weth",
    "reverts_named",
    "selector",
]
