"""The arms' summaries (JSON), the per-step record, the terminal tables, the report folder.

    reports/<run>/summary.json        seed, every parameter, the comparison of the arms, and per arm
                                      its results, the exact P&L attribution and a timeline
    reports/<run>/steps.jsonl         one flat JSON object per arm and step: what a backtester replays
    reports/<run>/<arm>/              per keeper arm: journal.sqlite, keeper.log, keeper.toml
    reports/<run>/*.png               the charts, the arms side by side (charts.py)
"""

from __future__ import annotations

import json
import math
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from keeper.scenario.accounting import POOL_FEE, Attribution, as_record, attribute, usd
from keeper.scenario.config import ScenarioConfig
from keeper.scenario.paths import MarketPath
from keeper.scenario.runner import RunResult
from keeper.snapshot import MUST_REASONS, REASONS

WAD = 10**18


def run_band_weth(cfg: ScenarioConfig, r: RunResult) -> float | None:
    """The band a run is measured against: its keeper's fixed band; without a keeper, the
    fixed-band arm's (so the arms' "time outside the band" compare); None when the band moves."""
    settings = r.keeper_settings if r.keeper_settings is not None else cfg.arm("fixed_band").keeper
    return settings.band_weth if settings is not None else None


def summarize(cfg: ScenarioConfig, path: MarketPath, r: RunResult, meta: dict[str, Any]) -> dict[str, Any]:
    attributions = attribute(r.observations, r.logs)
    final = attributions[-1]
    hedged_obs = [o for o in r.observations if o.phase == "hedged"]
    step_obs = [o for o in r.observations if o.phase == "step"]
    # The band the keeper keeps is its policy's (the vault has none of its own, only the dust and the
    # hard band): a fixed band's half-width, else the dust (what any trade is measured against).
    band = run_band_weth(cfg, r)
    arm = cfg.arm(r.arm) if r.arm else None
    settings = r.keeper_settings
    band_wad = int(band * WAD) if band is not None else (hedged_obs[0].dust_wad if hedged_obs else 0)
    outside = [abs(o.net_delta_wad) > band_wad for o in hedged_obs]
    nav_ps = np.array([o.nav_per_share for o in hedged_obs])
    changes = np.diff(nav_ps)
    rebalances = [e for e in r.logs if e["event"] == "Rebalanced"]
    must = [e for e in rebalances if REASONS[int(e["args"]["reason"])] in MUST_REASONS]
    gas = _gas(r)
    fees, impact = -float(final.pool_fees), -float(final.hedge_execution)
    return {
        "arm": {"name": r.arm, "label": arm.label if arm else ("with keeper" if r.hedged else "no keeper"),
                "policy": settings.policy if settings else None,
                "policy_params": settings.effective_params if settings else None},
        "run": {**meta, "hedged": r.hedged, "seed": cfg.seed, "wall_seconds": round(r.wall_seconds, 1),
                "blocks": [r.start.block, r.end.block], "first_step_timestamp": r.t0},
        # What hedging paid to trade, USD (costs positive): the pool's 0.3%, the price impact of the
        # vault's swaps against the oracle (hedge execution), and the keeper's gas (not in NAV).
        "trading_cost": {"pool_fees_usd": fees, "price_impact_usd": impact, "gas_usd": gas["usd"],
                         "total_usd": fees + impact + gas["usd"]},
        "config": cfg.as_record(),
        "path": {"model": cfg.path.model, "start_usd": float(path.price[0]), "end_usd": float(path.price[-1]),
                 "min_usd": float(path.price.min()), "max_usd": float(path.price.max()),
                 "realised_vol": round(path.realised_vol, 4), "implied_vol_mean": round(float(path.vol.mean()), 4)},
        "flow": _flow(r),
        "keeper": {
            "enabled": r.hedged, "policy": settings.policy if settings else None,
            "rebalances": len(rebalances), "transactions": len(r.keeper_txs),
            "failed_transactions": sum(t["status"] == "failed" for t in r.keeper_txs),
            "gas_used": gas["gas_used"], "gas_eth": gas["eth"], "gas_usd": gas["usd"],
            "gas_price_gwei": cfg.market.gas_price_gwei,
            "steps_not_settled": sum(s.keeper_timed_out for s in r.steps),
            "failed_ticks": [f"step {step}: {why}" for step, why in r.keeper_failures],
            "mean_wait_seconds": round(float(np.mean([s.keeper_seconds for s in r.steps])), 3) if r.steps else 0.0,
            "exit_code": r.keeper_exit,
            "traded_weth": sum(abs(int(e["args"]["baseChangeWad"])) for e in rebalances) / WAD,
            # The must path (emergency, or outside the hard band past the grace): to the contract's
            # own target, for a bounty the vault pays the caller (in the P&L's "other").
            "must_path_rebalances": len(must),
            "must_path_by_reason": dict(Counter(REASONS[int(e["args"]["reason"])] for e in must)),
            "bounties_usd": sum(int(e["args"]["bounty"]) for e in rebalances) / 1e6,
            "min_base_budget_left_weth": min((o.base_budget_left_wad for o in hedged_obs), default=0) / WAD,
            "min_loss_budget_left_usd": min((o.loss_budget_left_quote for o in hedged_obs), default=0) / 1e6,
        },
        "risk": {
            "band_weth": band,  # the keeper's fixed band; None when its policy's band moves
            "band_measured_weth": band_wad / WAD,  # what "outside the band" is measured against
            "dust_weth": hedged_obs[0].dust_wad / WAD if hedged_obs else None,
            "hard_band_weth": hedged_obs[0].hard_band_wad / WAD if hedged_obs else None,
            "time_outside_band": sum(outside) / len(outside) if outside else 0.0,
            # Of that, the part no spot hedge can reach: a put-heavy book with the hedge already at zero.
            "time_outside_band_unhedgeable": (sum(o.base_wad == 0 and o.net_delta_wad > band_wad for o in hedged_obs)
                                              / len(hedged_obs)) if hedged_obs else 0.0,
            "time_outside_hard_band": (sum(abs(o.net_delta_wad) > o.hard_band_wad for o in hedged_obs)
                                       / len(hedged_obs)) if hedged_obs else 0.0,
            "steps_outside_band_after_keeper": int(sum(outside)),
            "steps_outside_band_before_keeper": int(sum(abs(o.net_delta_wad) > band_wad for o in step_obs)),
            "max_abs_net_delta_weth": max((abs(o.net_delta_wad) for o in step_obs + hedged_obs), default=0) / WAD,
            "max_abs_net_delta_after_keeper_weth": max((abs(o.net_delta_wad) for o in hedged_obs), default=0) / WAD,
            "nav_per_share_step_std_bps": float(np.std(changes) * 1e4) if changes.size > 1 else 0.0,
            "nav_per_share_step_var": float(np.var(changes)) if changes.size > 1 else 0.0,
            "emergency_steps": int(sum(o.emergency for o in hedged_obs)),
            "min_margin_ratio_bps": min((o.margin_ratio_bps for o in hedged_obs if o.margin_ratio_bps is not None),
                                        default=None),
        },
        "pnl": {**as_record(final), "closes": final.closes,
                "gas_usd_paid_by_keeper_not_in_nav": gas["usd"]},
        "nav": {"start_usd": r.start.total_assets / 1e6, "end_usd": r.end.total_assets / 1e6,
                "peak_usd": max(o.total_assets for o in r.observations) / 1e6},
        "depositors": _depositors(r),
        "timeline": _timeline(band, r, path, attributions),
    }


