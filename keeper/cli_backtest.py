"""`hv backtest`: compare hedge policies on simulated or replayed markets.

Settings come from built-in defaults, then a TOML file (``--config``), then flags — later
wins. Every policy runs on the same paths (common random numbers), so differences between
rows are the policies', not the dice's. Prints a rich table; with ``--out DIR`` also writes a
JSON summary and, when matplotlib is installed, two PNG charts (cost vs hedge-error std, and
the hedge-error histogram).

Run without the `hv` entry point as ``python -m keeper.cli_backtest --config FILE``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from keeper.greeks import SECONDS_PER_YEAR, JumpParams, OptionBook
from keeper.policy import AdaptiveBand, FixedBand, HedgePolicy, TimeInterval, WhalleyWilmott
from keeper.sim.backtest import BacktestConfig, BacktestResult, run_backtest
from keeper.sim.models import gbm_paths, merton_paths, regime_switching_paths, time_grid
from keeper.sim.replay import parse_price_csv, replay_paths

POLICY_KINDS = ("interval", "fixed", "whalley_wilmott", "adaptive")

DEFAULTS: dict[str, Any] = {
    "market": {
        "model": "gbm",
        "spot": 2000.0,
        "drift": 0.0,
        "vol": 0.8,
        "rate": 0.05,
        "days": 30.0,
        "steps": 720,
        "paths": 10_000,
        "seed": 7,
        "jumps": {"intensity": 12.0, "mean_log_jump": -0.04, "jump_vol": 0.06},
        "regime": {"vols": [0.5, 1.3], "switch_per_year": [12.0, 36.0]},
        "replay": {"csv": None, "method": "bootstrap", "block_steps": 24.0},
    },
    "book": {"strikes": [2200.0], "days_to_expiry": None, "is_call": [True], "quantities": [-100.0]},
    "costs": {"fee_bps": 30.0, "gas_price_gwei": 20.0, "gas_per_hedge": 150_000.0, "pool_base_reserve": None},
    "hedger": {"vol": None, "model": "bs", "vol_halflife_hours": 24.0},
    "policies": [
        {"kind": "interval", "interval_hours": 6.0},
        {"kind": "fixed", "half_width_base": 5.0},
        {"kind": "whalley_wilmott", "risk_aversion": 1e-3},
        {"kind": "adaptive", "risk_aversion": 1e-3, "horizon_hours": 24.0},
    ],
}


# ----------------------------------------------------------------------------- settings


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_settings(config: dict[str, Any] | None = None, flags: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < config (parsed TOML) < flags (``None`` values are ignored)."""
    settings = _merge(DEFAULTS, config or {})
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise click.BadParameter(f"unknown config sections: {', '.join(sorted(unknown))}", param_hint="--config")
    flag_map = {
        "model": ("market", "model"),
        "paths": ("market", "paths"),
        "steps": ("market", "steps"),
        "days": ("market", "days"),
        "spot": ("market", "spot"),
        "vol": ("market", "vol"),
        "rate": ("market", "rate"),
        "drift": ("market", "drift"),
        "seed": ("market", "seed"),
        "csv": ("market", "replay", "csv"),
        "fee_bps": ("costs", "fee_bps"),
        "gas_gwei": ("costs", "gas_price_gwei"),
        "gas_per_hedge": ("costs", "gas_per_hedge"),
        "pool_reserve": ("costs", "pool_base_reserve"),
        "hedger_vol": ("hedger", "vol"),
        "hedger_model": ("hedger", "model"),
    }
    for name, value in (flags or {}).items():
        if value is None or name not in flag_map:
            continue
        node = settings
        *parents, leaf = flag_map[name]
        for part in parents:
            node = node[part]
        node[leaf] = value
    return settings


