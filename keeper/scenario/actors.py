"""The scripted market participants. Each queues its transactions into the open block.

| who | account | does |
|---|---|---|
| oracle (deployer) | 0 | posts the path's price and implied vol (Chainlink MockV3Aggregator `updateAnswer`) |
| lister (deployer) | 0 | lists the ladder's series within the market's bounds and live-series cap |
| keeper | 1 | not here: the real `hv keeper run` process (keeperproc.py) |
| depositors | 2..4 | deposit USDC (ERC-4626), redeem everything they may at the end |
| buyers | 5..8 | buy series, redeem payoffs after settlement |
| arbitrageur | 9 | trades the Uniswap V2 pool back to the oracle price every step |
| anyone | 9 | settles expired series with the first price round at or after expiry |
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from keeper.localmarket import FEED_UNIT, USD, WAD, LocalMarket
from keeper.scenario.blocks import BlockBuilder
from keeper.scenario.flow import BuyAttempt, Listing

MAX_UINT = 2**256 - 1
BUYER_FUNDS_USD = 100_000_000


@dataclass
class Book:
    """What the participants know about the live series (ids, terms) and who holds what."""

    live: dict[int, tuple[int, int, bool]] = field(default_factory=dict)  # id -> (strike wad, expiry, is call)
    holdings: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))  # id -> holder -> wad


@dataclass(frozen=True)
class BuyOutcome:
    buyer: str
    series_id: int | None
    is_call: bool | None
    size: float
    premium: int  # quote units; 0 if refused
    refused: str | None  # the vault's or market's answer, e.g. "MarginInsufficient"


class Participants:
    def __init__(self, market: LocalMarket, blocks: BlockBuilder, depositor_count: int, buyer_count: int) -> None:
        self.m = market
        self.blocks = blocks
        accounts = list(market.w3.eth.accounts)
        self.oracle = market.roles.deployer
        self.lister = market.roles.lister
        self.depositors = [accounts[2 + i] for i in range(depositor_count)]
        self.buyers = [accounts[5 + i] for i in range(buyer_count)]
        self.arbitrageur = accounts[9]
        self.book = Book()
        params = market.market.functions.params().call()
        self.max_live = int(params[1])
        self.min_time_to_buy = int(params[6])

    # ------------------------------------------------------------------ setup (one block)

    def fund(self, deposits_usd: list[float]) -> None:
        m, q = self.m, self.blocks.queue
        for who, usd in zip(self.depositors, deposits_usd, strict=True):
            q(m.usd.functions.mint(who, int(round(usd * USD))), self.oracle, "fund depositor", gas=120_000)
            q(m.usd.functions.approve(m.vault.address, MAX_UINT), who, "depositor approves vault", gas=80_000)
        for who in self.buyers:
            q(m.usd.functions.mint(who, BUYER_FUNDS_USD * USD), self.oracle, "fund buyer", gas=120_000)
            q(m.usd.functions.approve(m.market.address, MAX_UINT), who, "buyer approves market", gas=80_000)
        q(m.usd.functions.approve(m.router.address, MAX_UINT), self.arbitrageur, "arbitrageur approves router", gas=80_000)
        q(m.weth.functions.approve(m.router.address, MAX_UINT), self.arbitrageur, "arbitrageur approves router", gas=80_000)

    # ------------------------------------------------------------------ oracle and pool

    def post_prices(self, price: float, vol: float) -> None:
        m = self.m
        self.blocks.queue(m.feed_update(m.price_feed, price), self.oracle, "price feed update", gas=150_000)
        self.blocks.queue(m.feed_update(m.vol_feed, vol), self.oracle, "vol feed update", gas=150_000)

    def arbitrage(self, price: float, state: str = "latest") -> int:
        """Trade the pool to `price` (the oracle's answer); returns signed WETH bought.

        In a step's block it runs right after the oracle update, against reserves nothing else in
        the block has touched (`state="latest"`). Behind a keeper trade it back-runs it: the
        reserves are read from the `pending` block that already holds the keeper's swap. Either
        way the amounts computed here are the ones executed.
        """
        m, arb = self.m, self.arbitrageur
        r0, r1, _ = m.pair.functions.getReserves().call(block_identifier=state)
        weth_r, usd_r = (r0, r1) if m.weth_is_token0 else (r1, r0)
        answer = int(round(price * FEED_UNIT))
        # Reserves whose ratio (in token units) is the feed's answer: usd/weth = answer * 1e6 / (1e8 * 1e18).
        new_weth = math.isqrt(weth_r * usd_r * FEED_UNIT * WAD // (answer * USD))
        delta = weth_r - new_weth
        deadline = 2**40
        if delta > 10**12:  # pool too cheap: buy WETH with USDC
            usd_in = m.router.functions.getAmountIn(delta, usd_r, weth_r).call()
            self.blocks.queue(m.usd.functions.mint(arb, usd_in), self.oracle, "fund arbitrageur", gas=120_000)
            self.blocks.queue(m.router.functions.swapTokensForExactTokens(
                delta, usd_in, [m.usd.address, m.weth.address], arb, deadline), arb, "arbitrage buy", gas=250_000)
            return delta
        if delta < -10**12:  # pool too rich: sell WETH
            self.blocks.queue(m.weth_deposit(), arb, "arbitrageur wraps ETH", gas=80_000, value=-delta)
            self.blocks.queue(m.router.functions.swapExactTokensForTokens(
                -delta, 0, [m.weth.address, m.usd.address], arb, deadline), arb, "arbitrage sell", gas=250_000)
            return delta
        return 0

    # ------------------------------------------------------------------ settlement and redemption

    def settle_expired(self, now: int) -> list[int]:
        """Settle every live series whose expiry has passed, with the first price round at or
        after its expiry, and queue the holders' redemptions behind.

        Rounds are read from the `pending` block, which already holds this step's price update:
        a series expiring at this step's timestamp settles in this very block, on the round it
        creates, so nobody (the keeper included) ever sees an expired series whose payoff is
        already fixed but still counts in the book's delta. Returns the settled ids.
        """
        feed = self.m.price_feed
        latest_round = int(feed.functions.latestRoundData().call(block_identifier="pending")[0])
        settled = []
        for sid, (_, expiry, _) in sorted(self.book.live.items()):
            if expiry > now:
                continue
            round_id = first_round_at_or_after(feed, expiry, latest_round)
            if round_id is None:
                continue  # no round at or after expiry yet: a later step settles it
            self.blocks.queue(self.m.market.functions.settle(sid, round_id), self.arbitrageur, f"settle series {sid}",
                              gas=400_000)
            for holder, amount in sorted(self.book.holdings.pop(sid, {}).items()):
                self.blocks.queue(self.m.market.functions.redeem(sid, amount), holder, f"redeem series {sid}",
                                  gas=400_000)
            del self.book.live[sid]
            settled.append(sid)
        return settled

    # ------------------------------------------------------------------ the lister

    def list_series(self, listings: tuple[Listing, ...], t0: int) -> tuple[list[int], int]:
        """Queue the listings the live-series cap allows; returns (new ids, skipped)."""
        next_id = int(self.m.market.functions.nextSeriesId().call())
        pending_ids = [sid for sid in self.book.live if sid >= next_id]
        next_id += len(pending_ids)
        new, skipped = [], 0
        for li in listings:
            if len(self.book.live) >= self.max_live:
                skipped += 1
                continue
            strike_wad = int(round(li.strike * 10**6)) * 10**12
            expiry = t0 + li.expiry_s
            self.blocks.queue(self.m.market.functions.listSeries(strike_wad, expiry, li.is_call), self.lister,
                              f"list series {next_id}", gas=300_000)
            self.book.live[next_id] = (strike_wad, expiry, li.is_call)
            new.append(next_id)
            next_id += 1
        return new, skipped

    # ------------------------------------------------------------------ buyers

    def buy(self, attempt: BuyAttempt, now: int) -> BuyOutcome:
        buyer = self.buyers[attempt.buyer]
        on_sale = sorted(sid for sid, (_, expiry, _) in self.book.live.items() if expiry - now >= self.min_time_to_buy)
        if not on_sale:
            return BuyOutcome(buyer, None, None, attempt.size, 0, "NoSeriesOnSale")
        buyable = [sid for sid in on_sale if self.book.live[sid][2] == attempt.wants_call] or on_sale
        sid = buyable[min(int(attempt.pick * len(buyable)), len(buyable) - 1)]
        is_call = self.book.live[sid][2]
        amount = int(round(attempt.size * 100)) * 10**16
        market = self.m.market.functions
        try:
            premium = int(market.quote(sid, amount).call(block_identifier="pending"))
        except Exception as exc:  # the market cannot price it (oracle), a refusal like any other
            return BuyOutcome(buyer, sid, is_call, attempt.size, 0, type(exc).__name__)
        fn = market.buy(sid, amount, premium + premium // 100 + 1, 2**40)
        gas, reason = self.blocks.simulate(fn, buyer)
        if gas is None:
            return BuyOutcome(buyer, sid, is_call, attempt.size, 0, _error_name(reason))
        self.blocks.queue(fn, buyer, f"buy series {sid}", gas=gas)
        holders = self.book.holdings[sid]
        holders[buyer] = holders.get(buyer, 0) + amount
        return BuyOutcome(buyer, sid, is_call, attempt.size, premium, None)

    # ------------------------------------------------------------------ depositors

    def deposit(self, who: str, usd: float) -> str | None:
        fn = self.m.vault.functions.deposit(int(round(usd * USD)), who)
        gas, reason = self.blocks.simulate(fn, who)
        if gas is None:
            return _error_name(reason)
        self.blocks.queue(fn, who, "deposit", gas=gas)
        return None

    def redeem_all_allowed(self, who: str) -> int:
        """Queue a redeem of every share `who` may redeem now (maxRedeem); returns the shares."""
        shares = int(self.m.vault.functions.maxRedeem(who).call(block_identifier="pending"))
        if shares > 0:
            self.blocks.queue(self.m.vault.functions.redeem(shares, who, who), who, "withdraw")
        return shares


def first_round_at_or_after(feed: Any, expiry: int, latest_round: int, state: str = "pending") -> int | None:
    """The first price round updated at or after `expiry` (MockV3Aggregator: rounds 1, 2, ...
    one per `updateAnswer`; `getRoundData(id)` gives its `updatedAt`). None if there is none yet."""
    found = None
    for round_id in range(latest_round, 0, -1):
        updated_at = int(feed.functions.getRoundData(round_id).call(block_identifier=state)[3])
        if updated_at < expiry:
            break
        found = round_id
    return found


def _error_name(reason: str | None) -> str:
    return (reason or "reverted").split("(")[0]


def checksum(address: str) -> str:
    return Web3.to_checksum_address(address)