def _gas(r: RunResult) -> dict[str, Any]:
    spot_at = sorted((o.block, o.spot_wad) for o in r.observations)
    used, wei, usd_total = 0, 0, 0.0
    for t in r.keeper_txs:
        if not t["gas_used"]:
            continue
        cost = t["gas_used"] * t["effective_gas_price"]
        spot = next((s for b, s in reversed(spot_at) if b <= t["block"]), spot_at[0][1])
        used, wei, usd_total = used + t["gas_used"], wei + cost, usd_total + cost / WAD * spot / WAD
    return {"gas_used": used, "eth": wei / WAD, "usd": round(usd_total, 6)}


def _flow(r: RunResult) -> dict[str, Any]:
    buys = [b for s in r.steps for b in s.buys]
    filled = [b for b in buys if b.refused is None]
    return {
        "buy_attempts": len(buys), "buys_filled": len(filled),
        # What the vault or market answered (a pre-flight eth_call on the pending block), by error.
        "refusals": dict(Counter(b.refused for b in buys if b.refused not in (None, "NoSeriesOnSale"))),
        "no_series_on_sale": sum(b.refused == "NoSeriesOnSale" for b in buys),
        "calls_written_weth": round(sum(b.size for b in filled if b.is_call), 2),
        "puts_written_weth": round(sum(b.size for b in filled if not b.is_call), 2),
        "premium_usd": sum(b.premium for b in filled) / 1e6,
        "series_listed": sum(len(s.listed) for s in r.steps),
        "listings_skipped_at_cap": sum(s.listings_skipped for s in r.steps),
        "series_settled": sum(e["event"] == "SeriesSettled" for e in r.logs),
        "redemptions": sum(e["event"] == "OptionRedeemed" for e in r.logs),
        "failed_transactions": [f"step {s.step}: {label}: {reason}" for s in r.steps for label, reason in s.failed_txs],
    }


