"""Settling expired series.

The market settles a series from the first price round at or after its expiry (`settle(id,
roundId)`), however long after expiry that round came: there is no settlement window to miss.
Anyone may settle; the keeper does it because until someone does, holders cannot redeem and the
vault refuses deposits (`SettlementPending`): an expired series is marked at the live price, not
at its settlement round's. Deposits therefore wait at most until the feed posts its next round
and one `settle` lands.

Finding the round: Chainlink round ids are `phase << 64 | n`, with `updatedAt` increasing in `n`
within a phase, so the first round at or after expiry is found by bisection between the phase's
first round and the latest one: a few dozen `getRoundData` reads at most, whether that round came
a minute or a month after expiry. A round the aggregator does not have (it reverts, or answers
zeros) counts as "before expiry". The contract checks the hint again (updated at or after expiry,
`SettlementRoundTooEarly`; the round before it updated before expiry or absent,
`SettlementRoundNotFirst`), so a wrong answer here costs a failed simulation, never a wrong
settlement.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_abi import decode as abi_decode
from web3 import Web3
from web3.exceptions import ContractLogicError

from keeper.chain import ImplausibleReply, RpcClient
from keeper.snapshot import Series, Snapshot

PHASE_SHIFT = 64


def due_series(snap: Snapshot) -> list[Series]:
    """Live series past expiry with open interest, oldest expiry first."""
    return sorted((s for s in snap.series if s.expiry <= snap.timestamp and s.open_base > 0), key=lambda s: s.expiry)


class Settler:
    """Builds `settle` for one market and finds the round it needs on the price feed."""

    def __init__(self, rpc: RpcClient, market: str, price_feed: str) -> None:
        from keeper.abi import load_abi

        w3 = Web3()
        self.rpc = rpc
        self.market = Web3.to_checksum_address(market)
        self._market = w3.eth.contract(abi=load_abi("OptionMarket"))
        self.feed = Web3.to_checksum_address(price_feed)
        self._feed = w3.eth.contract(abi=load_abi("AggregatorV3"))

    def settle_data(self, series_id: int, round_id: int) -> str:
        return self._market.encode_abi("settle", [series_id, round_id])

    def settlement_round(self, expiry: int) -> int | None:
        """The first round updated at or after `expiry` (any time after it), or None while the feed
        has posted none yet. When the latest phase began after expiry, that phase's first round:
        the market accepts it, there being no earlier round in the phase to compare it with."""
        latest_id, latest_at = self.rpc.call(self._latest)
        if latest_at < expiry:
            return None
        lo = (latest_id >> PHASE_SHIFT) << PHASE_SHIFT | 1  # the phase's first round
        hi = latest_id  # invariant: round `hi` is at or after expiry
        while lo < hi:
            mid = (lo + hi) // 2
            if self.rpc.call(self._updated_at(mid)) >= expiry:
                hi = mid
            else:
                lo = mid + 1
        return hi

    def _round(self, w3: Web3, fn: str, *args: int) -> tuple[int, int, int, int, int]:
        raw = w3.eth.call({"to": self.feed, "data": self._feed.encode_abi(fn, list(args))}, "latest")
        if len(raw) != 5 * 32:
            raise ImplausibleReply(f"{fn}: {len(raw)} bytes, expected five words")
        return abi_decode(["uint80", "int256", "uint256", "uint256", "uint80"], raw)

    def _latest(self, w3: Web3) -> tuple[int, int]:
        round_id, _, _, updated_at, _ = self._round(w3, "latestRoundData")
        if round_id == 0 or updated_at == 0:
            raise ImplausibleReply(f"latestRoundData: round {round_id}, updatedAt {updated_at}")
        return round_id, updated_at

    def _updated_at(self, round_id: int) -> Callable[[Web3], int]:
        def read(w3: Web3) -> int:
            try:
                return self._round(w3, "getRoundData", round_id)[3]
            except ContractLogicError:
                return 0  # no such round in this aggregator: before anything

        return read
