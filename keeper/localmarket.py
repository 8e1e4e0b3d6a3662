"""Drive a local market the way its users do, through web3 only (no brownie): depositors,
buyers, the option lister, the oracle, an arbitrageur, the clock.

For local chains (Anvil): it sends from the node's unlocked development accounts. Used by the
end-to-end scenario (`hv demo`) and the keeper's integration tests; never by the keeper itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from keeper.abi import load_abi
from keeper.deployments import Deployment
from keeper.errors import decode_revert
from keeper.localchain import rpc_call

WAD = 10**18
USD = 10**6
FEED_UNIT = 10**8


class MarketActionFailed(RuntimeError):
    """A scripted action reverted; the message carries the decoded custom error."""


@dataclass(frozen=True)
class Roles:
    deployer: str
    lister: str
    guardian: str
    governor: str
    arbitrageur: str


class LocalMarket:
    def __init__(self, url: str, deployment: Deployment, gas_price: int | None = None) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.d = deployment
        c = deployment.contracts
        def contract(key, abi):
            return self.w3.eth.contract(address=Web3.to_checksum_address(c[key]), abi=load_abi(abi))
        self.usd = contract("usd", "TestStablecoin")
        self.weth = contract("weth", "ERC20")
        self.price_feed = contract("price_feed", "AggregatorV3")
        self.vol_feed = contract("vol_feed", "AggregatorV3")
        self.router = contract("uniswap_router", "UniswapV2Router02")
        self.pair = contract("weth_usd_pair", "UniswapV2Pair")
        self.vault = contract("vault", "HedgeVault")
        self.market = contract("option_market", "OptionMarket")
        self.lens = contract("vault_lens", "VaultLens")
        self.timelock = contract("timelock", "HedgeTimelock")
        accounts = list(self.w3.eth.accounts)
        roles = deployment.params.get("roles", {})
        self.roles = Roles(
            deployer=deployment.params.get("deployer", accounts[0]),
            lister=roles.get("lister", accounts[0]),
            guardian=roles.get("guardian", accounts[0]),
            governor=roles.get("governor", accounts[0]),
            arbitrageur=accounts[9],
        )
        self.weth_is_token0 = self.pair.functions.token0().call() == self.weth.address

    # ------------------------------------------------------------------ plumbing

    def send(self, fn: Any, sender: str, value: int = 0) -> Any:
        """Send a contract call from an unlocked account; raise with the decoded error."""
        tx = {"from": Web3.to_checksum_address(sender), "value": value}
        try:
            fn.call(tx)
        except ContractLogicError as exc:
            raise MarketActionFailed(f"{fn.fn_name} reverted: {decode_revert(exc.data if isinstance(exc.data, str) else None)}") from None
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact(tx), timeout=60)
        if receipt["status"] != 1:
            raise MarketActionFailed(f"{fn.fn_name} failed in block {receipt['blockNumber']}")
        return receipt

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        rpc_call(self.url, "evm_increaseTime", [int(seconds)])
        rpc_call(self.url, "evm_mine")

    # ------------------------------------------------------------------ oracle and pool

    def spot(self) -> float:
        return self.price_feed.functions.latestRoundData().call()[1] / FEED_UNIT

    def set_price(self, usd: float) -> None:
        self.send(self.feed_update(self.price_feed, usd), self.roles.deployer)

    def set_vol(self, vol: float) -> None:
        self.send(self.feed_update(self.vol_feed, vol), self.roles.deployer)

    def feed_update(self, feed: Any, value: float) -> Any:
        """The mock aggregator's `updateAnswer(value)` call, not yet sent (8 decimals)."""
        mock = self.w3.eth.contract(address=feed.address, abi=_MOCK_UPDATE_ABI)
        return mock.functions.updateAnswer(int(round(value * FEED_UNIT)))

    def refresh_oracles(self) -> None:
        """Re-post the current answers (a heartbeat update)."""
        self.set_price(self.spot())
        self.set_vol(self.vol_feed.functions.latestRoundData().call()[1] / FEED_UNIT)

    def reserves(self) -> tuple[int, int]:
        r0, r1, _ = self.pair.functions.getReserves().call()
        return (r0, r1) if self.weth_is_token0 else (r1, r0)

    def pool_price(self) -> float:
        weth, usd = self.reserves()
        return (usd / USD) / (weth / WAD)

    def arbitrage_to_oracle(self) -> int:
        """Trade the pool back to the oracle price (ignoring the 0.3% fee band); returns the
        signed WETH the arbitrageur bought (+) or sold (-)."""
        weth_r, usd_r = self.reserves()
        target = self.spot()
        k = weth_r * usd_r
        # New WETH reserve so that usd/weth (in units) equals the oracle price.
        new_weth = math.isqrt(int(k * WAD // (int(target * USD))))
        delta = weth_r - new_weth
        arb = self.roles.arbitrageur
        deadline = self.now() + 600
        if delta > 10**12:  # pool too cheap: buy WETH with USD
            usd_in = self.router.functions.getAmountsIn(delta, [self.usd.address, self.weth.address]).call()[0]
            self._fund(arb, usd=usd_in)
            self.send(self.usd.functions.approve(self.router.address, usd_in), arb)
            self.send(self.router.functions.swapTokensForExactTokens(delta, usd_in, [self.usd.address, self.weth.address], arb, deadline), arb)
            return delta
        if delta < -10**12:  # pool too rich: sell WETH
            weth_in = -delta
            self._fund(arb, weth=weth_in)
            self.send(self.weth.functions.approve(self.router.address, weth_in), arb)
            self.send(self.router.functions.swapExactTokensForTokens(weth_in, 0, [self.weth.address, self.usd.address], arb, deadline), arb)
            return delta
        return 0

    def _fund(self, who: str, usd: int = 0, weth: int = 0) -> None:
        if usd:
            self.send(self.usd.functions.mint(who, usd), self.roles.deployer)
        if weth:
            self.send(self.weth_deposit(), who, value=weth)

    def weth_deposit(self) -> Any:
        """WETH9's payable `deposit()`, not yet sent: wrap the ETH sent with it."""
        return self.w3.eth.contract(address=self.weth.address, abi=_WETH_DEPOSIT_ABI).functions.deposit()

    # ------------------------------------------------------------------ users

    def deposit(self, who: str, usd: float) -> int:
        amount = int(usd * USD)
        self._fund(who, usd=amount)
        self.send(self.usd.functions.approve(self.vault.address, amount), who)
        self.send(self.vault.functions.deposit(amount, who), who)
        return self.vault.functions.balanceOf(who).call()

    def list_series(self, strike: float, expiry: int, is_call: bool) -> int:
        series_id = self.market.functions.nextSeriesId().call()
        self.send(self.market.functions.listSeries(int(round(strike * WAD)), expiry, is_call), self.roles.lister)
        return series_id

    def buy(self, who: str, series_id: int, amount_base: float, slippage: float = 0.01) -> int:
        amount = int(round(amount_base * WAD))
        premium = self.market.functions.quote(series_id, amount).call()
        max_premium = int(premium * (1 + slippage)) + 1
        self._fund(who, usd=max_premium)
        self.send(self.usd.functions.approve(self.market.address, max_premium), who)
        self.send(self.market.functions.buy(series_id, amount, max_premium, self.now() + 600), who)
        return premium

    def pause(self) -> None:
        self.send(self.vault.functions.pause(), self.roles.guardian)

    def govern(self, target: Any, data: str) -> None:
        """Schedule a call through the timelock, wait out its delay, execute it."""
        delay = self.timelock.functions.getMinDelay().call()
        zero = b"\0" * 32
        salt = self.w3.keccak(text=f"{data}{self.now()}")
        self.send(self.timelock.functions.schedule(target.address, 0, data, zero, salt, delay), self.roles.governor)
        self.advance(delay + 1)
        self.send(self.timelock.functions.execute(target.address, 0, data, zero, salt), self.roles.governor)

    def grant_keeper(self, who: str) -> None:
        role = self.vault.functions.KEEPER_ROLE().call()
        self.govern(self.vault, self.vault.encode_abi("grantRole", [role, Web3.to_checksum_address(who)]))

    def unpause(self) -> None:
        self.govern(self.vault, self.vault.encode_abi("unpause", []))

    def hedge_nonce(self) -> int:
        return self.vault.functions.hedgeState().call()[0]

    def net_delta(self) -> float:
        snap = self.lens.functions.riskSnapshot(self.vault.address).call()
        return _field(self.lens, snap, "netDeltaWad") / WAD


def _field(lens: Any, snap: Any, name: str) -> Any:
    outputs = next(f for f in lens.abi if f.get("name") == "riskSnapshot")["outputs"][0]["components"]
    return snap[[c["name"] for c in outputs].index(name)]


_MOCK_UPDATE_ABI = [{"type": "function", "name": "updateAnswer", "stateMutability": "nonpayable",
                     "inputs": [{"name": "_answer", "type": "int256"}], "outputs": []}]
_WETH_DEPOSIT_ABI = [{"type": "function", "name": "deposit", "stateMutability": "payable", "inputs": [], "outputs": []}]