def _depositors(r: RunResult) -> list[dict[str, Any]]:
    end = r.end
    out = []
    for who in dict.fromkeys(e["args"]["owner"] for e in r.logs if e["event"] == "Deposit"):
        dep = [e["args"] for e in r.logs if e["event"] == "Deposit" and e["args"]["owner"] == who]
        wd = [e["args"] for e in r.logs if e["event"] == "Withdraw" and e["args"]["owner"] == who]
        deposited = sum(int(a["assets"]) for a in dep)
        withdrawn = sum(int(a["assets"]) for a in wd)
        shares = sum(int(a["shares"]) for a in dep) - sum(int(a["shares"]) for a in wd)
        # What the shares left are worth at the final NAV (ERC-4626 conversion with virtual shares).
        left = Fraction(shares * (end.total_assets + 1), end.total_supply + 10**6)
        ret = (withdrawn + left) / deposited - 1 if deposited else Fraction(0)
        out.append({"account": who, "deposited_usd": deposited / 1e6, "withdrawn_usd": withdrawn / 1e6,
                    "shares_left": shares, "value_left_usd": float(left) / 1e6,
                    "return": float(ret), "return_vs_holding_usdc": float(ret)})
    return out


def _timeline(band: float | None, r: RunResult, path: MarketPath, atts: list[Attribution]) -> list[dict[str, Any]]:
    by_block = {a.block: a for a in atts}
    step_obs = {o.step: o for o in r.observations if o.phase == "step"}
    rows = []
    for o in r.observations:
        if o.phase != "hedged":
            continue
        pre = step_obs[o.step]
        a = by_block[o.block]
        rows.append({
            "step": o.step, "hours": (o.timestamp - r.t0) / 3600, "price": o.spot_wad / WAD, "vol": o.vol_wad / WAD,
            "base_weth": o.base_wad / WAD, "holders_delta_weth": o.holders_delta_wad / WAD,
            "net_delta_before_weth": pre.net_delta_wad / WAD, "net_delta_weth": o.net_delta_wad / WAD,
            "band_weth": band, "dust_weth": o.dust_wad / WAD, "hard_band_weth": o.hard_band_wad / WAD,
            "check_reason": o.check_reason, "base_budget_left_weth": o.base_budget_left_wad / WAD,
            "loss_budget_left_usd": o.loss_budget_left_quote / 1e6,
            "nav_usd": o.total_assets / 1e6, "nav_per_share": o.nav_per_share, "live_series": o.live_series,
            "margin_ratio_bps": o.margin_ratio_bps,
            "pnl": {"premiums": float(a.premiums), "payoffs": float(a.payoffs), "mark_change": float(a.mark_change),
                    "hedging": float(a.hedging), "pool_fees": float(a.pool_fees),
                    "other": float(a.bounties + a.unexplained + a.nav_rounding), "total": float(a.pnl),
                    "closes": a.closes},
        })
    return rows


