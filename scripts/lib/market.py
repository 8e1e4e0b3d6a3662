"""The local market stack: stablecoin, WETH9, price and vol feeds, Uniswap V2 and a seeded pool.

Each function is one deploy step; `deploy_market` runs them in order. The vault contracts are
later steps in scripts/deploy.py, reading the addresses recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from brownie import TestFeed, TestStablecoin

from scripts.lib.artifacts import at, deploy_npm, deploy_project, project_at
from scripts.lib.deployment import DeploymentRecord

USD_DECIMALS = 6
FEED_DECIMALS = 8
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class MarketParams:
    price_usd: Decimal = Decimal(3000)
    implied_vol: Decimal = Decimal("0.8")
    pool_weth: Decimal = Decimal(1000)

    def as_record(self) -> dict[str, Any]:
        return {
            "initial_price_usd": str(self.price_usd),
            "initial_implied_vol": str(self.implied_vol),
            "pool_weth": str(self.pool_weth),
            "usd_decimals": USD_DECIMALS,
            "feed_decimals": FEED_DECIMALS,
        }


def _scaled(value: Decimal, decimals: int) -> int:
    return int(value * (Decimal(10) ** decimals))


def deploy_market(record: DeploymentRecord, deployer: Any, params: MarketParams) -> None:
    usd = record.step("usd", lambda: deploy_project(TestStablecoin, deployer, deployer.address))
    weth = record.step("weth", lambda: deploy_npm("WETH9", deployer))
    price_feed = record.step(
        "price_feed", lambda: deploy_project(TestFeed, deployer, FEED_DECIMALS, _scaled(params.price_usd, FEED_DECIMALS))
    )
    record.step(
        "vol_feed", lambda: deploy_project(TestFeed, deployer, FEED_DECIMALS, _scaled(params.implied_vol, FEED_DECIMALS))
    )
    factory = record.step("uniswap_factory", lambda: deploy_npm("UniswapV2Factory", deployer, deployer.address))
    record.step("uniswap_router", lambda: deploy_npm("UniswapV2Router02", deployer, factory, weth))
    pair = record.step("weth_usd_pair", lambda: _create_pair(factory, weth, usd, deployer))
    _seed_pool(record, pair, weth, usd, price_feed, deployer, params)
    record.params.setdefault("market", params.as_record())


def _create_pair(factory: str, weth: str, usd: str, deployer: Any) -> str:
    uniswap = at("UniswapV2Factory", factory)
    existing = uniswap.getPair(weth, usd)
    if existing != ZERO:
        return existing
    uniswap.createPair(weth, usd, {"from": deployer, "silent": True})
    return uniswap.getPair(weth, usd)


def _seed_pool(
    record: DeploymentRecord, pair: str, weth: str, usd: str, price_feed: str, deployer: Any, params: MarketParams
) -> None:
    """Add the first liquidity at exactly the feed's current answer; a seeded pool is left alone."""
    pool = at("UniswapV2Pair", pair)
    reserve0, reserve1, _ = pool.getReserves()
    if reserve0 > 0 and reserve1 > 0:
        record.reused.append("pool liquidity")
        return
    tx = {"from": deployer, "silent": True}
    answer = project_at(TestFeed, price_feed).latestRoundData()[1]
    weth_amount = _scaled(params.pool_weth, 18)
    # Pool price = usd/weth in token units; pick usd so it equals the feed answer exactly.
    usd_amount = weth_amount * answer * 10**USD_DECIMALS // (10**FEED_DECIMALS * 10**18)
    weth9 = at("WETH9", weth)
    weth9.deposit({"from": deployer, "value": weth_amount, "silent": True})
    weth9.transfer(pair, weth_amount, tx)
    project_at(TestStablecoin, usd).mint(pair, usd_amount, tx)
    pool.mint(deployer, tx)
    record.deployed.append("pool liquidity")


def pool_price_usd(record: DeploymentRecord) -> Decimal:
    """Spot price of WETH in USD implied by the pair's reserves."""
    pool = at("UniswapV2Pair", record.contracts["weth_usd_pair"])
    reserve0, reserve1, _ = pool.getReserves()
    weth_is_token0 = pool.token0() == record.contracts["weth"]
    weth_reserve, usd_reserve = (reserve0, reserve1) if weth_is_token0 else (reserve1, reserve0)
    return (Decimal(usd_reserve) / 10**USD_DECIMALS) / (Decimal(weth_reserve) / 10**18)


def feed_price_usd(record: DeploymentRecord) -> Decimal:
    answer = project_at(TestFeed, record.contracts["price_feed"]).latestRoundData()[1]
    return Decimal(answer) / 10**FEED_DECIMALS
