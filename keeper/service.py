"""The keeper loop: scheduled and new-block ticks, never overlapping, per vault:
snapshot -> Greeks -> policy -> contract cross-check -> simulate -> send -> journal.

Faults (RPC down, hanging or answering garbage, oracle stale, simulation reverted, fee cap, no
gas money, nonce taken, journal unwritable) are logged, exported as metrics and backed off;
nothing is sent on data that was not verified, and the next good tick recovers. Every tick first
re-checks recently final transactions (a reorg may have taken them away) and settles open ones.
SIGTERM finishes the in-flight tick without signing anything new; a transaction still waiting for
its receipt stays in the journal and is reconciled on the next start. See docs/KEEPER.md, Faults.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from keeper import deployments
from keeper.chain import (
    GWEI,
    ChainUnavailable,
    FeeCapExceeded,
    FeePolicy,
    InsufficientGasFunds,
    NonceTaken,
    RpcClient,
    SendPolicy,
    ShuttingDown,
    Signer,
    SimulationFailed,
    TransactionRejected,
    TxSender,
    VaultClient,
    keeper_limit,
    recheck_final,
    reconcile,
)
from keeper.config import ConfigError, KeeperConfig, VaultConfig
from keeper.greeks import JumpParams
from keeper.journal import Journal, JournalError
from keeper.metrics import HealthServer, Metrics
from keeper.policy import HedgePolicy, PolicyState, build_policy
from keeper.settlement import Settler, due_series
from keeper.snapshot import Snapshot
from keeper.tick import TickContext, TickDecision, decide, execution_bound, fit_loss_budget, loss_at_oracle
from keeper.volforecast import GarchForecaster

log = logging.getLogger("keeper")

MAX_BACKOFF_S = 300.0
SETTLE_RETRY_S = 600.0


def vault_policy(v: VaultConfig) -> HedgePolicy:
    try:
        return build_policy(v.policy, dict(v.policy_params))
    except ValueError as exc:
        raise ConfigError(f"vault {v.name}: policy_params for {v.policy}: {exc}") from None


def build_signer(cfg: KeeperConfig) -> Signer:
    try:
        if cfg.key.keystore is not None:
            return Signer.from_keystore(cfg.key.keystore, cfg.key.password_env or "")
        return Signer.from_env(cfg.key.env or "HV_KEEPER_KEY")
    except ValueError as exc:
        raise ConfigError(f"keeper.key: {exc}") from None


@dataclass
class VaultRunner:
    """One vault's tick, with its own policy memory and back-off."""

    cfg: VaultConfig
    client: VaultClient
    ctx: TickContext
    state: PolicyState = field(default_factory=PolicyState)
    failures: int = 0
    next_allowed: float = 0.0
    last: TickDecision | None = None
    last_snapshot: Snapshot | None = None
    settler: Settler | None = None
    # series id -> monotonic time before which a settlement the simulation refused is not retried
    settle_after: dict[int, float] = field(default_factory=dict)
    # The spot history and GARCH fit when the vault asks for `vol_forecast = "garch"`.
    garch: GarchForecaster | None = None