def step_records(r: RunResult) -> list[dict[str, Any]]:
    """One flat row per step of a run (and per closing block): the market the step posted, the pool
    and the vault before and after the keeper, the keeper's decision, and what its trades cost.

    A row covers the step's block ("before": after the oracle update, the arbitrage and the flow)
    up to the head once the keeper is done ("after"). `pool_*_after_keeper` are the reserves right
    after the keeper's last swap (before the arbitrageur's back-run restores the oracle price);
    `pool_*_after` the reserves at the end of the step. Closing rows (phase "close": the last
    settlement, the unwind, the withdrawals) take the previous row's end as their "before".
    """
    rows: list[dict[str, Any]] = []
    obs = r.observations
    rebalances = [e for e in r.logs if e["event"] == "Rebalanced"]
    txs = [t for t in r.keeper_txs if t["gas_used"]]
    for k, post in enumerate(obs):
        if post.phase not in ("hedged", "close"):
            continue
        pre = obs[k - 1]

        def within(block: int | None, pre_block: int = pre.block, post_block: int = post.block) -> bool:
            return block is not None and pre_block < block <= post_block

        rebs = [e["args"] for e, b in ((e, e["block"]) for e in rebalances) if within(b)]
        tx_hashes = [e["tx"] for e in rebalances if within(e["block"])]
        fee = impact = Fraction(0)
        for a in rebs:
            base_change, quote_change, spot = int(a["baseChangeWad"]), int(a["quoteChange"]), int(a["spotWad"])
            f = (-quote_change * Fraction(1, 10**6) * POOL_FEE if base_change > 0
                 else Fraction(-base_change * spot, WAD * WAD) * POOL_FEE)
            fee += f
            impact -= quote_change * Fraction(1, 10**6) + Fraction(base_change * spot, WAD * WAD) + f
        gas_txs = [t for t in txs if within(t["block"])]
        gas_used = sum(t["gas_used"] for t in gas_txs)
        gas_usd = sum(t["gas_used"] * t["effective_gas_price"] / WAD * pre.spot_wad / WAD for t in gas_txs)
        ticks = [t for t in r.keeper_ticks if pre.block <= int(t.get("block") or -1) <= post.block]
        tick = next((t for t in ticks if t.get("decision") == "rebalance"), ticks[-1] if ticks else None)
        after_keeper = next((r.pool_syncs[h] for h in reversed(tx_hashes) if h in r.pool_syncs),
                            (pre.pool_base_wad, pre.pool_quote))
        failure = next((why for step, why in r.keeper_failures if step == post.step), None)
        decision = "none" if not r.hedged else ("failed" if failure and tick is None else
                                                 (tick or {}).get("decision", "unknown"))
        rows.append({
            "arm": r.arm, "step": post.step, "phase": "step" if post.phase == "hedged" else "close",
            "block": pre.block, "block_after": post.block, "timestamp": pre.timestamp,
            "spot_usd": pre.spot_wad / WAD, "vol": pre.vol_wad / WAD,
            "pool_weth_before": pre.pool_base_wad / WAD, "pool_usd_before": pre.pool_quote / 1e6,
            "pool_weth_after_keeper": after_keeper[0] / WAD, "pool_usd_after_keeper": after_keeper[1] / 1e6,
            "pool_weth_after": post.pool_base_wad / WAD, "pool_usd_after": post.pool_quote / 1e6,
            "base_weth_before": pre.base_wad / WAD, "base_weth_after": post.base_wad / WAD,
            "holders_delta_weth_before": pre.holders_delta_wad / WAD, "holders_delta_weth_after": post.holders_delta_wad / WAD,
            "net_delta_weth_before": pre.net_delta_wad / WAD, "net_delta_weth_after": post.net_delta_wad / WAD,
            "check_reason": pre.check_reason,
            "series_before": [list(x) for x in pre.series],
            # The block time the keeper decided on (its trading tick, else its last): a closing round's
            # block comes an interval after the row's "before".
            "decision_timestamp": (tick or {}).get("timestamp"),
            "decision": decision,
            "policy_target_weth": (tick or {}).get("policy_target_base"),
            "sent_target_weth": (tick or {}).get("target_base") if decision == "rebalance" else None,
            "must_path": bool((tick or {}).get("must_path")),
            "reason": (tick or {}).get("reason") if tick else failure,
            "rebalances": len(rebs),
            "must_path_rebalances": sum(REASONS[int(a["reason"])] in MUST_REASONS for a in rebs),
            "size_weth": sum(int(a["baseChangeWad"]) for a in rebs) / WAD,
            "quote_change_usd": sum(int(a["quoteChange"]) for a in rebs) / 1e6,
            "pool_fee_usd": float(fee), "price_impact_usd": float(impact),
            "bounty_usd": sum(int(a["bounty"]) for a in rebs) / 1e6,
            "gas_used": gas_used, "gas_usd": gas_usd,
            "nav_usd": post.total_assets / 1e6, "nav_per_share": post.nav_per_share,
        })
    return rows