def build_policies(specs: list[dict[str, Any]], only: tuple[str, ...] = ()) -> list[HedgePolicy]:
    policies: list[HedgePolicy] = []
    for spec in specs:
        spec = dict(spec)
        kind = spec.pop("kind", None)
        if kind not in POLICY_KINDS:
            raise click.BadParameter(
                f"policy kind must be one of {', '.join(POLICY_KINDS)}, got {kind!r}", param_hint="policies"
            )
        if only and kind not in only:
            continue
        name = spec.pop("name", None)
        try:
            policy = _make_policy(kind, spec)
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(f"{kind}: {exc}", param_hint="policies") from None
        if name:
            policy = dataclasses.replace(policy, name=str(name))  # type: ignore[type-var]
        policies.append(policy)
    if not policies:
        raise click.BadParameter("no policy selected", param_hint="--policy")
    return policies


def _make_policy(kind: str, spec: dict[str, Any]) -> HedgePolicy:
    if kind == "interval":
        return TimeInterval(interval_s=float(spec.pop("interval_hours")) * 3600.0, **spec)
    if kind == "fixed":
        return FixedBand(**spec)
    if kind == "whalley_wilmott":
        return WhalleyWilmott(**spec)
    horizon = float(spec.pop("horizon_hours", 24.0)) * 3600.0
    return AdaptiveBand(horizon_s=horizon, **spec)


@dataclass(frozen=True)
class Scenario:
    """Everything one comparison needs, resolved from the settings."""

    label: str
    paths: np.ndarray
    times: np.ndarray
    book: OptionBook
    config: BacktestConfig
    policies: list[HedgePolicy]


def build_scenario(settings: dict[str, Any], only: tuple[str, ...] = (), csv_text: str | None = None) -> Scenario:
    m = settings["market"]
    model = m["model"]
    days, steps, n_paths = float(m["days"]), int(m["steps"]), int(m["paths"])
    t_years = days / 365.0
    rng = np.random.default_rng(int(m["seed"]))
    spot, vol, drift = float(m["spot"]), float(m["vol"]), float(m["drift"])
    jumps = JumpParams(**{k: float(v) for k, v in m["jumps"].items()})
    if model == "gbm":
        paths = gbm_paths(spot, drift, vol, t_years, steps, n_paths, rng)
        total_vol = vol
    elif model == "merton":
        paths = merton_paths(spot, drift, vol, jumps, t_years, steps, n_paths, rng)
        total_vol = math.sqrt(vol**2 + jumps.total_variance_rate)
    elif model == "regime":
        vols = tuple(float(v) for v in m["regime"]["vols"])
        rates = tuple(float(v) for v in m["regime"]["switch_per_year"])
        paths = regime_switching_paths(spot, drift, vols, rates, t_years, steps, n_paths, rng)  # type: ignore[arg-type]
        p_hi = rates[0] / sum(rates) if sum(rates) > 0 else 0.0
        total_vol = math.sqrt((1 - p_hi) * vols[0] ** 2 + p_hi * vols[1] ** 2)
    elif model == "replay":
        if csv_text is None:
            raise click.BadParameter(
                "the replay model needs a price CSV (--csv or market.replay.csv)", param_hint="--csv"
            )
        stamps, prices = parse_price_csv(csv_text)
        dt_s = t_years * SECONDS_PER_YEAR / steps
        rp = m["replay"]
        paths = replay_paths(
            stamps,
            prices,
            dt_s=dt_s,
            n_steps=steps,
            n_paths=n_paths,
            rng=rng,
            s0=spot,
            method=rp["method"],
            mean_block_steps=float(rp["block_steps"]),
        )
        log_ret = np.diff(np.log(paths), axis=1)
        total_vol = float(log_ret.std() * math.sqrt(SECONDS_PER_YEAR / dt_s))
    else:
        raise click.BadParameter(f"model must be gbm, merton, regime or replay, got {model!r}", param_hint="--model")

    b = settings["book"]
    n_opt = len(b["strikes"])
    expiry_days = b["days_to_expiry"] if b["days_to_expiry"] is not None else [days] * n_opt
    book = OptionBook(
        strikes=np.asarray(b["strikes"], dtype=float),
        expiries=np.asarray(expiry_days, dtype=float) / 365.0,
        is_call=np.asarray(b["is_call"], dtype=bool),
        quantities=np.asarray(b["quantities"], dtype=float),
    )
    h, c = settings["hedger"], settings["costs"]
    hedger_merton = h["model"] == "merton"
    if h["model"] not in ("bs", "merton"):
        raise click.BadParameter(
            f"hedger.model must be 'bs' or 'merton', got {h['model']!r}", param_hint="--hedger-model"
        )
    hedger_vol = float(h["vol"]) if h["vol"] is not None else (vol if hedger_merton else total_vol)
    config = BacktestConfig(
        hedger_vol=hedger_vol,
        rate=float(m["rate"]),
        jumps=jumps if hedger_merton else None,
        fee_bps=float(c["fee_bps"]),
        gas_price_gwei=float(c["gas_price_gwei"]),
        gas_per_hedge=float(c["gas_per_hedge"]),
        pool_base_reserve=None if c["pool_base_reserve"] is None else float(c["pool_base_reserve"]),
        vol_halflife_s=float(h["vol_halflife_hours"]) * 3600.0,
    )
    hedger = f"hedger {'Merton' if hedger_merton else 'BS'} vol {hedger_vol:.4g}"
    label = f"{model}, {n_paths} paths x {steps} steps over {days:g} days, {hedger}"
    return Scenario(label, paths, time_grid(t_years, steps), book, config, build_policies(settings["policies"], only))


