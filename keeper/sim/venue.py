"""What a hedge trade costs on the venue, against the oracle: the Uniswap V2 pool the vault trades.

The pool holds `base_reserve` base and `base_reserve × spot` quote: arbitrageurs bring it back to
the oracle between steps (as in the on-chain demo), so each trade meets a pool at the oracle and
pays its fee and its own constant-product impact, exactly as `UniswapV2Library.getAmountIn` /
`getAmountOut` price it. Without a reserve the venue is infinitely deep: the fee alone.

The cost is the trade's loss against its oracle value (what the vault's loss budget limits):
a buy pays over `size × spot`, a sell receives under it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Venue:
    fee_bps: float = 30.0
    base_reserve: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fee_bps) and 0.0 <= self.fee_bps < 10_000.0):
            raise ValueError(f"fee_bps must be in [0, 10000), got {self.fee_bps!r}")
        if self.base_reserve is not None and not (math.isfinite(self.base_reserve) and self.base_reserve > 0.0):
            raise ValueError(f"pool_base_reserve must be positive, got {self.base_reserve!r}")

    def loss_usd(self, size_base: ArrayLike, buy: ArrayLike, spot: ArrayLike) -> FloatArray:
        """Fee plus impact of trading `size_base` (>= 0), in USD against the oracle value; inf for a
        buy the pool cannot fill."""
        q = np.abs(np.asarray(size_base, dtype=np.float64))
        s = np.asarray(spot, dtype=np.float64)
        f = self.fee_bps * 1e-4
        if self.base_reserve is None:
            return f * q * s
        x = self.base_reserve
        keep = 1.0 - f
        with np.errstate(divide="ignore", invalid="ignore"):
            buy_loss = q * s * (x / ((x - q) * keep) - 1.0)
        buy_loss = np.where(q < x, buy_loss, np.inf)
        sell_loss = q * s * (1.0 - keep * x / (x + q * keep))
        return np.where(np.asarray(buy, dtype=bool), buy_loss, sell_loss)