def compare(hedged: dict[str, Any], unhedged: dict[str, Any]) -> dict[str, Any]:
    """What one run's hedging bought against another's: NAV-per-share variance, P&L, trading cost."""
    h, u = hedged["risk"]["nav_per_share_step_var"], unhedged["risk"]["nav_per_share_step_var"]
    return {
        "nav_per_share_step_var": {"hedged": h, "unhedged": u},
        "nav_per_share_step_std_bps": {"hedged": hedged["risk"]["nav_per_share_step_std_bps"],
                                       "unhedged": unhedged["risk"]["nav_per_share_step_std_bps"]},
        "variance_ratio": h / u if u > 0 else None,
        "std_reduction": 1 - math.sqrt(h / u) if u > 0 else None,
        "pnl_usd": {"hedged": float(hedged["pnl"]["pnl"]), "unhedged": float(unhedged["pnl"]["pnl"])},
        "max_abs_net_delta_weth": {"hedged": hedged["risk"]["max_abs_net_delta_after_keeper_weth"],
                                   "unhedged": unhedged["risk"]["max_abs_net_delta_after_keeper_weth"]},
        "hedging_cost_usd": -hedged["trading_cost"]["total_usd"],
    }


def compare_arms(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The arms side by side, and the default keeper against the fixed band (when both ran)."""
    out: dict[str, Any] = {"arms": {}}
    base = summaries.get("no_keeper")
    for name, s in summaries.items():
        row = {"label": s["arm"]["label"], "policy": s["arm"]["policy"], "policy_params": s["arm"]["policy_params"],
               "premiums_usd": float(s["pnl"]["premiums"]), "pnl_usd": float(s["pnl"]["pnl"]),
               "trading_cost": s["trading_cost"], "rebalances": s["keeper"]["rebalances"],
               "must_path_rebalances": s["keeper"]["must_path_rebalances"],
               "nav_per_share_step_std_bps": s["risk"]["nav_per_share_step_std_bps"]}
        if base is not None and name != "no_keeper":
            row["vs_no_keeper"] = compare(s, base)
        out["arms"][name] = row
    if "default" in summaries and "fixed_band" in summaries:
        out["default_vs_fixed_band"] = default_vs_fixed(summaries["default"], summaries["fixed_band"])
    return out


def default_vs_fixed(d: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    dc, fc = d["trading_cost"]["total_usd"], f["trading_cost"]["total_usd"]
    ds, fs = d["risk"]["nav_per_share_step_std_bps"], f["risk"]["nav_per_share_step_std_bps"]
    return {"trading_cost_usd": {"default": dc, "fixed_band": fc}, "trading_cost_delta_usd": dc - fc,
            "trading_cost_ratio": dc / fc if fc > 0 else None,
            "nav_per_share_step_std_bps": {"default": ds, "fixed_band": fs},
            "nav_std_ratio": ds / fs if fs > 0 else None,
            "rebalances": {"default": d["keeper"]["rebalances"], "fixed_band": f["keeper"]["rebalances"]}}


# ---------------------------------------------------------------------------- terminal


def table(summaries: list[dict[str, Any]], console: Console) -> None:
    """One column per arm: the P&L attribution (exact, to the cent here; the JSON has every digit),
    what trading cost, and the risk left."""
    title = f"{summaries[0]['config']['name']}: {summaries[0]['config']['steps']} steps of " \
            f"{summaries[0]['config']['step_seconds'] // 60} min, {summaries[0]['path']['model']} path, " \
            f"seed {summaries[0]['run']['seed']}, the same path and flow in every arm"
    t = Table(title=title, caption="USD unless noted. Vault P&L = change in NAV net of deposits and withdrawals; "
                                   "its components are each computed from events and balances. Trading cost = "
                                   "pool fees + price impact against the oracle + keeper gas.")
    t.add_column("")
    for s in summaries:
        t.add_column(s["arm"]["label"], justify="right", overflow="fold")

    def row(label: str, fn: Any) -> None:
        t.add_row(label, *[fn(s) for s in summaries])

    money = lambda key: lambda s: f"{float(s['pnl'][key]):+,.2f}"  # noqa: E731
    cost = lambda key: lambda s: f"{s['trading_cost'][key]:,.2f}" if s["run"]["hedged"] else "-"  # noqa: E731
    row("premiums earned", money("premiums"))
    row("option payoffs (settled)", money("payoffs"))
    row("change in open options' mark", money("mark_change"))
    row("hedging P&L (revaluation + execution)", money("hedging"))
    row("pool fees on hedge swaps", money("pool_fees"))
    row("other (bounties, rounding, unexplained)", lambda s: f"{float(usd_sum(s, 'bounties', 'nav_rounding', 'unexplained')):+,.6f}")
    row("[bold]= vault P&L[/bold]", lambda s: f"[bold]{float(s['pnl']['pnl']):+,.2f}[/bold]")
    row("  components sum exactly to it", lambda s: "yes (gap 0)" if s["pnl"]["closes"] else f"NO (gap {s['pnl']['gap']})")
    row("trading cost: pool fees", cost("pool_fees_usd"))
    row("  + price impact (vs the oracle)", cost("price_impact_usd"))
    row("  + keeper gas (not in NAV)", lambda s: f"{s['keeper']['gas_usd']:,.2f} ({s['keeper']['gas_eth']:.4f} ETH)"
        if s["run"]["hedged"] else "-")
    row("[bold]  = trading cost[/bold]", lambda s: f"[bold]{s['trading_cost']['total_usd']:,.2f}[/bold]"
        if s["run"]["hedged"] else "-")
    row("rebalances (on the must path)", lambda s: f"{s['keeper']['rebalances']} ({s['keeper']['must_path_rebalances']})")
    row("time outside the band (unhedgeable)",
        lambda s: f"{s['risk']['time_outside_band']:.0%} ({s['risk']['time_outside_band_unhedgeable']:.0%}) of "
                  f"{_band_label(s)}")
    row("max |net delta| (WETH)", lambda s: f"{s['risk']['max_abs_net_delta_weth']:,.2f}")
    row("[bold]NAV/share change per step, std (bps)[/bold]",
        lambda s: f"[bold]{s['risk']['nav_per_share_step_std_bps']:.2f}[/bold]")
    row("depositors' return vs holding USDC", lambda s: ", ".join(f"{d['return']:+.3%}" for d in s["depositors"]))
    row("buys filled / attempted", lambda s: f"{s['flow']['buys_filled']} / {s['flow']['buy_attempts']}"
        + (f" ({s['flow']['no_series_on_sale']} none on sale)" if s["flow"]["no_series_on_sale"] else ""))
    row("refused by the vault or market", lambda s: ", ".join(f"{k} {v}" for k, v in s["flow"]["refusals"].items())
        or "none")
    console.print(t)


def seeds_table(rows: list[dict[str, Any]], console: Console) -> None:
    """`hv demo --seeds`: per seed and overall, the default keeper against the fixed band."""
    t = Table(title="default keeper vs fixed band, per seed (trading cost = pool fees + price impact + gas, USD)")
    for name in ("seed", "default policy", "trading cost default", "fixed band", "ratio", "delta",
                 "NAV/share std default (bps)", "fixed band", "ratio", "no keeper", "rebalances default / fixed"):
        t.add_column(name, justify="right" if name != "default policy" else "left")
    for r in rows:
        t.add_row(str(r["seed"]), r["default_policy"], f"{r['cost_default']:,.0f}", f"{r['cost_fixed']:,.0f}",
                  _ratio(r["cost_ratio"]), f"{r['cost_default'] - r['cost_fixed']:+,.0f}", f"{r['std_default']:.2f}",
                  f"{r['std_fixed']:.2f}", _ratio(r["std_ratio"]),
                  f"{r['std_none']:.2f}" if r["std_none"] is not None else "-",
                  f"{r['rebalances_default']} / {r['rebalances_fixed']}")
    o = seeds_overall(rows)
    t.add_section()
    t.add_row("all", "", f"{o['cost_default']:,.0f}", f"{o['cost_fixed']:,.0f}", _ratio(o["cost_ratio"]),
              f"{o['cost_default'] - o['cost_fixed']:+,.0f}", f"{o['std_default']:.2f}", f"{o['std_fixed']:.2f}",
              _ratio(o["std_ratio"]), f"{o['std_none']:.2f}" if o["std_none"] is not None else "-",
              f"{o['rebalances_default']} / {o['rebalances_fixed']}")
    console.print(t)
    console.print("all: trading costs summed over the seeds; NAV/share std is the root mean square of the seeds' "
                  "(the ratio of those), rebalances summed.")


def seed_row(seed: int, summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    d, f, n = summaries["default"], summaries["fixed_band"], summaries.get("no_keeper")
    c = default_vs_fixed(d, f)
    return {"seed": seed, "default_policy": d["arm"]["label"].removeprefix("default: "),
            "cost_default": c["trading_cost_usd"]["default"], "cost_fixed": c["trading_cost_usd"]["fixed_band"],
            "cost_ratio": c["trading_cost_ratio"], "std_default": c["nav_per_share_step_std_bps"]["default"],
            "std_fixed": c["nav_per_share_step_std_bps"]["fixed_band"], "std_ratio": c["nav_std_ratio"],
            "std_none": n["risk"]["nav_per_share_step_std_bps"] if n is not None else None,
            "rebalances_default": c["rebalances"]["default"], "rebalances_fixed": c["rebalances"]["fixed_band"]}


def seeds_overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def rms(key: str) -> float:
        return math.sqrt(sum(r[key] ** 2 for r in rows) / len(rows))

    cd, cf = sum(r["cost_default"] for r in rows), sum(r["cost_fixed"] for r in rows)
    sd, sf = rms("std_default"), rms("std_fixed")
    none = rms("std_none") if all(r["std_none"] is not None for r in rows) else None
    return {"cost_default": cd, "cost_fixed": cf, "cost_ratio": cd / cf if cf > 0 else None,
            "std_default": sd, "std_fixed": sf, "std_ratio": sd / sf if sf > 0 else None, "std_none": none,
            "rebalances_default": sum(r["rebalances_default"] for r in rows),
            "rebalances_fixed": sum(r["rebalances_fixed"] for r in rows)}


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _band_label(s: dict[str, Any]) -> str:
    """The keeper's fixed band, or the vault's dust when the keeper's band moves."""
    band = s["risk"]["band_weth"]
    return f"±{band:g} WETH" if band is not None else f"dust ±{s['risk']['band_measured_weth']:g} WETH"


def usd_sum(s: dict[str, Any], *keys: str) -> float:
    return float(sum(float(s["pnl"][k]) for k in keys))


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, default=_default) + "\n"


def _default(x: Any) -> Any:
    if isinstance(x, (Fraction,)):
        return str(usd(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
