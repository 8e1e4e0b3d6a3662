"""Read the local market (feeds and the Uniswap V2 pool) through web3, for the CLI and reports."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from web3 import Web3

from keeper.abi import load_abi
from keeper.deployments import Deployment


@dataclass(frozen=True)
class FeedReading:
    answer: Decimal
    updated_at: int
    round_id: int


@dataclass(frozen=True)
class MarketView:
    block: int
    price_feed: FeedReading
    vol_feed: FeedReading
    pool_weth: Decimal
    pool_usd: Decimal

    @property
    def pool_price(self) -> Decimal:
        return self.pool_usd / self.pool_weth

    @property
    def pool_deviation(self) -> Decimal:
        """Pool price relative to the oracle, as a signed fraction."""
        return self.pool_price / self.price_feed.answer - 1


def read_feed(w3: Web3, address: str) -> FeedReading:
    feed = w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_abi("AggregatorV3"))
    round_id, answer, _, updated_at, _ = feed.functions.latestRoundData().call()
    decimals = feed.functions.decimals().call()
    return FeedReading(Decimal(answer) / Decimal(10) ** decimals, updated_at, round_id)


def read_market(w3: Web3, deployment: Deployment) -> MarketView:
    pair = w3.eth.contract(address=Web3.to_checksum_address(deployment.address("weth_usd_pair")), abi=load_abi("UniswapV2Pair"))
    r0, r1, _ = pair.functions.getReserves().call()
    weth_first = pair.functions.token0().call().lower() == deployment.address("weth").lower()
    weth_raw, usd_raw = (r0, r1) if weth_first else (r1, r0)
    usd_decimals = int(deployment.params.get("market", {}).get("usd_decimals", 6))
    return MarketView(
        block=w3.eth.block_number,
        price_feed=read_feed(w3, deployment.address("price_feed")),
        vol_feed=read_feed(w3, deployment.address("vol_feed")),
        pool_weth=Decimal(weth_raw) / Decimal(10) ** 18,
        pool_usd=Decimal(usd_raw) / Decimal(10) ** usd_decimals,
    )
