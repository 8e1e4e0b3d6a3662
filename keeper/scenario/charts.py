"""PNG charts of a run (matplotlib with the Agg backend, imported only here and only when
called: it is the optional `sim` extra, and `hv --help` must work without it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHARTS = ("price_and_hedge.png", "net_delta.png", "nav_per_share.png", "pnl_attribution.png")


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


def write_charts(out: Path, hedged: dict[str, Any] | None, unhedged: dict[str, Any] | None) -> list[Path]:
    """The four charts for the main run (the hedged one if there is one), with the other run
    drawn beside it where it adds something."""
    plt = _pyplot()
    main = hedged or unhedged
    assert main is not None
    other = unhedged if hedged is not None else None
    paths = []
    for name, draw in zip(CHARTS, (_price_and_hedge, _net_delta, _nav_per_share, _pnl_attribution), strict=True):
        fig = draw(plt, main, other)
        path = out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _col(summary: dict[str, Any], key: str) -> list[float]:
    return [row[key] for row in summary["timeline"]]


def _label(summary: dict[str, Any]) -> str:
    return "with keeper" if summary["run"]["hedged"] else "no keeper"


def _subtitle(s: dict[str, Any]) -> str:
    c = s["config"]
    return f"{c['path']['model']} path, seed {c['seed']}, {c['steps']} steps of {c['step_seconds'] // 60} min"


def _price_and_hedge(plt: Any, s: dict[str, Any], other: dict[str, Any] | None) -> Any:
    hours = _col(s, "hours")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1]})
    top.plot(hours, _col(s, "price"), color="tab:blue", label="ETH/USD (oracle)")
    top.set_ylabel("price (USD per ETH)")
    vol_ax = top.twinx()
    vol_ax.plot(hours, [100 * v for v in _col(s, "vol")], color="tab:gray", lw=1, ls=":", label="implied vol (feed)")
    vol_ax.set_ylabel("implied vol (%)")
    lines = top.get_lines() + vol_ax.get_lines()
    top.legend(lines, [ln.get_label() for ln in lines], loc="best", fontsize=8)
    top.set_title(f"ETH price and the vault's hedge ({_label(s)}; {_subtitle(s)})")
    bottom.step(hours, _col(s, "base_weth"), where="post", color="tab:green", label="WETH held by the vault (hedge)")
    bottom.plot(hours, [max(d, 0.0) for d in _col(s, "holders_delta_weth")], color="tab:orange", ls="--",
                label="full-hedge target: option holders' delta (long-only, >= 0)")
    bottom.plot(hours, _col(s, "holders_delta_weth"), color="tab:red", lw=0.8, alpha=0.6,
                label="option holders' delta (the vault is short it)")
    bottom.set_ylabel("WETH")
    bottom.set_xlabel("time since the first step (hours)")
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
    bottom.grid(alpha=0.3)
    top.grid(alpha=0.3)
    return fig


def _net_delta(plt: Any, s: dict[str, Any], other: dict[str, Any] | None) -> Any:
    hours = _col(s, "hours")
    dust, hard = _col(s, "dust_weth"), _col(s, "hard_band_weth")
    band = s["risk"]["band_weth"]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.fill_between(hours, [-d for d in dust], dust, color="tab:green", alpha=0.3,
                    label="the vault's dust (nothing due inside)")
    if band is not None:
        ax.axhspan(-band, band, color="tab:green", alpha=0.1, label=f"the keeper's band ±{band:g} (its policy holds inside)")
    ax.plot(hours, hard, color="tab:red", ls="--", lw=0.8,
            label="the vault's hard band (outside past the grace: the must path)")
    ax.plot(hours, [-h for h in hard], color="tab:red", ls="--", lw=0.8)
    if other is not None:
        ax.plot(_col(other, "hours"), _col(other, "net_delta_weth"), color="tab:gray", lw=1,
                label="no keeper: net delta")
    ax.scatter(hours, _col(s, "net_delta_before_weth"), s=10, color="tab:red", zorder=3,
               label=f"{_label(s)}: net delta at the step's block (before the keeper)")
    ax.step(hours, _col(s, "net_delta_weth"), where="post", color="tab:blue",
            label=f"{_label(s)}: net delta after the keeper acted")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("time since the first step (hours)")
    ax.set_ylabel("net delta (WETH): base held - option holders' delta")
    ax.set_title(f"Vault net delta, the keeper's band and the vault's limits ({_subtitle(s)})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _nav_per_share(plt: Any, s: dict[str, Any], other: dict[str, Any] | None) -> Any:
    fig, ax = plt.subplots(figsize=(10, 5))
    runs = [s] + ([other] if other is not None else [])
    colors = {"with keeper": "tab:blue", "no keeper": "tab:gray"}
    for r in runs:
        std = r["risk"]["nav_per_share_step_std_bps"]
        ax.plot(_col(r, "hours"), _col(r, "nav_per_share"), color=colors[_label(r)],
                label=f"{_label(r)} (std of step change {std:.2f} bps)")
    ax.axhline(1.0, color="black", lw=0.5, ls=":", label="1.0 = the first deposit's price")
    ax.set_xlabel("time since the first step (hours)")
    ax.set_ylabel("NAV per share (USD per share)")
    ax.set_title(f"NAV per share ({_subtitle(s)})")
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.legend(loc="best", fontsize=9)
    ax.grid(alpha=0.3)
    return fig


PNL_PARTS = (("premiums", "premiums earned", "tab:green"), ("payoffs", "option payoffs (settled)", "tab:red"),
             ("mark_change", "change in open options' mark", "tab:orange"),
             ("hedging", "hedging P&L (revaluation + execution)", "tab:blue"),
             ("pool_fees", "pool fees on hedge swaps", "tab:purple"), ("other", "other (rounding, bounties)", "tab:gray"))


def _pnl_attribution(plt: Any, s: dict[str, Any], other: dict[str, Any] | None) -> Any:
    hours = _col(s, "hours")
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    for key, label, color in PNL_PARTS:
        left.plot(hours, [row["pnl"][key] for row in s["timeline"]], color=color, label=label)
    left.plot(hours, [row["pnl"]["total"] for row in s["timeline"]], color="black", lw=2,
              label="vault P&L = change in NAV net of deposits/withdrawals")
    left.axhline(0, color="black", lw=0.5)
    left.set_xlabel("time since the first step (hours)")
    left.set_ylabel("cumulative USD")
    left.set_title(f"P&L attribution over time ({_label(s)})")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)
    left.grid(alpha=0.3)
    pnl = s["pnl"]
    final = {"premiums": float(pnl["premiums"]), "payoffs": float(pnl["payoffs"]),
             "mark_change": float(pnl["mark_change"]), "hedging": float(pnl["hedging"]),
             "pool_fees": float(pnl["pool_fees"]),
             "other": float(pnl["bounties"]) + float(pnl["nav_rounding"]) + float(pnl["unexplained"])}
    labels = [label for _, label, _ in PNL_PARTS] + ["= vault P&L", "keeper gas (not in NAV)"]
    values = [final[k] for k, _, _ in PNL_PARTS] + [float(pnl["pnl"]), -s["keeper"]["gas_usd"]]
    colors = [c for _, _, c in PNL_PARTS] + ["black", "lightgray"]
    y = list(range(len(labels)))[::-1]
    right.barh(y, values, color=colors)
    for yi, v in zip(y, values, strict=True):
        right.annotate(f"{v:+,.0f}", (v, yi), xytext=(4 if v >= 0 else -4, 0), textcoords="offset points",
                       ha="left" if v >= 0 else "right", va="center", fontsize=8)
    right.set_yticks(y, labels, fontsize=8)
    right.axvline(0, color="black", lw=0.5)
    right.set_xlabel("USD over the run")
    closes = "sum closes exactly" if pnl["closes"] else f"gap {pnl['gap']}"
    right.set_title(f"At the end ({closes})")
    right.margins(x=0.25)
    right.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig
