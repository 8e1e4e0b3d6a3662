"""PNG charts of a run (matplotlib with the Agg backend, imported only here and only when
called: it is the optional `sim` extra, and `hv --help` must work without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHARTS = ("price_and_hedge.png", "net_delta.png", "nav_per_share.png", "pnl_attribution.png", "trading_cost.png")
COLORS = {"no_keeper": "tab:gray", "fixed_band": "tab:orange", "default": "tab:blue"}


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ChartsUnavailable("matplotlib is not installed (pip install '.[sim]'): charts skipped") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_charts(out: Path, summaries: dict[str, dict[str, Any]]) -> list[Path]:
    """The charts with the arms side by side (one summary per arm, in the order they ran)."""
    plt = _pyplot()
    arms = list(summaries.values())
    paths = []
    draws = (_price_and_hedge, _net_delta, _nav_per_share, _pnl_attribution, _trading_cost)
    for name, draw in zip(CHARTS, draws, strict=True):
        fig = draw(plt, arms)
        path = out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _col(summary: dict[str, Any], key: str) -> list[float]:
    return [row[key] for row in summary["timeline"]]


def _label(s: dict[str, Any]) -> str:
    return str(s["arm"]["label"])


def _color(s: dict[str, Any]) -> str:
    return COLORS.get(s["arm"]["name"], "tab:green")


def _subtitle(s: dict[str, Any]) -> str:
    c = s["config"]
    return f"{c['path']['model']} path, seed {c['seed']}, {c['steps']} steps of {c['step_seconds'] // 60} min"


def _price_and_hedge(plt: Any, arms: list[dict[str, Any]]) -> Any:
    s = arms[-1]
    hours = _col(s, "hours")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1]})
    top.plot(hours, _col(s, "price"), color="tab:blue", label="ETH/USD (oracle, the same in every arm)")
    top.set_ylabel("price (USD per ETH)")
    vol_ax = top.twinx()
    vol_ax.plot(hours, [100 * v for v in _col(s, "vol")], color="tab:gray", lw=1, ls=":", label="implied vol (feed)")
    vol_ax.set_ylabel("implied vol (%)")
    lines = top.get_lines() + vol_ax.get_lines()
    top.legend(lines, [ln.get_label() for ln in lines], loc="best", fontsize=8)
    top.set_title(f"ETH price and the vault's hedge per arm ({_subtitle(s)})")
    bottom.plot(hours, [max(d, 0.0) for d in _col(s, "holders_delta_weth")], color="black", ls="--", lw=1,
                label=f"full-hedge target: option holders' delta, >= 0 ({_label(s)})")
    for a in arms:
        if a["run"]["hedged"]:
            bottom.step(_col(a, "hours"), _col(a, "base_weth"), where="post", color=_color(a),
                        label=f"WETH held: {_label(a)}")
    bottom.set_ylabel("WETH")
    bottom.set_xlabel("time since the first step (hours)")
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
    bottom.grid(alpha=0.3)
    top.grid(alpha=0.3)
    return fig


def _net_delta(plt: Any, arms: list[dict[str, Any]]) -> Any:
    fig, axes = plt.subplots(len(arms), 1, figsize=(10, 3.2 * len(arms)), sharex=True, sharey=True, squeeze=False)
    for ax, s in zip(axes[:, 0], arms, strict=True):
        hours = _col(s, "hours")
        dust, hard = _col(s, "dust_weth"), _col(s, "hard_band_weth")
        band = s["risk"]["band_weth"]
        ax.fill_between(hours, [-d for d in dust], dust, color="tab:green", alpha=0.3, label="the vault's dust")
        if band is not None and s["run"]["hedged"]:
            ax.axhspan(-band, band, color="tab:green", alpha=0.1, label=f"the keeper's band ±{band:g}")
        ax.plot(hours, hard, color="tab:red", ls="--", lw=0.8, label="the vault's hard band (the must path)")
        ax.plot(hours, [-h for h in hard], color="tab:red", ls="--", lw=0.8)
        if s["run"]["hedged"]:
            ax.scatter(hours, _col(s, "net_delta_before_weth"), s=8, color="tab:red", zorder=3,
                       label="at the step's block (before the keeper)")
        ax.step(hours, _col(s, "net_delta_weth"), where="post", color=_color(s),
                label="after the keeper acted" if s["run"]["hedged"] else "net delta (never rebalanced)")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_ylabel("net delta (WETH)")
        ax.set_title(f"{_label(s)}: {s['keeper']['rebalances']} rebalances, std of NAV/share change "
                     f"{s['risk']['nav_per_share_step_std_bps']:.2f} bps", fontsize=9)
        ax.legend(loc="upper left", fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time since the first step (hours)")
    fig.suptitle(f"Vault net delta (base held - option holders' delta) per arm ({_subtitle(arms[-1])})")
    fig.tight_layout()
    return fig


def _nav_per_share(plt: Any, arms: list[dict[str, Any]]) -> Any:
    fig, ax = plt.subplots(figsize=(10, 5))
    for r in arms:
        std = r["risk"]["nav_per_share_step_std_bps"]
        ax.plot(_col(r, "hours"), _col(r, "nav_per_share"), color=_color(r),
                label=f"{_label(r)} (std of step change {std:.2f} bps)")
    ax.axhline(1.0, color="black", lw=0.5, ls=":", label="1.0 = the first deposit's price")
    ax.set_xlabel("time since the first step (hours)")
    ax.set_ylabel("NAV per share (USD per share)")
    ax.set_title(f"NAV per share per arm ({_subtitle(arms[-1])})")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


PNL_PARTS = (("premiums", "premiums earned", "tab:green"), ("payoffs", "option payoffs (settled)", "tab:red"),
             ("mark_change", "change in open options' mark", "tab:orange"),
             ("hedging", "hedging P&L (revaluation + execution)", "tab:blue"),
             ("pool_fees", "pool fees on hedge swaps", "tab:purple"), ("other", "other (rounding, bounties)", "tab:gray"))


def _final_parts(s: dict[str, Any]) -> dict[str, float]:
    pnl = s["pnl"]
    return {"premiums": float(pnl["premiums"]), "payoffs": float(pnl["payoffs"]),
            "mark_change": float(pnl["mark_change"]), "hedging": float(pnl["hedging"]),
            "pool_fees": float(pnl["pool_fees"]),
            "other": float(pnl["bounties"]) + float(pnl["nav_rounding"]) + float(pnl["unexplained"])}


def _pnl_attribution(plt: Any, arms: list[dict[str, Any]]) -> Any:
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    for s in arms:
        left.plot(_col(s, "hours"), [row["pnl"]["total"] for row in s["timeline"]], color=_color(s), lw=2,
                  label=f"{_label(s)}: vault P&L")
        left.plot(_col(s, "hours"), [row["pnl"]["hedging"] + row["pnl"]["pool_fees"] for row in s["timeline"]],
                  color=_color(s), lw=1, ls=":", label=f"{_label(s)}: hedging P&L and pool fees")
    left.axhline(0, color="black", lw=0.5)
    left.set_xlabel("time since the first step (hours)")
    left.set_ylabel("cumulative USD")
    left.set_title("Vault P&L over time (change in NAV net of deposits/withdrawals)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7)
    left.grid(alpha=0.3)
    labels = [label for _, label, _ in PNL_PARTS] + ["= vault P&L", "keeper gas (not in NAV)"]
    width = 0.8 / len(arms)
    for i, s in enumerate(arms):
        final = _final_parts(s)
        values = [final[k] for k, _, _ in PNL_PARTS] + [float(s["pnl"]["pnl"]), -s["keeper"]["gas_usd"]]
        y = [len(labels) - 1 - j - 0.4 + width * (i + 0.5) for j in range(len(labels))]
        right.barh(y, values, height=width, color=_color(s), label=_label(s))
    right.set_yticks(list(range(len(labels)))[::-1], labels, fontsize=8)
    right.axvline(0, color="black", lw=0.5)
    right.set_xlabel("USD over the run")
    closes = all(s["pnl"]["closes"] for s in arms)
    right.set_title("At the end, per arm" + (" (every sum closes exactly)" if closes else " (A SUM DOES NOT CLOSE)"))
    right.legend(fontsize=7, loc="lower right")
    right.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def _trading_cost(plt: Any, arms: list[dict[str, Any]]) -> Any:
    hedged = [s for s in arms if s["run"]["hedged"]] or arms
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [_label(s) for s in hedged]
    bottom = [0.0] * len(hedged)
    for key, label, color in (("pool_fees_usd", "pool fees", "tab:purple"),
                              ("price_impact_usd", "price impact (vs the oracle)", "tab:red"),
                              ("gas_usd", "keeper gas", "lightgray")):
        values = [s["trading_cost"][key] for s in hedged]
        ax.bar(names, values, bottom=bottom, color=color, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, (s, total) in enumerate(zip(hedged, bottom, strict=True)):
        ax.annotate(f"{total:,.0f} USD\n{s['keeper']['rebalances']} rebalances ({s['keeper']['must_path_rebalances']} must)",
                    (x, total), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylabel("USD over the run")
    ax.set_title(f"Trading cost per arm ({_subtitle(arms[-1])})")
    ax.margins(y=0.2)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return fig
