"""The market stack on the brownie test chain (Anvil): record, pool price, real Uniswap V2 swaps."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from brownie import chain, web3

from keeper.deployments import ALL_KEYS, MARKET_KEYS, load
from scripts import deploy
from scripts.lib.artifacts import at
from scripts.lib.market import feed_price_usd, pool_price_usd


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


def test_record_holds_every_contract_chain_id_and_block(market):
    raw = json.loads(market.path.read_text())
    assert raw["chain_id"] == chain.id
    assert 0 < raw["deployed_at_block"] <= raw["block"] <= web3.eth.block_number
    assert set(ALL_KEYS) <= set(raw["contracts"])
    for key in ALL_KEYS:
        assert len(web3.eth.get_code(raw["contracts"][key])) > 0, key
    assert raw["params"]["market"]["usd_decimals"] == 6
    # The keeper's loader accepts what the deploy script wrote.
    assert load(market.path).contracts == raw["contracts"]


def test_stablecoin_has_six_decimals_and_pair_holds_weth_and_usd(market):
    usd = at("UniswapV2Pair", market.contracts["usd"])  # any ERC20 ABI with decimals()
    assert usd.decimals() == 6
    pair = at("UniswapV2Pair", market.contracts["weth_usd_pair"])
    assert {pair.token0(), pair.token1()} == {market.contracts["weth"], market.contracts["usd"]}


def test_pool_price_equals_feed_within_a_tenth_of_a_percent(market):
    deviation = abs(pool_price_usd(market) / feed_price_usd(market) - 1)
    assert deviation <= Decimal("0.001")


def _weth_usd_reserves(market):
    pair = at("UniswapV2Pair", market.contracts["weth_usd_pair"])
    r0, r1, _ = pair.getReserves()
    return (r0, r1) if pair.token0() == market.contracts["weth"] else (r1, r0)


def test_router_swap_moves_price_as_constant_product_says(market, accounts):
    trader = accounts[3]
    weth = at("WETH9", market.contracts["weth"])
    router = at("UniswapV2Router02", market.contracts["uniswap_router"])
    amount_in = 5 * 10**18
    weth.deposit({"from": trader, "value": amount_in})
    weth.approve(router, amount_in, {"from": trader})
    r_weth, r_usd = _weth_usd_reserves(market)

    # Uniswap V2: out = in*997*R_out / (R_in*1000 + in*997), 0.3% fee on the input.
    expected_out = amount_in * 997 * r_usd // (r_weth * 1000 + amount_in * 997)
    usd = at("UniswapV2Pair", market.contracts["usd"])
    before = usd.balanceOf(trader)
    router.swapExactTokensForTokens(
        amount_in, 0, [weth.address, usd.address], trader, chain.time() + 60, {"from": trader}
    )
    assert usd.balanceOf(trader) - before == expected_out

    new_weth, new_usd = _weth_usd_reserves(market)
    assert (new_weth, new_usd) == (r_weth + amount_in, r_usd - expected_out)
    assert new_weth * new_usd >= r_weth * r_usd  # k never falls; the fee makes it grow
    # Selling WETH lowers its price by the constant-product ratio.
    old_price = Decimal(r_usd) / r_weth
    new_price = Decimal(new_usd) / new_weth
    assert new_price < old_price
    assert new_price == pytest.approx(old_price * Decimal(r_weth * new_usd) / Decimal(r_usd * new_weth), rel=1e-12)


def test_rerun_on_same_chain_reuses_every_contract(market, capsys):
    again = deploy.main()
    assert again.deployed == []
    assert set(ALL_KEYS) <= set(again.reused)
    assert "pool liquidity" in again.reused
    assert again.contracts == market.contracts
    assert "0 deployed" in capsys.readouterr().out