class KeeperService:
    def __init__(self, cfg: KeeperConfig, dry_run: bool | None = None) -> None:
        self.cfg = cfg
        self.dry_run = cfg.dry_run if dry_run is None else dry_run
        self.metrics = Metrics()
        self.journal = Journal(cfg.journal)
        chain_ids = set()
        self.runners: list[VaultRunner] = []
        loaded = [(v, deployments.load(v.deployment)) for v in cfg.vaults]
        for _, d in loaded:
            chain_ids.add(d.chain_id)
        if len(chain_ids) != 1:
            raise ConfigError(f"vault: all vaults must be on one chain, got chain ids {sorted(chain_ids)}")
        expected = cfg.chain_id or chain_ids.pop()
        self.rpc = RpcClient(cfg.rpc_urls, timeout_seconds=cfg.rpc_timeout_seconds, expected_chain_id=expected,
                             on_error=lambda url, exc: self.metrics.rpc_errors.labels(url).inc())
        self.signer = build_signer(cfg)
        self.sender = TxSender(self.rpc, self.signer, self.journal, SendPolicy(
            fees=FeePolicy(max_fee_cap=int(cfg.max_fee_gwei * GWEI), priority_percentile=cfg.priority_percentile),
            confirmations=cfg.confirmations, bump_after_seconds=cfg.bump_after_seconds,
            receipt_timeout_seconds=cfg.receipt_timeout_seconds,
        ))
        for v, d in loaded:
            jumps = JumpParams(v.merton["intensity"], v.merton["mean_jump"], v.merton["jump_vol"]) if v.model == "merton" else None
            client = VaultClient(self.rpc, d.address("vault"), d.address("vault_lens"), d.address("swap_adapter"))
            settler = Settler(self.rpc, d.address("option_market"), d.address("price_feed"))
            garch = GarchForecaster() if v.vol_forecast == "garch" else None
            self.runners.append(VaultRunner(v, client, TickContext(policy=vault_policy(v), jumps=jumps), settler=settler,
                                            garch=garch))
        self.wait_for_receipts = True  # the tick-latency benchmark stops at the hand-off to the node
        self._tick_lock = threading.Lock()
        self.stop_event = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._health: HealthServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def startup(self) -> None:
        """Reconcile the journal with the chain before anything new is sent: a rebroadcast
        transaction is waited for (up to the receipt timeout) so no new decision races it."""
        self._recheck_final()
        passes = [reconcile(self.rpc, self.journal, self.signer.address, self.cfg.confirmations)]
        deadline = time.monotonic() + self.cfg.receipt_timeout_seconds
        while self.journal.open_txs(self.signer.address) and time.monotonic() < deadline:
            if not self.dry_run:
                self.sender.bump_stuck()  # a transaction an earlier process left stuck on low fees
            time.sleep(0.5)
            passes.append(reconcile(self.rpc, self.journal, self.signer.address, self.cfg.confirmations))
        report = {k: sum(getattr(p, k) for p in passes) for k in ("confirmed", "failed", "dropped", "rejected")}
        report["rebroadcast"] = passes[0].rebroadcast
        report["still_pending"] = len(self.journal.open_txs(self.signer.address))
        log.info("journal reconciled", extra={"report": report, "keeper": self.signer.address})

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        self.startup()
        self._health = HealthServer(self.metrics, self.cfg.metrics_host, self.cfg.metrics_port,
                                    self.cfg.health_max_age_seconds).start()
        self._scheduler = BackgroundScheduler()
        self._scheduler.add_job(self.tick_all, "interval", seconds=self.cfg.tick_seconds, id="tick",
                                max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=datetime.now())
        self._scheduler.start()
        log.info("keeper running", extra={"vaults": [r.cfg.name for r in self.runners], "dry_run": self.dry_run,
                                          "metrics_port": self._health.port})
        last_block = None
        while not self.stop_event.is_set():
            if self.cfg.new_block_trigger:
                try:
                    block = self.rpc.call(lambda w3: w3.eth.block_number)
                    if last_block is not None and block != last_block:
                        self._scheduler.modify_job("tick", next_run_time=datetime.now())
                    last_block = block
                except ChainUnavailable:
                    pass
            self.stop_event.wait(min(1.0, self.cfg.tick_seconds))
        self._scheduler.shutdown(wait=True)  # the in-flight tick finishes (or journals) first
        self._health.stop()
        self.journal.close()
        log.info("keeper stopped")

    def stop(self) -> None:
        self.stop_event.set()
        self.sender.stop_requested.set()

    # ------------------------------------------------------------------ ticks

    def tick_all(self) -> list[TickDecision | None]:
        if not self._tick_lock.acquire(blocking=False):
            return []  # a tick is running: never overlap
        try:
            return [self.tick(r) for r in self.runners]
        finally:
            self._tick_lock.release()

    def tick(self, r: VaultRunner) -> TickDecision | None:
        name = r.cfg.name
        if time.monotonic() < r.next_allowed or self.stop_event.is_set():
            return None
        try:
            self._recheck_final()
            if self.journal.open_txs(self.signer.address):
                # An earlier transaction is still in flight (restart, or a receipt timeout): settle
                # it first; deciding again now could race it.
                reconcile(self.rpc, self.journal, self.signer.address, self.cfg.confirmations)
                pending = self.journal.open_txs(self.signer.address)
                if pending and not self.dry_run:
                    self.sender.bump_stuck()
                if pending:
                    decision = TickDecision(None, f"waiting for pending transaction {pending[0].hash}")
                    self._ok(r, "waiting")
                    return decision
            snap = r.client.snapshot()
            gas_price = self.rpc.call(lambda w3: w3.eth.gas_price)
            garch = None if r.garch is None else r.garch.observe(snap.spot, float(snap.timestamp))
            ctx = TickContext(r.ctx.policy, r.ctx.jumps, gas_price_gwei=gas_price / GWEI, garch=garch)
            decision, r.state = decide(snap, ctx, r.state)
            quote = None
            if decision.action is not None and not snap.below_maintenance:
                decision, quote = self._quote(r, snap, decision)
            r.last, r.last_snapshot = decision, snap
            self._export(name, snap)
            tick_id = self.journal.record_tick(name, snap.block, _observation(snap), "rebalance" if decision.action else "hold",
                                               decision.reason)
            log.info("tick", extra={"vault": name, "block": snap.block, "timestamp": snap.timestamp, **decision.summary()})
            if snap.below_maintenance:
                self._send(r, tick_id, r.client.update_margin_data(), "enter emergency mode")
            elif decision.action and quote is not None:
                self._rebalance(r, snap, decision, tick_id, quote)
            else:
                self._settle_one(r, snap, tick_id)
            self._ok(r, "rebalance" if decision.action else "hold")
            return decision
        except SimulationFailed as exc:
            self.metrics.failed_simulations.labels(name, exc.reason.split("(")[0]).inc()
            self._fail(r, "simulation_failed", exc)
        except ChainUnavailable as exc:
            self._fail(r, "rpc_unavailable", exc)
        except (FeeCapExceeded, InsufficientGasFunds) as exc:
            self._fail(r, type(exc).__name__, exc)
        except NonceTaken as exc:
            self._fail(r, "nonce_taken", exc)
        except TransactionRejected as exc:
            self._fail(r, "tx_rejected", exc)
        except ShuttingDown as exc:
            log.info("tick stopped before signing", extra={"vault": name, "reason": str(exc)})
        except JournalError as exc:
            self._fail(r, "journal_error", exc)
        except Exception as exc:  # garbage from a node, a bug: never crash the loop, never send
            log.exception("tick failed", extra={"vault": name})
            self._fail(r, "error", exc)
        return None

    def _quote(self, r: VaultRunner, snap: Snapshot, decision: TickDecision) -> tuple[TickDecision, int | None]:
        """The pool's quote for the decided trade, and the decision once the loss budget (keeper trades
        only; it needs the quote) is applied: a trade that would overrun it is cut to fit and quoted
        again; what still does not fit is a hold, not a transaction sent to revert."""
        a = decision.action
        assert a is not None
        expected = r.client.expected_quote(a.buy_base, a.size_base_wad)
        # An implausible quote is a fault to count and back off from, not a budget question.
        self._check_bound(r, snap, a, expected)
        fitted, note = fit_loss_budget(snap, a, expected)
        if fitted is a:
            return decision, expected
        if fitted is not None:
            expected = r.client.expected_quote(fitted.buy_base, fitted.size_base_wad)
            self._check_bound(r, snap, fitted, expected)
            loss = loss_at_oracle(fitted.size_base_wad, expected, fitted.buy_base, snap.spot_wad)
            if loss <= snap.check.loss_budget_quote:
                return replace(decision, action=fitted, reason=fitted.reason), expected
            note = f"{note}; cut to {fitted.size_base_wad / 10**18:.6g} base it would still lose {loss / 1e6:,.2f} USD"
        return replace(decision, action=None, reason=f"{decision.reason}; held: {note}"), None

    @staticmethod
    def _check_bound(r: VaultRunner, snap: Snapshot, a: Any, expected: int) -> None:
        """The keeper's limit must be tighter than the contract's bound, never the other way round:
        a quote past the bound is a pool the trade would revert on, or a false answer (with it, the
        limit would silently fall back to the contract's looser bound). The check carries the bound
        for the contract's own target; any other size asks the adapter, as the vault does."""
        if a.target_base_wad == snap.check.target_base_wad and snap.check.limit_quote:
            bound = snap.check.limit_quote
        else:
            fair = r.client.oracle_quote(a.buy_base, a.size_base_wad, snap.spot_wad)
            bound = execution_bound(fair, a.buy_base, snap.execution_tolerance_bps)
        if expected > bound if a.buy_base else expected < bound:
            raise SimulationFailed(f"PoolQuoteOutsideBound(quote={expected}, bound={bound}, buy={a.buy_base})")

    def _rebalance(self, r: VaultRunner, snap: Snapshot, decision: TickDecision, tick_id: int, expected: int) -> None:
        a = decision.action
        assert a is not None
        limit = keeper_limit(expected, a.buy_base, tolerance_bps=20)
        deadline = snap.timestamp + 300
        data = r.client.rebalance_data(a.target_base_wad, limit, deadline, a.expected_nonce)
        if self.dry_run:
            gas = self.sender.simulate(r.client.vault, data)
            log.info("dry run: simulation passed, nothing sent", extra={"vault": r.cfg.name, "gas_limit": gas})
            return
        result = self._send(r, tick_id, data, a.reason, hedge_nonce=a.expected_nonce)
        if result is not None and result.status == "confirmed":
            r.state = r.state.after_rebalance(float(snap.timestamp))
            self.metrics.hedges.labels(r.cfg.name).inc()
            if a.must:
                self.metrics.must_hedges.labels(r.cfg.name).inc()

    def _settle_one(self, r: VaultRunner, snap: Snapshot, tick_id: int) -> None:
        """Settle the oldest expired series, one a tick, when the hedge needs nothing. A settlement
        that cannot happen yet (no price round after expiry) or that the market refuses (e.g. the
        round answers <= 0) is logged and retried later; it never fails the tick or holds up a hedge."""
        if r.settler is None:
            return
        now = time.monotonic()
        due = [s for s in due_series(snap) if r.settle_after.get(s.id, 0.0) <= now]
        if not due:
            return
        series = due[0]
        round_id = r.settler.settlement_round(series.expiry)
        if round_id is None:
            log.info("series expired; waiting for a price round after its expiry",
                     extra={"vault": r.cfg.name, "series": series.id, "expiry": series.expiry})
            return
        try:
            result = self._send(r, tick_id, r.settler.settle_data(series.id, round_id), f"settle series {series.id}",
                                to=r.settler.market)
        except SimulationFailed as exc:
            r.settle_after[series.id] = now + SETTLE_RETRY_S
            self.metrics.failed_simulations.labels(r.cfg.name, exc.reason.split("(")[0]).inc()
            log.warning("settlement refused in simulation; retrying later",
                        extra={"vault": r.cfg.name, "series": series.id, "round": round_id, "reason": exc.reason,
                               "retry_s": SETTLE_RETRY_S})
            return
        if result is not None and result.status == "confirmed":
            self.metrics.settlements.labels(r.cfg.name).inc()

    def _send(self, r: VaultRunner, tick_id: int, data: str, note: str, hedge_nonce: int | None = None,
              to: str | None = None) -> Any:
        to = to or r.client.vault
        if self.dry_run:
            self.sender.simulate(to, data)
            return None
        result = self.sender.send(to=to, data=data, vault=r.cfg.name, tick_id=tick_id,
                                  hedge_nonce=hedge_nonce, note=note, wait=self.wait_for_receipts)
        if result.gas_used and result.effective_gas_price:
            self.metrics.gas_spent.labels(r.cfg.name).inc(result.gas_used * result.effective_gas_price)
        if result.seconds_to_inclusion is not None:
            self.metrics.inclusion.labels(r.cfg.name).observe(result.seconds_to_inclusion)
        log.info("transaction", extra={"vault": r.cfg.name, "hash": result.tx_hash, "status": result.status,
                                       "gas_used": result.gas_used, "replacements": result.replacements})
        return result

    def _recheck_final(self) -> None:
        reopened = recheck_final(self.rpc, self.journal, self.signer.address, self.sender.policy.reorg_window_blocks)
        if reopened:
            self.metrics.reorged.inc(len(reopened))

    def _export(self, name: str, snap: Snapshot) -> None:
        m = self.metrics
        m.net_delta.labels(name).set(snap.net_delta)
        m.dust.labels(name).set(snap.dust)
        m.hard_band.labels(name).set(snap.hard_band)
        m.base_budget_left.labels(name).set(snap.check.base_budget_wad / 10**18)
        m.loss_budget_left.labels(name).set(snap.check.loss_budget_quote / 1e6)
        m.oracle_age.labels(name).set(snap.price_age_s)
        m.margin_ratio.labels(name).set(snap.margin_ratio_bps if snap.margin_ratio_bps is not None else float("inf"))

    def _ok(self, r: VaultRunner, outcome: str) -> None:
        r.failures, r.next_allowed = 0, 0.0
        self.metrics.ticks.labels(r.cfg.name, outcome).inc()
        self.metrics.good_tick()

    def _fail(self, r: VaultRunner, outcome: str, exc: Exception) -> None:
        r.failures += 1
        backoff = min(self.cfg.tick_seconds * 2 ** (r.failures - 1), MAX_BACKOFF_S)
        r.next_allowed = time.monotonic() + backoff
        self.metrics.ticks.labels(r.cfg.name, outcome).inc()
        log.warning("tick failed; nothing sent", extra={"vault": r.cfg.name, "outcome": outcome, "error": str(exc),
                                                        "backoff_s": backoff})


def _observation(s: Snapshot) -> dict[str, Any]:
    return {"block": s.block, "spot": s.spot, "vol": s.vol, "dex_spot": s.dex_spot, "net_delta": s.net_delta,
            "base": s.base_balance, "nav_usd": s.nav_usd, "margin_ratio_bps": s.margin_ratio_bps,
            "hedge_nonce": s.hedge_nonce, "emergency": s.emergency, "oracle_ok": s.oracle_ok,
            "price_age_s": s.price_age_s, "series": len(s.series), "chain_check": s.check.reason,
            "base_budget_left": s.check.base_budget_wad / 10**18, "loss_budget_left_usd": s.check.loss_budget_quote / 1e6}
