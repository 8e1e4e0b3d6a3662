"""Replay a recorded on-chain run (the demo's `steps.jsonl`) through the backtester's decision and
cost model, and compare with what the chain did.

The backtester's claim is that it trades what the keeper trades: same decision function
(keeper.decision.decide), same envelope (keeper/envelope.py), a venue priced like the pool. Here it
is held to a real run: the recorded path (oracle spot and vol, block times), the written book at
each step (its flow of buys and settlements is exogenous to the hedge) and the pool's depth feed a
simulated keeper, whose hedge, envelope state and vol forecast evolve on their own, never read
back from the chain. Per step it decides; the result is compared with the chain's decision and
its measured trading cost (pool fee + price impact against the oracle + gas).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keeper import decision
from keeper.envelope import Envelope, EnvelopeState
from keeper.greeks import SECONDS_PER_YEAR, OptionBook, book_greeks
from keeper.policy import HedgeInputs, HedgePolicy, MarketState, PolicyState
from keeper.sim.backtest import MAX_ROUNDS_PER_STEP, REBALANCE_GAS, venue_loss
from keeper.sim.venue import Venue


@dataclass(frozen=True)
class ReplaySettings:
    envelope: Envelope = Envelope()
    fee_bps: float = 30.0
    gas_price_gwei: float = 10.0
    gas_per_rebalance: float = REBALANCE_GAS
    rate: float = 0.05  # the vault's rateWad (deploy default)
    inclusion_margin_s: float = 60.0
    landing_delay_s: float = 1.0  # the demo mines the keeper's transaction in the next block, 1 s on
    bounty_usd: float = 10.0  # the vault's emergencyBounty: paid out of NAV on the must path (to the keeper)


@dataclass(frozen=True)
class StepOutcome:
    step: int
    phase: str
    chain_traded: bool
    sim_traded: bool
    chain_size: float  # WETH bought (+) or sold (-)
    sim_size: float
    chain_cost_usd: float  # pool fee + price impact + gas
    sim_cost_usd: float
    sim_code: int  # keeper.decision code of the step's first decision
    chain_reason: str | None
    chain_trades: int = 0  # rebalances in the step (the keeper trades again while the max trade cut it short)
    sim_trades: int = 0
    sim_hedge_after: float = 0.0  # WETH the simulated keeper holds after the step
    sim_loss_usd: float = 0.0  # its venue loss in the step (fee + impact: what NAV pays; gas is the keeper's)


@dataclass(frozen=True)
class ReplayResult:
    arm: str
    steps: list[StepOutcome] = field(default_factory=list)

    @property
    def chain_cost(self) -> float:
        return sum(s.chain_cost_usd for s in self.steps)

    @property
    def sim_cost(self) -> float:
        return sum(s.sim_cost_usd for s in self.steps)

    @property
    def mismatches(self) -> list[StepOutcome]:
        return [s for s in self.steps if s.chain_traded != s.sim_traded]

    def summary(self) -> dict[str, Any]:
        return {
            "arm": self.arm, "chain_cost_usd": self.chain_cost, "sim_cost_usd": self.sim_cost,
            "cost_gap": self.sim_cost / self.chain_cost - 1.0 if self.chain_cost else math.nan,
            "chain_rebalances": sum(s.chain_trades for s in self.steps),
            "sim_rebalances": sum(s.sim_trades for s in self.steps),
            "mismatched_steps": [(s.step, s.phase, "chain" if s.chain_traded else "sim") for s in self.mismatches],
        }


def load_rows(report_dir: Path, arm: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (report_dir / "steps.jsonl").read_text().splitlines() if line.strip()]
    mine = [r for r in rows if r["arm"] == arm]
    if not mine:
        raise ValueError(f"no rows for arm {arm!r} in {report_dir / 'steps.jsonl'}")
    if "series_before" not in mine[0]:
        raise ValueError(f"{report_dir / 'steps.jsonl'} has no series_before: a report from before the replay existed")
    return mine


def replay(rows: list[dict[str, Any]], policy: HedgePolicy, settings: ReplaySettings) -> ReplayResult:
    """The simulated keeper on the recorded path, one decision per row (step and closing rounds)."""
    env = settings.envelope
    hedge = float(rows[0]["base_weth_before"])
    est = EnvelopeState.fresh(1, deployed_at_s=float(rows[0]["timestamp"]) - 1.0)
    state = PolicyState()
    out: list[StepOutcome] = []
    for row in rows:
        t0 = float(row.get("decision_timestamp") or row["timestamp"])
        spot, vol = float(row["spot_usd"]), float(row["vol"])
        venue = Venue(settings.fee_bps, float(row["pool_weth_before"]))
        gas_usd = settings.gas_per_rebalance * settings.gas_price_gwei * 1e-9 * spot
        size_total, cost, nav_loss, codes = 0.0, 0.0, 0.0, []
        # The keeper ticks on every block until it holds: a trade the max trade cut short is followed
        # by another one block (landing_delay_s) later, as on chain.
        for k in range(MAX_ROUNDS_PER_STEP):
            now = t0 + k * settings.landing_delay_s
            book = _book(row["series_before"], now)
            greeks = book_greeks(spot, book, vol, settings.rate, hedge_base=hedge)
            market = MarketState(spot=spot, vol=vol, time_s=now, rate=settings.rate,
                                 gas_price_gwei=settings.gas_price_gwei, gas_per_hedge=settings.gas_per_rebalance,
                                 fee_bps=settings.fee_bps)
            state = state.observe(market)
            holders = np.array([-float(greeks.option_delta)])
            inputs = HedgeInputs.from_tick(greeks, market, state)
            plan = decision.decide_modelled(policy, inputs, env, est, holders, now, settings.inclusion_margin_s,
                                            functools.partial(venue_loss, venue, np.array([spot])))
            codes.append(int(plan.code[0]))
            if not plan.trade[0]:
                break
            size = float(plan.target_base[0]) - hedge
            loss = float(venue.loss_usd(abs(size), size > 0, spot))
            cost += loss + gas_usd
            nav_loss += loss
            if plan.check.must[0]:
                nav_loss += settings.bounty_usd * min(abs(size), env.hard_band_base) / env.hard_band_base
            size_total += size
            # The vault stamps the rebalance with the block it lands in, not the snapshot's.
            est = est.after(env, now + settings.landing_delay_s, plan.trade, plan.size_base, np.array([loss]))
            state = state.after_rebalance(now)
            hedge = float(plan.target_base[0])
        chain_cost = float(row["pool_fee_usd"]) + float(row["price_impact_usd"]) + float(row["gas_usd"])
        out.append(StepOutcome(
            int(row["step"]), str(row["phase"]), int(row["rebalances"]) > 0, size_total != 0.0, float(row["size_weth"]),
            size_total, chain_cost, cost, codes[0], row.get("check_reason"), int(row["rebalances"]),
            sum(c in decision.TRADES for c in codes), hedge, nav_loss,
        ))
    return ReplayResult(str(rows[0]["arm"]), out)


def nav_per_share_std_bps(result: ReplayResult, rows: list[dict[str, Any]], unhedged: list[dict[str, Any]]) -> float:
    """The std of the step-to-step NAV-per-share change (bps) the simulated keeper would give, as the
    demo measures it: the unhedged arm's NAV per share (the same book, flow and premiums) plus the
    simulated hedge's P&L at the oracle and its venue losses (gas is the keeper's, not the vault's),
    per share."""
    arm = [(o, r) for o, r in zip(result.steps, rows, strict=True) if o.phase == "step"]
    base = [u for u in unhedged if u["phase"] == "step"]
    if len(arm) != len(base):
        raise ValueError(f"the arm has {len(arm)} steps, the unhedged arm {len(base)}")
    changes, prev_hedge, prev = [], 0.0, None
    for (o, r), u in zip(arm, base, strict=True):
        if prev is not None:
            # Per step, per share: a deposit mints shares at each arm's own NAV per share, so the P&L
            # of the hedge is spread over the shares in issue then, never re-divided after.
            pnl = prev_hedge * (float(r["spot_usd"]) - float(prev["spot_usd"])) - o.sim_loss_usd
            shares = float(u["nav_usd"]) / float(u["nav_per_share"])
            changes.append(float(u["nav_per_share"]) - float(prev["nav_per_share"]) + pnl / shares)
        prev_hedge, prev = o.sim_hedge_after, u
    return float(np.std(changes) * 1e4)


def _book(series: list[list[Any]], now: float) -> OptionBook:
    live = [s for s in series if float(s[3]) > 0.0]
    return OptionBook(
        strikes=np.array([float(s[0]) for s in live]),
        expiries=np.array([max(int(s[1]) - now, 0.0) / SECONDS_PER_YEAR for s in live]),
        is_call=np.array([bool(s[2]) for s in live], dtype=bool),
        quantities=np.array([-float(s[3]) for s in live]),
    )
