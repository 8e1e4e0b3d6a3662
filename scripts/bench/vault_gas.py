"""Gas of the vault's entry points on the whole stack, as scripts/deploy.py deploys it.

    python benchmarks/bench_vault_gas.py                 # starts its own Anvil on a free port
    brownie run scripts/bench/vault_gas.py --network hv-anvil

Every number is a transaction's exact `gas_used` on Anvil, except the per-series book cost, which
is the difference of two `eth_estimateGas` of the `book` / `scenarios` views. Comparisons are like
for like: the rebalance and the plain router swap it is compared with start from the same chain
snapshot (same pool reserves, same balances, warm nothing), and trade the same amount of WETH.

Stages: 1 live series, 8 (the deployed cap), then 32 (the hard cap, raised through the timelock).
Every live series has open interest, so the book prices each of them (Black-Scholes per series:
once for deposits and rebalances, at three stress spots for buys and withdrawals).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

WAD = 10**18
USD = 10**6
DAY = 86_400
ZERO32 = "0x" + "00" * 32
SIZE_LIMIT = 24_576
ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("HedgeVault", "RebalanceLogic", "ParamsLogic", "OptionMarket", "VaultLens", "UniswapV2Adapter",
             "HedgeTimelock")
HEADROOM_LIMIT = SIZE_LIMIT * 8 // 10  # DESIGN.md 'Size': every deployed contract within 80% of EIP-170
TRADE_WAD = 2 * WAD


@dataclass
class Stage:
    series: int
    gas: dict[str, int] = field(default_factory=dict)
    breakdown: list[tuple[str, int]] = field(default_factory=list)


class Bench:
    def __init__(self, p, accounts, chain, web3):
        self.p, self.accounts, self.chain, self.web3 = p, accounts, chain, web3
        a = accounts
        self.deployer, self.governor, self.guardian, self.keeper, self.lister = a[0], a[1], a[2], a[3], a[4]
        self.lp, self.buyer, self.trader = a[5], a[6], a[7]
        self.fresh = []
        self.salt = 0

    # ------------------------------------------------------------------ setup

    def deploy(self) -> None:
        from scripts import deploy
        from scripts.lib.artifacts import at

        record_path = Path(tempfile.mkdtemp()) / "bench.json"
        os.environ.update(
            HV_DEPLOYMENTS=str(record_path), HV_GOVERNOR=self.governor.address, HV_GUARDIAN=self.guardian.address,
            HV_KEEPER=self.keeper.address, HV_LISTER=self.lister.address, HV_TIMELOCK_DELAY="3600",
        )
        record = deploy.main()
        c = record.contracts
        p = self.p
        self.usdc, self.weth = p.TestStablecoin.at(c["usd"]), at("WETH9", c["weth"])
        self.price_feed, self.vol_feed = p.TestFeed.at(c["price_feed"]), p.TestFeed.at(c["vol_feed"])
        self.router, self.pair = at("UniswapV2Router02", c["uniswap_router"]), at("UniswapV2Pair", c["weth_usd_pair"])
        self.vault, self.market = p.HedgeVault.at(c["vault"]), p.OptionMarket.at(c["option_market"])
        self.timelock, self.adapter = p.HedgeTimelock.at(c["timelock"]), p.UniswapV2Adapter.at(c["swap_adapter"])
        self.lens = p.VaultLens.at(c["vault_lens"])
        self.weth_is_token0 = self.pair.token0() == self.weth.address

    def tx(self, sender) -> dict:
        return {"from": sender, "silent": True}

    def fund(self) -> None:
        d = self.deployer
        for who in (self.lp, self.buyer, self.trader):
            self.usdc.mint(who, 100_000_000 * USD, self.tx(d))
        self.usdc.approve(self.vault, 2**256 - 1, self.tx(self.lp))
        self.usdc.approve(self.market, 2**256 - 1, self.tx(self.buyer))
        self.weth.deposit({"from": self.trader, "value": 2_000 * WAD, "silent": True})
        self.usdc.approve(self.router, 2**256 - 1, self.tx(self.trader))
        self.weth.approve(self.router, 2**256 - 1, self.tx(self.trader))
        self.vault.deposit(5_000_000 * USD, self.lp, self.tx(self.lp))

    def new_account(self, usd: int = 0, approve=None):
        acct = self.accounts.add()
        self.deployer.transfer(acct, WAD // 10, silent=True)
        if usd:
            self.usdc.mint(acct, usd, self.tx(self.deployer))
        if approve is not None:
            self.usdc.approve(approve, 2**256 - 1, self.tx(acct))
        return acct

    # ------------------------------------------------------------------ market helpers

    def spot(self) -> int:
        return self.price_feed.latestRoundData()[1] * 10**10

    def refresh(self) -> None:
        for feed in (self.price_feed, self.vol_feed):
            feed.updateAnswer(feed.latestRoundData()[1], self.tx(self.deployer))

    def sleep(self, seconds: int) -> None:
        self.chain.sleep(seconds)
        self.refresh()

    def reserves(self) -> tuple[int, int]:
        r0, r1, _ = self.pair.getReserves()
        return (r0, r1) if self.weth_is_token0 else (r1, r0)

    def arbitrage(self) -> None:
        import math

        for _ in range(3):
            weth_r, usd_r = self.reserves()
            spot = self.spot()
            if abs(usd_r * 10**30 // weth_r - spot) * 10_000 <= spot:
                return
            target = math.isqrt(weth_r * usd_r * 10**30 // spot)
            deadline = self.chain.time() + 600
            if target < weth_r:
                self.router.swapTokensForExactTokens(
                    weth_r - target, 2**256 - 1, [self.usdc, self.weth], self.trader, deadline, self.tx(self.trader))
            else:
                self.router.swapExactTokensForTokens(
                    target - weth_r, 0, [self.weth, self.usdc], self.trader, deadline, self.tx(self.trader))

    def list_series(self, strike_bps: int, expiry_in: int, is_call: bool) -> int:
        tx = self.market.listSeries(self.spot() * strike_bps // 10_000, self.chain.time() + expiry_in, is_call,
                                    self.tx(self.lister))
        return tx.events["SeriesListed"]["id"]

    def buy(self, buyer, sid: int, amount: int):
        return self.market.buy(sid, amount, 10**15, self.chain.time() + 600, self.tx(buyer))

    def add_series(self, count: int) -> None:
        """List `count` more series across strikes and expiries, each with some open interest."""
        live = self.market.liveSeriesCount()
        for i in range(count):
            k = live + i
            strike = 7_000 + (k * 937) % 9_000
            sid = self.list_series(strike, (7 + (k * 5) % 50) * DAY, k % 3 != 0)
            self.buy(self.buyer, sid, WAD // 10)

    def govern(self, target, fn_name: str, *args) -> None:
        data = getattr(target, fn_name).encode_input(*args)
        self.salt += 1
        salt = "0x" + self.salt.to_bytes(32, "big").hex()
        self.timelock.schedule(target, 0, data, ZERO32, salt, 3_600, self.tx(self.governor))
        self.sleep(3_601)
        self.timelock.execute(target, 0, data, ZERO32, salt, self.tx(self.governor))

    def in_snapshot(self, fn):
        self.chain.snapshot()
        try:
            return fn()
        finally:
            self.chain.revert()

    # ------------------------------------------------------------------ measurements

    def measure_stage(self, stage: Stage) -> None:
        g = stage.gas
        g["deposit (existing LP)"] = self.vault.deposit(1_000 * USD, self.lp, self.tx(self.lp)).gas_used
        newcomer = self.new_account(usd=10_000 * USD, approve=self.vault)
        g["deposit (new LP)"] = self.vault.deposit(1_000 * USD, newcomer, self.tx(newcomer)).gas_used
        g["withdraw (partial)"] = self.vault.withdraw(500 * USD, self.lp, self.lp, self.tx(self.lp)).gas_used
        g["redeem shares (partial)"] = self.vault.redeem(10**14, self.lp, self.lp, self.tx(self.lp)).gas_used
        sid = self.market.liveSeries()[0][0]
        g["buy (existing holder)"] = self.buy(self.buyer, sid, WAD // 10).gas_used
        holder = self.new_account(usd=10_000_000 * USD, approve=self.market)
        g["buy (new holder)"] = self.buy(holder, sid, WAD // 10).gas_used
        g["updateMarginState"] = self.vault.updateMarginState(self.tx(self.keeper)).gas_used
        spot, vol = self.spot(), self.vol_feed.latestRoundData()[1] * 10**10
        caller = {"from": self.trader}  # any account: these are views
        g["book() view, eth_estimateGas"] = self.market.book.estimate_gas(spot, vol, caller)
        g["scenarios() view, eth_estimateGas"] = self.market.scenarios.estimate_gas([spot, spot, spot], vol, caller)
        g["riskSnapshot() view, eth_estimateGas"] = self.lens.riskSnapshot.estimate_gas(self.vault, caller)
        self.measure_rebalance(stage)

    def measure_rebalance(self, stage: Stage) -> None:
        """Make the book need a hedge, then rebalance TRADE_WAD and, from the same snapshot, swap
        the same amount through the router as an EOA."""
        hedge_sid = self.hedge_series
        self.buy(self.buyer, hedge_sid, 3 * WAD)  # holders' delta up by ~3: outside the band
        self.sleep(301)  # the minimum interval since the previous rebalance
        self.arbitrage()
        check = self.vault.rebalanceCheck()
        assert check[0], f"no rebalance due: {check}"
        base = self.weth.balanceOf(self.vault)
        nonce = self.vault.hedgeState()[0]

        def rebalance():
            return self.vault.rebalance(base + TRADE_WAD, 0, self.chain.time() + 600, nonce, self.tx(self.keeper)).gas_used

        def router_swap():
            return self.router.swapTokensForExactTokens(
                TRADE_WAD, 2**256 - 1, [self.usdc, self.weth], self.trader, self.chain.time() + 600,
                self.tx(self.trader)).gas_used

        def pair_swap():
            # The vault's own route without the vault: quote straight into the pair, then swap.
            quote_in = self.adapter.quoteInForBaseOut(TRADE_WAD)
            t1 = self.usdc.transfer(self.pair, quote_in, self.tx(self.trader)).gas_used
            out = (TRADE_WAD, 0) if self.weth_is_token0 else (0, TRADE_WAD)
            t2 = self.pair.swap(*out, self.trader, b"", self.tx(self.trader)).gas_used
            return t1 + t2 - 21_000  # one transaction's intrinsic cost, as the vault pays it once

        stage.gas["rebalance (keeper, buy 2 WETH)"] = self.in_snapshot(rebalance)
        stage.breakdown = self.in_snapshot(lambda: self.call_breakdown(
            self.vault.rebalance(base + TRADE_WAD, 0, self.chain.time() + 600, nonce, self.tx(self.keeper))))
        stage.gas["router swapTokensForExactTokens (EOA, 2 WETH)"] = self.in_snapshot(router_swap)
        stage.gas["transfer + pair.swap (EOA, 2 WETH, one tx's 21k)"] = self.in_snapshot(pair_swap)
        stage.gas["rebalance overhead vs router swap"] = (
            stage.gas["rebalance (keeper, buy 2 WETH)"] - stage.gas["router swapTokensForExactTokens (EOA, 2 WETH)"]
        )
        # Leave the book hedged for the next stage.
        self.vault.rebalance(check[2], 0, self.chain.time() + 600, nonce, self.tx(self.keeper))
        self.arbitrage()

    def call_breakdown(self, tx) -> list[tuple[str, int]]:
        """Gas of each external call the vault makes in `tx` (Anvil's callTracer), aggregated by
        contract and function; what is left is the vault's own code and the 21k intrinsic cost."""
        names = {}
        for label, c in (("vault", self.vault), ("market", self.market), ("price feed", self.price_feed),
                         ("vol feed", self.vol_feed), ("adapter", self.adapter), ("USDC", self.usdc),
                         ("WETH", self.weth), ("pair", self.pair)):
            for fn, sel in c.signatures.items():
                names[(c.address.lower(), sel)] = f"{label}.{fn}"
        trace = self.web3.provider.make_request("debug_traceTransaction", [tx.txid, {"tracer": "callTracer"}])["result"]
        totals: dict[str, int] = {}

        def add(calls: list) -> None:
            for call in calls:
                if call.get("type") == "DELEGATECALL":  # the vault's linked library runs as the vault
                    inner = call.get("calls", [])
                    own = int(call["gasUsed"], 16) - sum(int(c["gasUsed"], 16) for c in inner)
                    key = "RebalanceLogic.execute (delegatecall), its own code"
                    totals[key] = totals.get(key, 0) + own
                    add(inner)
                    continue
                key = names.get((call["to"].lower(), call["input"][:10]), f"{call['to']}:{call['input'][:10]}")
                totals[key] = totals.get(key, 0) + int(call["gasUsed"], 16)

        add(trace.get("calls", []))
        rows = sorted(totals.items(), key=lambda kv: -kv[1])
        rows.append(("vault's own code, calldata and 21k intrinsic (the rest)", tx.gas_used - sum(totals.values())))
        return rows

    def measure_settlement(self) -> dict[str, int]:
        def flow():
            sid = self.list_series(9_000, 3_700, True)
            self.buy(self.buyer, sid, WAD)
            expiry = self.market.seriesOf(sid)[1]
            self.chain.sleep(expiry - self.chain.time() + 1)
            self.refresh()
            rid = self.price_feed.latestRound()
            out = {"settle": self.market.settle(sid, rid, self.tx(self.keeper)).gas_used}
            out["redeem options (paid in quote)"] = self.market.redeem(sid, WAD // 2, self.tx(self.buyer)).gas_used
            out["redeem options (second holder tx)"] = self.market.redeem(sid, WAD // 2, self.tx(self.buyer)).gas_used
            return out

        return self.in_snapshot(flow)

    def measure_scaling(self) -> dict[str, int]:
        """Deposit and buy gas for the 1st and the 50th new depositor / option holder."""
        sid = self.market.liveSeries()[0][0]

        def flow():
            out = {}
            for n in range(1, 51):
                lp = self.new_account(usd=2_000 * USD, approve=self.vault)
                gas = self.vault.deposit(1_000 * USD, lp, self.tx(lp)).gas_used
                holder = self.new_account(usd=10_000_000 * USD, approve=self.market)
                buy_gas = self.buy(holder, sid, WAD // 100).gas_used
                if n in (1, 50):
                    out[f"deposit by new depositor #{n}"] = gas
                    out[f"buy by new option holder #{n}"] = buy_gas
            return out

        return self.in_snapshot(flow)


def contract_sizes(root: Path = ROOT) -> dict[str, int]:
    sizes = {}
    for name in CONTRACTS:
        build = json.loads((root / "build" / "contracts" / f"{name}.json").read_text())
        sizes[name] = len(build["deployedBytecode"]) // 2
    return sizes


def run(p, accounts, web3, chain) -> str:
    b = Bench(p, accounts, chain, web3)
    b.deploy()
    b.fund()
    b.hedge_series = b.list_series(5_000, 60 * DAY, True)  # deep in the money: ~1 delta per option
    b.buy(b.buyer, b.hedge_series, WAD)
    first_rebalance = None
    stages = []
    for target_count in (1, 8, 32):
        if target_count == 32:
            params = list(b.market.params())
            params[1] = 32
            b.govern(b.market, "setMarketParams", tuple(params))
        b.add_series(target_count - b.market.liveSeriesCount())
        if first_rebalance is None:
            b.buy(b.buyer, b.hedge_series, 3 * WAD)
            b.arbitrage()
            check = b.vault.rebalanceCheck()
            first_rebalance = b.vault.rebalance(check[2], 0, chain.time() + 600, 0, b.tx(b.keeper)).gas_used
            b.arbitrage()
        stage = Stage(series=b.market.liveSeriesCount())
        b.measure_stage(stage)
        stages.append(stage)
        if target_count == 1:
            settlement = b.measure_settlement()  # no loop over the book in either: any count will do
        if target_count == 8:
            scaling = b.measure_scaling()
    return render(stages, first_rebalance, settlement, scaling, contract_sizes(), web3)


def render(stages, first_rebalance, settlement, scaling, sizes, web3) -> str:
    def fmt(v):
        return f"{v:,}"

    lines = ["| gas_used | " + " | ".join(f"{s.series} live series" for s in stages) + " |",
             "|---|" + "--:|" * len(stages)]
    for key in stages[0].gas:
        lines.append(f"| {key} | " + " | ".join(fmt(s.gas[key]) for s in stages) + " |")
    per_series_book = (stages[1].gas["book() view, eth_estimateGas"] - stages[0].gas["book() view, eth_estimateGas"]) // (
        stages[1].series - stages[0].series)
    per_series_scen = (stages[1].gas["scenarios() view, eth_estimateGas"]
                       - stages[0].gas["scenarios() view, eth_estimateGas"]) // (stages[1].series - stages[0].series)
    lines += ["", f"book(): {per_series_book:,} gas per additional live series (one Black-Scholes price+delta each); "
                  f"scenarios(): {per_series_scen:,} (three spots each).",
              f"First-ever rebalance (hedge state and the vault's WETH balance go from zero): {first_rebalance:,}.",
              "", "| settlement (1 other live series; neither loops over the book) | gas_used |", "|---|--:|"]
    for key, v in settlement.items():
        lines.append(f"| {key} | {fmt(v)} |")
    lines += ["", "| does gas grow with users? (8 live series) | gas_used |", "|---|--:|"]
    for key, v in scaling.items():
        lines.append(f"| {key} | {fmt(v)} |")
    lines += ["", "| contract | deployed bytes | of 24,576 | within 80% (19,660) |", "|---|--:|--:|:-:|"]
    for name, size in sizes.items():
        lines.append(f"| {name} | {size:,} | {size / SIZE_LIMIT:.1%} | {'yes' if size <= HEADROOM_LIMIT else 'NO'} |")
    eight = next(s for s in stages if s.series == 8)
    lines += ["", f"| where the rebalance's gas goes ({eight.series} live series; callTracer, per external call of the vault) "
                  "| gas |", "|---|--:|"]
    for key, v in eight.breakdown:
        lines.append(f"| {key} | {fmt(v)} |")
    lines += ["", "Targets (8 live series): rebalance overhead over the router swap <= 114,895 (issue 13; aim 90,000): "
                  f"{fmt(eight.gas['rebalance overhead vs router swap'])}; deposit <= 200,000: "
                  f"{fmt(eight.gas['deposit (existing LP)'])} (existing LP), {fmt(eight.gas['deposit (new LP)'])} (new LP)."]
    return "\n".join(lines)


def main() -> None:
    """`brownie run scripts/bench/vault_gas.py`: the contract containers live in the brownie namespace."""
    import brownie
    from brownie import accounts, chain, web3

    print(run(brownie, accounts, web3, chain))
