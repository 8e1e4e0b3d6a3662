"""The run's summary (JSON), its terminal table, and the report folder.

    reports/<run>/summary.json     seed, every parameter, results, the exact P&L attribution, timeline
    reports/<run>/unhedged.json    the same for the run without the keeper (when compared)
    reports/<run>/journal.sqlite   the keeper's journal (a consistent copy)
    reports/<run>/keeper.log       the keeper's JSON log lines; keeper.toml its generated config
    reports/<run>/*.png            the charts (charts.py)
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

from keeper.scenario.accounting import Attribution, as_record, attribute, usd
from keeper.scenario.config import ScenarioConfig
from keeper.scenario.paths import MarketPath
from keeper.scenario.runner import RunResult
from keeper.snapshot import MUST_REASONS, REASONS

WAD = 10**18


def summarize(cfg: ScenarioConfig, path: MarketPath, r: RunResult, meta: dict[str, Any]) -> dict[str, Any]:
    attributions = attribute(r.observations, r.logs)
    final = attributions[-1]
    hedged_obs = [o for o in r.observations if o.phase == "hedged"]
    step_obs = [o for o in r.observations if o.phase == "step"]
    # The band the keeper keeps is its policy's (the vault has none of its own, only the dust and the
    # hard band): a fixed band's half-width, else the dust (what any trade is measured against).
    band = cfg.keeper_band_weth
    band_wad = int(band * WAD) if band is not None else (hedged_obs[0].dust_wad if hedged_obs else 0)
    outside = [abs(o.net_delta_wad) > band_wad for o in hedged_obs]
    nav_ps = np.array([o.nav_per_share for o in hedged_obs])
    changes = np.diff(nav_ps)
    rebalances = [e for e in r.logs if e["event"] == "Rebalanced"]
    must = [e for e in rebalances if REASONS[int(e["args"]["reason"])] in MUST_REASONS]
    gas = _gas(r)
    return {
        "run": {**meta, "hedged": r.hedged, "seed": cfg.seed, "wall_seconds": round(r.wall_seconds, 1),
                "blocks": [r.start.block, r.end.block], "first_step_timestamp": r.t0},
        "config": cfg.as_record(),
        "path": {"model": cfg.path.model, "start_usd": float(path.price[0]), "end_usd": float(path.price[-1]),
                 "min_usd": float(path.price.min()), "max_usd": float(path.price.max()),
                 "realised_vol": round(path.realised_vol, 4), "implied_vol_mean": round(float(path.vol.mean()), 4)},
        "flow": _flow(r),
        "keeper": {
            "enabled": r.hedged, "policy": cfg.keeper.policy if r.hedged else None,
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
        "timeline": _timeline(cfg, r, path, attributions),
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


def _timeline(cfg: ScenarioConfig, r: RunResult, path: MarketPath, atts: list[Attribution]) -> list[dict[str, Any]]:
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
            "band_weth": cfg.keeper_band_weth, "dust_weth": o.dust_wad / WAD, "hard_band_weth": o.hard_band_wad / WAD,
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


def compare(hedged: dict[str, Any], unhedged: dict[str, Any]) -> dict[str, Any]:
    """What hedging bought: the NAV-per-share variance with and without the keeper, same seed."""
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
        "hedging_cost_usd": float(hedged["pnl"]["pool_fees"]) + float(hedged["pnl"]["hedge_execution"])
        - hedged["keeper"]["gas_usd"],
        "unhedged_timeline": [{"hours": t["hours"], "nav_per_share": t["nav_per_share"],
                               "net_delta_weth": t["net_delta_weth"], "pnl_total": t["pnl"]["total"]}
                              for t in unhedged["timeline"]],
    }


# ---------------------------------------------------------------------------- terminal


def table(summaries: list[dict[str, Any]], console: Console) -> None:
    """One column per run: the P&L attribution (exact, to the cent here; the JSON has every digit)."""
    title = f"{summaries[0]['config']['name']}: {summaries[0]['config']['steps']} steps of " \
            f"{summaries[0]['config']['step_seconds'] // 60} min, {summaries[0]['path']['model']} path, " \
            f"seed {summaries[0]['run']['seed']}"
    t = Table(title=title, caption="USD unless noted. Vault P&L = change in NAV net of deposits and withdrawals; "
                                   "its components are each computed from events and balances.")
    t.add_column("")
    for s in summaries:
        t.add_column("with keeper" if s["run"]["hedged"] else "no keeper", justify="right")

    def row(label: str, fn: Any) -> None:
        t.add_row(label, *[fn(s) for s in summaries])

    money = lambda key: lambda s: f"{float(s['pnl'][key]):+,.2f}"  # noqa: E731
    row("premiums earned", money("premiums"))
    row("option payoffs (settled)", money("payoffs"))
    row("change in open options' mark", money("mark_change"))
    row("hedging P&L (revaluation + execution)", money("hedging"))
    row("pool fees on hedge swaps", money("pool_fees"))
    row("other (bounties, rounding, unexplained)", lambda s: f"{float(usd_sum(s, 'bounties', 'nav_rounding', 'unexplained')):+,.6f}")
    row("[bold]= vault P&L[/bold]", lambda s: f"[bold]{float(s['pnl']['pnl']):+,.2f}[/bold]")
    row("  components sum exactly to it", lambda s: "yes (gap 0)" if s["pnl"]["closes"] else f"NO (gap {s['pnl']['gap']})")
    row("gas paid by the keeper (not in NAV)", lambda s: f"{s['keeper']['gas_usd']:,.2f} ({s['keeper']['gas_eth']:.4f} ETH)"
        if s["run"]["hedged"] else "-")
    row("rebalances (on the must path)", lambda s: f"{s['keeper']['rebalances']} ({s['keeper']['must_path_rebalances']})")
    row(f"time outside the {_band_label(summaries[0])} (unhedgeable)",
        lambda s: f"{s['risk']['time_outside_band']:.0%} ({s['risk']['time_outside_band_unhedgeable']:.0%})")
    row("max |net delta| (WETH)", lambda s: f"{s['risk']['max_abs_net_delta_weth']:,.2f}")
    row("NAV/share change per step, std (bps)", lambda s: f"{s['risk']['nav_per_share_step_std_bps']:.2f}")
    row("depositors' return vs holding USDC", lambda s: ", ".join(f"{d['return']:+.3%}" for d in s["depositors"]))
    row("buys filled / attempted", lambda s: f"{s['flow']['buys_filled']} / {s['flow']['buy_attempts']}"
        + (f" ({s['flow']['no_series_on_sale']} found none on sale)" if s["flow"]["no_series_on_sale"] else ""))
    row("refused by the vault or market", lambda s: ", ".join(f"{k} {v}" for k, v in s["flow"]["refusals"].items())
        or "none")
    console.print(t)


def _band_label(s: dict[str, Any]) -> str:
    """The keeper's fixed band, or the vault's dust when the keeper's band moves."""
    band = s["risk"]["band_weth"]
    return f"±{band:g} WETH band" if band is not None else f"dust ±{s['risk']['band_measured_weth']:g} WETH"


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
