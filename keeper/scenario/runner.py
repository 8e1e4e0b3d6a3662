"""The scenario's step loop, on a node it starts (or one given by --rpc).

    start Anvil -> deploy (KEEPER_ROLE to the keeper's key) -> fund the participants -> snapshot
    -> run (with the keeper) -> [revert -> run again without it, for comparison]

One run: for each step, one block at the step's timestamp holding the oracle update, the
arbitrage, settlements and redemptions, deposits, listings and buys; then the keeper acts on it
(its transactions mined as they come) until it holds. Two observations per step: the step block
(before the keeper) and the head after it. At the end, the last series settle, the keeper
unwinds the hedge, and the depositors redeem what they may.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from keeper.deployer import deploy
from keeper.deployments import Deployment
from keeper.localchain import ANVIL_KEYS, LocalNode, check_rpc
from keeper.localmarket import LocalMarket
from keeper.scenario.actors import BuyOutcome, Participants
from keeper.scenario.blocks import BlockBuilder, Mined
from keeper.scenario.config import KeeperSettings, ScenarioConfig, ScenarioError
from keeper.scenario.flow import draw_buys, listing_plan
from keeper.scenario.keeperproc import KeeperProcess
from keeper.scenario.paths import MarketPath, build_path
from keeper.snapshot import REASONS, WAD, as_dict

DEPLOYER_KEY = ANVIL_KEYS[0]
KEEPER_KEY = ANVIL_KEYS[1]
UNWIND_ROUNDS = 8


@dataclass(frozen=True)
class Observation:
    """The vault at one block, exact integers as the contracts hold them."""

    step: int  # -1 before the first step; steps + 1.. for the closing blocks
    phase: str  # "start" | "step" (the step's block, before the keeper) | "hedged" (after it) | "close"
    block: int
    timestamp: int
    spot_wad: int
    vol_wad: int
    quote: int  # USDC units held by the vault
    base_wad: int  # WETH held
    owed: int  # USDC owed on settled, unredeemed series
    mark_wad: int  # mark of the open written options (market.book at the oracle)
    total_assets: int  # NAV, USDC units (HedgeVault.totalAssets)
    total_supply: int
    holders_delta_wad: int
    net_delta_wad: int
    dust_wad: int  # the vault's dust tolerance: |net delta| at or below it, nothing is due
    hard_band_wad: int  # outside it past the grace, anyone may hedge (the must path)
    check_reason: str  # the vault's rebalanceCheck reason (keeper.snapshot.REASONS)
    base_budget_left_wad: int  # what a keeper may still trade in the window
    loss_budget_left_quote: int
    margin_ratio_bps: int | None
    emergency: bool
    live_series: int
    hedge_nonce: int
    pool_base_wad: int = 0  # the Uniswap pool's WETH reserve at this block
    pool_quote: int = 0  # and its USDC reserve (units)
    # The written book: (strike USD, expiry s, is call, open WETH) per live series, for a backtester's replay.
    series: tuple[tuple[float, int, bool, float], ...] = ()

    @property
    def nav_per_share(self) -> float:
        """USD per whole share (12 decimals: 6 of USDC + the vault's 6-decimal offset); 1.0 at the start."""
        return (self.total_assets / 1e6) / (self.total_supply / 1e12) if self.total_supply else 1.0


@dataclass
class StepRecord:
    step: int
    block: int
    price: float
    vol: float
    buys: list[BuyOutcome] = field(default_factory=list)
    listed: list[int] = field(default_factory=list)
    listings_skipped: int = 0
    settled: list[int] = field(default_factory=list)
    deposits: list[tuple[str, float, str | None]] = field(default_factory=list)
    failed_txs: list[tuple[str, str | None]] = field(default_factory=list)
    keeper_blocks: int = 0
    keeper_seconds: float = 0.0
    keeper_timed_out: bool = False
    keeper_failure: str | None = None


@dataclass
class RunResult:
    hedged: bool
    t0: int
    observations: list[Observation]
    steps: list[StepRecord]
    logs: list[dict[str, Any]]
    keeper_txs: list[dict[str, Any]]
    keeper_exit: int | None
    withdrawals: list[tuple[str, int]]
    wall_seconds: float
    work_dir: Path
    keeper_failures: list[tuple[int, str]] = field(default_factory=list)  # (step, why) the keeper's tick failed
    arm: str = ""  # the hedging arm (config.ARMS)
    keeper_settings: KeeperSettings | None = None
    keeper_ticks: list[dict[str, Any]] = field(default_factory=list)  # the keeper's `tick` log lines, in order
    pool_syncs: dict[str, tuple[int, int]] = field(default_factory=dict)  # tx -> pool (WETH, USDC) after its swap

    @property
    def start(self) -> Observation:
        return self.observations[0]

    @property
    def end(self) -> Observation:
        return self.observations[-1]


@dataclass
class Stack:
    """A node with the deployed, funded market: shared by the hedged and unhedged runs."""

    url: str
    node: LocalNode | None
    deployment: Deployment
    market: LocalMarket
    blocks: BlockBuilder
    snapshot_id: str
    chain_id: int

    def close(self) -> None:
        try:
            self.blocks.automatic_mining()
        except ScenarioError:
            pass
        if self.node is not None:
            self.node.stop()


def prepare(cfg: ScenarioConfig, work_dir: Path, rpc_url: str | None = None, port: int | None = None,
            deploy_lock: AbstractContextManager[Any] | None = None) -> Stack:
    """Start Anvil (or check --rpc), deploy a fresh stack, fund everyone, snapshot.

    `deploy_lock` serialises the brownie deploys of stacks prepared in parallel (brownie clears
    its shared build/deployments folder on every run)."""
    node = None
    if rpc_url is None:
        with deploy_lock or nullcontext():  # free ports picked one node at a time
            # fifo: the step's transactions execute in the order the participants queued them.
            node = LocalNode(port=port, extra_args=("--order", "fifo")).start()
        rpc_url = node.url
    try:
        chain_id = check_rpc(rpc_url)
        blocks_probe = BlockBuilder(rpc_url, Web3(Web3.HTTPProvider(rpc_url)), cfg.market.gas_price_gwei)
        blocks_probe.check_node()
        blocks_probe.automatic_mining()  # a node left in manual mining by an interrupted run
        work_dir.mkdir(parents=True, exist_ok=True)
        with deploy_lock or nullcontext():
            deployment = deploy(rpc_url, str(work_dir / "deployment.json"), DEPLOYER_KEY, extra_env={
                "HV_KEEPER": Account.from_key(KEEPER_KEY).address,
                "HV_PRICE_USD": repr(cfg.path.s0),
                "HV_IMPLIED_VOL": repr(float(build_path(cfg).vol[0])),
                "HV_POOL_WETH": repr(cfg.market.pool_weth),
            }).deployment
        market = LocalMarket(rpc_url, deployment)
        blocks = BlockBuilder(rpc_url, market.w3, cfg.market.gas_price_gwei)
        blocks.manual_mining()
        people = Participants(market, blocks, len(cfg.depositors), cfg.buyers.accounts)
        blocks.open()
        people.fund([d.usd for d in cfg.depositors])
        _, mined = blocks.mine()
        _require_ok(mined, "setup")
        return Stack(rpc_url, node, deployment, market, blocks, blocks.snapshot(), chain_id)
    except BaseException:
        if node is not None:
            node.stop()
        raise


def first_step_time(stack: Stack, cfg: ScenarioConfig) -> int:
    """The earliest first-step timestamp this stack allows (one step after its latest block)."""
    return int(stack.market.w3.eth.get_block("latest")["timestamp"]) + cfg.step_seconds


def run(cfg: ScenarioConfig, stack: Stack, keeper_settings: KeeperSettings | None, work_dir: Path,
        progress: Callable[[int, int, str], None] = lambda done, total, what: None, *, t0: int | None = None,
        arm: str = "") -> RunResult:
    """One run of the scenario from the stack's snapshot, with the keeper on `keeper_settings`
    (None: no keeper). Leaves the chain at its end state. `t0` (the first step's timestamp) lets
    arms on separate chains share every block timestamp."""
    started = time.monotonic()
    hedged = keeper_settings is not None
    work_dir.mkdir(parents=True, exist_ok=True)
    path = build_path(cfg)
    buys = draw_buys(cfg)
    plan = listing_plan(cfg, path)
    m, blocks = stack.market, stack.blocks
    people = Participants(m, blocks, len(cfg.depositors), cfg.buyers.accounts)
    observe = Observer(m)
    maintenance_bps = int(m.vault.functions.riskParams().call()[1])
    t0 = max(t0 or 0, first_step_time(stack, cfg))
    observations = [observe(int(m.w3.eth.block_number), -1, "start")]
    records: list[StepRecord] = []
    failures: list[tuple[int, str]] = []
    keeper = None
    if keeper_settings is not None:
        keeper = KeeperProcess(stack.url, stack.deployment.path, work_dir, KEEPER_KEY, keeper_settings)
        keeper.start(blocks)

    def expects_margin_tx(head: int) -> bool:
        o = observe.snapshot(head)
        return (not o["emergency"] and o["margin_ratio_bps"] is not None and o["margin_ratio_bps"] < maintenance_bps)

    def after_keeper(rec: StepRecord | None, step: int, phase: str, price: float) -> None:
        if keeper is not None:
            s = keeper.settle(blocks, expects_margin_tx, backrun=lambda: people.arbitrage(price, "pending"))
            if rec is not None:
                rec.keeper_blocks, rec.keeper_seconds, rec.keeper_timed_out = s.keeper_blocks, s.seconds, s.timed_out
                rec.keeper_failure = s.failure
            if s.failure is not None:
                failures.append((step, s.failure))
        observations.append(observe(int(m.w3.eth.block_number), step, phase))

    total = cfg.steps + 1
    try:
        for step in range(total):
            t = t0 + step * cfg.step_seconds
            price, vol = float(path.price[step]), float(path.vol[step])
            rec = StepRecord(step, 0, price, vol)
            blocks.open(t)
            people.post_prices(price, vol)
            people.arbitrage(price)
            rec.settled = people.settle_expired(t)
            for i, d in enumerate(cfg.depositors):
                if d.step(cfg.steps) == step:
                    rec.deposits.append((people.depositors[i], d.usd, people.deposit(people.depositors[i], d.usd)))
            if step in plan:
                rec.listed, rec.listings_skipped = people.list_series(plan[step], t0)
            rec.buys = [people.buy(a, t) for a in buys[step]]
            rec.block, mined = blocks.mine()
            rec.failed_txs = [(x.label, x.reason) for x in mined if not x.ok]
            observations.append(observe(rec.block, step, "step"))
            after_keeper(rec, step, "hedged", price)
            records.append(rec)
            progress(step + 1, total, f"step {step + 1}/{total}")
        withdrawals = _close(cfg, path, people, blocks, observations, observe, after_keeper, t0, keeper is not None)
    finally:
        keeper_exit = keeper.stop() if keeper is not None else None
    logs = fetch_logs(m, observations[0].block + 1, observations[-1].block)
    keeper_txs = _keeper_txs(m, keeper) if keeper is not None else []
    ticks = _keeper_ticks(keeper.log_path) if keeper is not None else []
    syncs = fetch_pool_syncs(m, observations[0].block + 1, observations[-1].block)
    return RunResult(hedged, t0, observations, records, logs, keeper_txs, keeper_exit, withdrawals,
                     time.monotonic() - started, work_dir, failures, arm, keeper_settings, ticks, syncs)


def _close(cfg: ScenarioConfig, path: MarketPath, people: Participants, blocks: BlockBuilder,
           observations: list[Observation], observe: Observer, after_keeper: Callable[..., None], t0: int,
           hedged: bool) -> list[tuple[str, int]]:
    """Settle the last series, let the keeper unwind, then the depositors redeem what they may."""
    price, vol = float(path.price[-1]), float(path.vol[-1])
    t = t0 + cfg.steps * cfg.step_seconds + 60
    step = cfg.steps + 1
    blocks.open(t)
    people.post_prices(price, vol)
    people.settle_expired(t)
    block, mined = blocks.mine()
    _require_ok(mined, "closing block")
    after_keeper(None, step, "close", price)
    interval = int(people.m.vault.functions.hedgeParams().call()[2])
    nonce = None
    for _ in range(UNWIND_ROUNDS if hedged else 0):
        last = observations[-1]
        # Done when nothing is left beyond the dust, or the keeper's policy held a round (its band).
        if abs(last.net_delta_wad) <= last.dust_wad or last.hedge_nonce == nonce:
            break
        nonce = last.hedge_nonce
        t = last.timestamp + interval + 1
        step += 1
        blocks.open(t)
        people.post_prices(price, vol)
        people.arbitrage(price)
        blocks.mine()
        after_keeper(None, step, "close", price)
    withdrawals: list[tuple[str, int]] = []
    for who in people.depositors:
        blocks.open()
        shares = people.redeem_all_allowed(who)
        _, mined = blocks.mine()
        _require_ok(mined, "withdrawal")
        withdrawals.append((who, shares))
    observations.append(observe(int(people.m.w3.eth.block_number), step, "close"))
    return withdrawals


def _require_ok(mined: list[Mined], what: str) -> None:
    bad = [f"{x.label}: {x.reason}" for x in mined if not x.ok]
    if bad:
        raise ScenarioError(f"{what} failed: {bad[0]}")


class Observer:
    """Reads the vault's state at a block: the lens snapshot and the book's mark."""

    def __init__(self, m: LocalMarket) -> None:
        self.m = m
        self._outputs = next(f for f in m.lens.abi if f.get("name") == "riskSnapshot")["outputs"][0]["components"]

    def snapshot(self, block: int) -> dict[str, Any]:
        raw = self.m.lens.functions.riskSnapshot(self.m.vault.address).call(block_identifier=block)
        s = as_dict(self._outputs, raw)
        ratio = int(s["marginRatioBps"])
        return {**s, "emergency": bool(s["hedge"]["emergency"]),
                "margin_ratio_bps": None if ratio == 2**256 - 1 else ratio}

    def __call__(self, block: int, step: int, phase: str) -> Observation:
        s = self.snapshot(block)
        if not s["oracleOk"]:
            raise ScenarioError(f"the vault's oracle check failed at block {block} (step {step}): stale feed?")
        mark = int(self.m.market.functions.book(s["spotWad"], s["volWad"]).call(block_identifier=block)[0])
        r0, r1, _ = self.m.pair.functions.getReserves().call(block_identifier=block)
        pool_base, pool_quote = (r0, r1) if self.m.weth_is_token0 else (r1, r0)
        return Observation(
            step=step, phase=phase, block=int(s["blockNumber"]), timestamp=int(s["timestamp"]),
            spot_wad=int(s["spotWad"]), vol_wad=int(s["volWad"]), quote=int(s["quoteBalance"]),
            base_wad=int(s["baseBalanceWad"]), owed=int(s["owedQuote"]), mark_wad=mark,
            total_assets=int(s["totalAssets"]), total_supply=int(s["totalSupply"]),
            holders_delta_wad=int(s["holdersDeltaWad"]), net_delta_wad=int(s["netDeltaWad"]),
            dust_wad=int(s["hedgeParams"]["dustDeltaWad"]), hard_band_wad=int(s["hedgeParams"]["hardBandWad"]),
            check_reason=REASONS[int(s["check"]["reason"])], base_budget_left_wad=int(s["check"]["baseBudgetWad"]),
            loss_budget_left_quote=int(s["check"]["lossBudgetQuote"]),
            margin_ratio_bps=s["margin_ratio_bps"], emergency=s["emergency"], live_series=len(s["series"]),
            hedge_nonce=int(s["hedge"]["nonce"]), pool_base_wad=int(pool_base), pool_quote=int(pool_quote),
            series=tuple((x["strikeWad"] / WAD, int(x["expiry"]), bool(x["isCall"]), x["openWad"] / WAD)
                         for x in s["series"]),
        )


EVENTS = {
    "vault": ("Deposit", "Withdraw", "Rebalanced", "PaidOut", "EmergencyEntered", "EmergencyExited"),
    "market": ("OptionBought", "SeriesSettled", "OptionRedeemed", "SeriesListed"),
}


def fetch_logs(m: LocalMarket, from_block: int, to_block: int) -> list[dict[str, Any]]:
    """The vault's and market's events in the run, decoded, in chain order."""
    decoders = {}
    for contract, names in ((m.vault, EVENTS["vault"]), (m.market, EVENTS["market"])):
        for name in names:
            event = contract.events[name]()
            abi = next(e for e in contract.abi if e.get("type") == "event" and e["name"] == name)
            sig = f"{name}({','.join(_canonical(i) for i in abi['inputs'])})"
            decoders[(contract.address.lower(), Web3.keccak(text=sig))] = (name, event)
    raw = m.w3.eth.get_logs({"fromBlock": from_block, "toBlock": to_block, "address": [m.vault.address, m.market.address]})
    out = []
    for log in raw:
        key = (log["address"].lower(), bytes(log["topics"][0]))
        if key not in decoders:
            continue
        name, event = decoders[key]
        decoded = event.process_log(log)
        out.append({"event": name, "block": int(log["blockNumber"]), "log_index": int(log["logIndex"]),
                    "tx": "0x" + bytes(log["transactionHash"]).hex(), "args": dict(decoded["args"])})
    out.sort(key=lambda e: (e["block"], e["log_index"]))
    return out


def _canonical(param: dict) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def fetch_pool_syncs(m: LocalMarket, from_block: int, to_block: int) -> dict[str, tuple[int, int]]:
    """The pool's reserves (WETH, USDC) after each transaction that touched it (its last Sync)."""
    out: dict[str, tuple[int, int]] = {}
    for log in m.pair.events.Sync().get_logs(from_block=from_block, to_block=to_block):
        r0, r1 = int(log["args"]["reserve0"]), int(log["args"]["reserve1"])
        out["0x" + bytes(log["transactionHash"]).hex()] = (r0, r1) if m.weth_is_token0 else (r1, r0)
    return out


def _keeper_ticks(log_path: Path) -> list[dict[str, Any]]:
    """The keeper's decisions as it logged them: one `tick` JSON line per tick (block, decision,
    reason, policy target, sent target, must path)."""
    out: list[dict[str, Any]] = []
    try:
        lines = log_path.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == "tick":
            out.append(entry)
    return out


def _keeper_txs(m: LocalMarket, keeper: KeeperProcess) -> list[dict[str, Any]]:
    """Every transaction the keeper journalled, with gas from its receipt (the chain's word)."""
    import sqlite3

    db = sqlite3.connect(keeper.journal_path)
    try:
        rows = db.execute("SELECT hash, status, block, hedge_nonce, note FROM txs ORDER BY id").fetchall()
    finally:
        db.close()
    out = []
    for tx_hash, status, block, hedge_nonce, note in rows:
        gas_used = price = 0
        if status in ("confirmed", "failed"):
            r = m.w3.eth.get_transaction_receipt(tx_hash)
            gas_used, price = int(r["gasUsed"]), int(r["effectiveGasPrice"])
        out.append({"hash": tx_hash, "status": status, "block": block, "hedge_nonce": hedge_nonce, "note": note,
                    "gas_used": gas_used, "effective_gas_price": price})
    return out