def run_scenario(scenario: Scenario) -> list[BacktestResult]:
    return [run_backtest(scenario.paths, scenario.times, scenario.book, p, scenario.config) for p in scenario.policies]


# ----------------------------------------------------------------------------- output


COLUMNS = (
    ("policy", None),
    ("mean cost", "mean_cost"),
    ("premium", "premium"),
    ("mean error", "mean_error"),
    ("std error", "std_error"),
    ("ES95 error", "es95_error"),
    ("trades", "mean_trades"),
    ("trading cost", "mean_trading_cost"),
    ("gas", "mean_gas_cost"),
)


def results_table(results: list[BacktestResult], title: str) -> Table:
    table = Table(title=title, caption="USD; cost = PV of writing and hedging; error = terminal P&L; means over paths")
    for header, _ in COLUMNS:
        table.add_column(header, justify="left" if header == "policy" else "right", no_wrap=True)
    for res in results:
        s = res.summary()
        cells = [res.policy]
        for _, key in COLUMNS[1:]:
            value = s[key]
            cells.append(f"{value:,.1f}" if key == "mean_trades" else f"{value:,.0f}")
        table.add_row(*cells)
    return table


def write_outputs(
    results: list[BacktestResult], scenario: Scenario, out_dir: Path, charts: bool, console: Console
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"scenario": scenario.label, "policies": {r.policy: r.summary() for r in results}}
    (out_dir / "backtest_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    written = [out_dir / "backtest_summary.json"]
    if charts:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            console.print("[yellow]matplotlib is not installed: charts skipped[/yellow]")
        else:
            written += _charts(plt, results, scenario.label, out_dir)
    for path in written:
        console.print(f"wrote {path}")


def _charts(plt: Any, results: list[BacktestResult], label: str, out_dir: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(7, 5))
    for res in results:
        s = res.summary()
        ax.scatter(s["std_error"], s["mean_cost"], s=60)
        ax.annotate(res.policy, (s["std_error"], s["mean_cost"]), textcoords="offset points", xytext=(6, 4))
    ax.axhline(results[0].premium, color="grey", linestyle="--", linewidth=1, label="model premium")
    ax.set_xlabel("std of hedge error (USD)")
    ax.set_ylabel("mean hedging cost (USD, PV)")
    ax.set_title(f"Cost vs risk\n{label}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    scatter = out_dir / "backtest_cost_vs_risk.png"
    fig.savefig(scatter, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 5))
    lo = min(float(np.percentile(r.hedge_error, 0.5)) for r in results)
    hi = max(float(np.percentile(r.hedge_error, 99.5)) for r in results)
    bins = np.linspace(lo, hi, 80)
    for res in results:
        ax.hist(res.hedge_error, bins=bins, histtype="step", linewidth=1.5, label=res.policy)
    ax.set_xlabel("hedge error: terminal P&L of the writer (USD)")
    ax.set_ylabel("paths")
    ax.set_title(f"P&L distribution\n{label}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    hist = out_dir / "backtest_pnl_hist.png"
    fig.savefig(hist, dpi=120)
    plt.close(fig)
    return [scatter, hist]


# ----------------------------------------------------------------------------- command


@click.command("backtest")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TOML settings file."
)
@click.option("--model", type=click.Choice(["gbm", "merton", "regime", "replay"]), help="Market model.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="timestamp,price CSV for --model replay.",
)
@click.option(
    "--policy", "only", multiple=True, type=click.Choice(POLICY_KINDS), help="Run only these policy kinds (repeatable)."
)
@click.option("--paths", type=click.IntRange(min=1), help="Number of paths.")
@click.option("--steps", type=click.IntRange(min=1), help="Hedge opportunities (grid steps) per path.")
@click.option("--days", type=click.FloatRange(min=0.0, min_open=True), help="Horizon in days (default book expiry).")
@click.option("--spot", type=click.FloatRange(min=0.0, min_open=True), help="Initial spot, USD.")
@click.option("--vol", type=click.FloatRange(min=0.0), help="Model (diffusion) volatility, annual.")
@click.option("--rate", type=float, help="Continuous interest rate.")
@click.option("--drift", type=float, help="Real-world drift of the spot, annual.")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--fee-bps", type=click.FloatRange(min=0.0), help="Proportional trading cost, bps.")
@click.option("--gas-gwei", type=click.FloatRange(min=0.0), help="Gas price, gwei.")
@click.option("--gas-per-hedge", type=click.FloatRange(min=0.0), help="Gas units per rebalance.")
@click.option("--pool-reserve", type=click.FloatRange(min=0.0, min_open=True), help="Pool base reserve (price impact).")
@click.option("--hedger-vol", type=click.FloatRange(min=0.0, min_open=True), help="Vol the hedger prices with.")
@click.option("--hedger-model", type=click.Choice(["bs", "merton"]), help="The hedger's pricing model.")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Write JSON summary and PNG charts here."
)
@click.option("--charts/--no-charts", default=True, show_default=True, help="PNG charts with --out (needs matplotlib).")
def backtest(
    config_path: Path | None,
    csv_path: Path | None,
    only: tuple[str, ...],
    out_dir: Path | None,
    charts: bool,
    **flags: Any,
) -> None:
    """Backtest hedge policies: cost and hedge-error of writing and delta-hedging a book."""
    config: dict[str, Any] = {}
    if config_path is not None:
        try:
            config = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise click.BadParameter(f"{config_path}: {exc}", param_hint="--config") from None
    if csv_path is not None:
        flags["csv"] = str(csv_path)
    settings = load_settings(config, flags)
    csv_setting = settings["market"]["replay"]["csv"]
    csv_text = None
    if settings["market"]["model"] == "replay" and csv_setting:
        csv_file = Path(csv_setting)
        if not csv_file.is_absolute() and config_path is not None and csv_path is None:
            csv_file = config_path.parent / csv_file
        try:
            csv_text = csv_file.read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {csv_file}: {exc}", param_hint="--csv") from None
    try:
        scenario = build_scenario(settings, only, csv_text)
        results = run_scenario(scenario)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table to 80 columns
        console = Console(width=max(console.width, 130))
    console.print(results_table(results, scenario.label))
    if out_dir is not None:
        write_outputs(results, scenario, out_dir, charts, console)


if __name__ == "__main__":
    backtest()
