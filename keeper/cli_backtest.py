"""`hv backtest`: compare hedge policies on simulated or replayed markets.

Settings come from built-in defaults, then a TOML file (``--config``), then flags — later
wins. Every policy runs on the same paths (common random numbers), so differences between
rows are the policies', not the dice's. The keeper's default policy (``keeper.policy``) is
always one of the rows. Prints the frontier report: each policy's mean hedging cost (USD and %
of the premium) against its hedge-error std, the efficient (non-dominated) policies flagged.
With ``--out DIR`` it also writes a JSON summary and, when matplotlib is installed, two PNG
charts (the frontier, and the hedge-error histogram).

Runs go through :mod:`keeper.sim.sweep`: in this process by default, on Dask with ``--dask``
(a local cluster on 127.0.0.1) or ``--scheduler ADDRESS``; the numbers are the same.

Run without the `hv` entry point as ``python -m keeper.cli_backtest --config FILE``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import keeper.policy
from keeper.envelope import Envelope
from keeper.greeks import SECONDS_PER_YEAR, JumpParams, OptionBook
from keeper.policy import AdaptiveBand, FixedBand, HedgePolicy, TimeInterval, WhalleyWilmott
from keeper.sim.backtest import REBALANCE_GAS, BacktestConfig, BacktestResult
from keeper.sim.replay import parse_price_csv
from keeper.sim.sweep import (
    DEFAULT_CHUNK_PATHS,
    PathSpec,
    ReplaySource,
    SweepCase,
    dask_client,
    efficient_frontier,
    run_sweep,
)

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
        "chunk_paths": DEFAULT_CHUNK_PATHS,  # paths per seeded chunk: part of the seed scheme
        "jumps": {"intensity": 12.0, "mean_log_jump": -0.04, "jump_vol": 0.06},
        "regime": {"vols": [0.5, 1.3], "switch_per_year": [12.0, 36.0]},
        "replay": {"csv": None, "method": "bootstrap", "block_steps": 24.0},
    },
    "book": {"strikes": [2200.0], "days_to_expiry": None, "is_call": [True], "quantities": [-100.0]},
    "costs": {"fee_bps": 30.0, "gas_price_gwei": 20.0, "gas_per_hedge": REBALANCE_GAS, "pool_base_reserve": None,
              "exit": True},
    # The vault's envelope (keeper.envelope.Envelope fields; the deploy defaults unless set here);
    # `enabled = false` is the textbook study with no envelope at all.
    "envelope": {"enabled": True},
    "hedger": {"vol": None, "model": "bs", "vol_halflife_hours": 24.0},
    # Compared against the keeper's default policy, which is always added as its own row.
    "policies": [
        {"kind": "interval", "interval_hours": 1.0, "name": "interval 1h"},
        {"kind": "interval", "interval_hours": 4.0, "name": "interval 4h"},
        {"kind": "interval", "interval_hours": 24.0, "name": "interval 24h"},
        {"kind": "fixed", "half_width_base": 5.0, "name": "fixed-band 5"},
        {"kind": "whalley_wilmott", "risk_aversion": 1e-4, "name": "whalley-wilmott γ=1e-4"},
        {"kind": "whalley_wilmott", "risk_aversion": 1e-3, "name": "whalley-wilmott γ=1e-3"},
        {"kind": "adaptive", "risk_aversion": 1e-3, "horizon_hours": 24.0, "name": "adaptive γ=1e-3"},
    ],
}
DEFAULT_ROW = "default"  # label prefix of the keeper's default policy's row


# ----------------------------------------------------------------------------- settings


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_config(path: Path | None) -> dict[str, Any]:
    """The parsed TOML (empty without a file); a syntax error is a one-line --config error."""
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--config") from None


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
        "chunk_paths": ("market", "chunk_paths"),
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


def build_policies(specs: list[dict[str, Any]], only: tuple[str, ...] = ()) -> list[tuple[str, HedgePolicy]]:
    """``(label, policy)`` per spec of the kinds in ``only`` (all when empty); labels are distinct."""
    policies: list[tuple[str, HedgePolicy]] = []
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
        params = dict(spec)
        try:
            policy = _make_policy(kind, spec)
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(f"{kind}: {exc}", param_hint="policies") from None
        if name:
            policy = dataclasses.replace(policy, name=str(name))  # type: ignore[type-var]
            label = str(name)
        else:
            label = _label(policy.name, params)
        if any(label == other for other, _ in policies):
            raise click.BadParameter(f"two policies are named {label!r}; give each a distinct name", param_hint="policies")
        policies.append((label, policy))
    if not policies:
        raise click.BadParameter("no policy selected", param_hint="--policy")
    return policies


# Short names for a row label (the JSON carries the parameters in full).
_SHORT = {"risk_aversion": "γ", "max_half_width_base": "cap", "rebalance_to": "inner", "half_width_base": "band",
          "min_half_width_base": "floor", "interval_s": "every_s", "horizon_s": "horizon_s"}


def _label(name: str, params: dict[str, Any]) -> str:
    return " ".join([name, *(f"{_SHORT.get(k, k)}={v:g}" if isinstance(v, float) else f"{_SHORT.get(k, k)}={v}"
                             for k, v in params.items())])


def _make_policy(kind: str, spec: dict[str, Any]) -> HedgePolicy:
    if kind == "interval":
        return TimeInterval(interval_s=float(spec.pop("interval_hours")) * 3600.0, **spec)
    if kind == "fixed":
        return FixedBand(**spec)
    if kind == "whalley_wilmott":
        return WhalleyWilmott(**spec)
    horizon = float(spec.pop("horizon_hours", 24.0)) * 3600.0
    return AdaptiveBand(horizon_s=horizon, **spec)


def default_policy() -> tuple[str, HedgePolicy, dict[str, Any]]:
    """The keeper's default policy as read from ``keeper.policy`` now: label, policy, params."""
    name = keeper.policy.DEFAULT_POLICY
    params = dict(keeper.policy.DEFAULT_POLICY_PARAMS.get(name) or {})
    policy = keeper.policy.build_policy(name, keeper.policy.DEFAULT_POLICY_PARAMS.get(name))
    return f"{DEFAULT_ROW} ({_label(name, params)})", policy, params


@dataclass(frozen=True)
class Scenario:
    """Everything one comparison needs, resolved from the settings (paths as a recipe)."""

    label: str
    case: SweepCase
    policies: list[tuple[str, HedgePolicy]]  # the compared policies, the default's row last
    default_label: str
    default_params: dict[str, Any]


def build_scenario(settings: dict[str, Any], only: tuple[str, ...] = (), csv_text: str | None = None) -> Scenario:
    m = settings["market"]
    model = m["model"]
    days, steps, n_paths = float(m["days"]), int(m["steps"]), int(m["paths"])
    t_years = days / 365.0
    spot, vol, drift = float(m["spot"]), float(m["vol"]), float(m["drift"])
    jumps = JumpParams(**{k: float(v) for k, v in m["jumps"].items()})
    spec: dict[str, Any] = {
        "model": model,
        "s0": spot,
        "mu": drift,
        "sigma": vol,
        "t_years": t_years,
        "n_steps": steps,
        "n_paths": n_paths,
        "seed": int(m["seed"]),
        "chunk_paths": m["chunk_paths"],
    }
    if model == "gbm":
        total_vol = vol
    elif model == "merton":
        spec["jumps"] = jumps
        total_vol = math.sqrt(vol**2 + jumps.total_variance_rate)
    elif model == "regime":
        vols = tuple(float(v) for v in m["regime"]["vols"])
        rates = tuple(float(v) for v in m["regime"]["switch_per_year"])
        spec["regime_vols"], spec["regime_switch_per_year"] = vols, rates
        p_hi = rates[0] / sum(rates) if sum(rates) > 0 else 0.0
        total_vol = math.sqrt((1 - p_hi) * vols[0] ** 2 + p_hi * vols[1] ** 2)
    elif model == "replay":
        if csv_text is None:
            raise click.BadParameter(
                "the replay model needs a price CSV (--csv or market.replay.csv)", param_hint="--csv"
            )
        stamps, prices = parse_price_csv(csv_text)
        rp = m["replay"]
        if rp["method"] not in ("bootstrap", "windows"):
            raise click.BadParameter(
                f"market.replay.method must be 'bootstrap' or 'windows', got {rp['method']!r}", param_hint="--config"
            )
        spec["replay"] = ReplaySource(stamps, prices, str(rp["method"]), float(rp["block_steps"]))
        total_vol = spec["replay"].realised_vol(t_years * SECONDS_PER_YEAR / steps)
    else:
        raise click.BadParameter(f"model must be gbm, merton, regime or replay, got {model!r}", param_hint="--model")
    if isinstance(spec["chunk_paths"], bool) or not isinstance(spec["chunk_paths"], int) or spec["chunk_paths"] < 1:
        raise click.BadParameter(
            f"market.chunk_paths must be a positive integer, got {spec['chunk_paths']!r}", param_hint="--chunk-paths"
        )
    paths = PathSpec(**spec)

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
        envelope=envelope_of(settings),
        exit_cost=bool(c["exit"]),
    )
    hedger = f"hedger {'Merton' if hedger_merton else 'BS'} vol {hedger_vol:.4g}"
    label = f"{model}, {n_paths} paths x {steps} steps over {days:g} days, {hedger}"
    policies = build_policies(settings["policies"], only)
    default_label, default, default_params = default_policy()
    policies.append((default_label, default))
    return Scenario(label, SweepCase(label, book, config, paths), policies, default_label, default_params)


def envelope_of(settings: dict[str, Any]) -> Envelope:
    """The [envelope] table as the vault's envelope; a bad field is a one-line error naming it."""
    raw = dict(settings["envelope"])
    if not raw.pop("enabled", True):
        return Envelope.unbounded()
    try:
        return Envelope.from_mapping(raw)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None


def run_scenario(scenario: Scenario, client: Any = None, progress: Any = None) -> list[BacktestResult]:
    """One result per policy of the scenario (named by its label), here or on ``client``'s cluster."""
    return run_sweep([scenario.case], scenario.policies, client=client, progress=progress)[0]


# ----------------------------------------------------------------------------- the frontier report


@dataclass(frozen=True)
class FrontierRow:
    """One policy's point on the cost/risk plane, with the flags the report shows."""

    label: str
    summary: dict[str, float]
    cost_pct_premium: float  # mean hedging cost as % of the premium
    std_cost_over_premium: float  # std of the hedging cost / premium (Hull's performance measure)
    frontier: bool
    default: bool

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary,
            "cost_pct_premium": self.cost_pct_premium,
            "std_cost_over_premium": self.std_cost_over_premium,
            "frontier": self.frontier,
            "default": self.default,
        }


def frontier_rows(results: list[BacktestResult], default_label: str) -> list[FrontierRow]:
    summaries = [r.summary() for r in results]
    on_frontier = efficient_frontier([s["mean_cost"] for s in summaries], [s["std_error"] for s in summaries])
    rows = []
    for res, s, front in zip(results, summaries, on_frontier, strict=True):
        premium = s["premium"]
        rows.append(
            FrontierRow(
                label=res.policy,
                summary=s,
                cost_pct_premium=100.0 * s["mean_cost"] / premium if premium > 0.0 else math.nan,
                std_cost_over_premium=s["std_cost_over_premium"],
                frontier=bool(front),
                default=res.policy == default_label,
            )
        )
    return rows


COLUMNS = (
    ("mean cost", "mean_cost"),
    ("% prem", None),
    ("std error", "std_error"),
    ("std cost/prem", None),
    ("ES95 error", "es95_error"),
    ("trades", "mean_trades"),
    ("trading cost", "mean_trading_cost"),
    ("gas", "mean_gas_cost"),
)


def results_table(rows: list[FrontierRow], title: str) -> Table:
    premium = rows[0].summary["premium"] if rows else math.nan
    table = Table(
        title=title,
        caption=(
            f"USD; premium (prem) {premium:,.0f}; cost = PV of writing and hedging; error = terminal P&L;"
            " means over paths\n● on the frontier: no other policy is both cheaper and less risky;"
            " ★ the keeper's default policy"
        ),
    )
    table.add_column("policy", justify="left", no_wrap=True)
    for header, _ in COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("frontier", justify="center", no_wrap=True)
    for row in sorted(rows, key=lambda r: r.summary["std_error"]):
        s = row.summary
        cells = [f"★ {row.label}" if row.default else row.label]
        for header, key in COLUMNS:
            if header == "% prem":
                cells.append(f"{row.cost_pct_premium:.1f}%")
            elif header == "std cost/prem":
                cells.append(f"{row.std_cost_over_premium:.3f}")
            elif key == "mean_trades":
                cells.append(f"{s[key]:,.1f}")
            elif key is not None:
                cells.append(f"{s[key]:,.0f}")
        cells.append("●" if row.frontier else "")
        table.add_row(*cells, style="bold" if row.default else None)
    return table


def summary_json(rows: list[FrontierRow], scenario: Scenario, engine: str) -> dict[str, Any]:
    return {
        "scenario": scenario.label,
        "engine": engine,
        "seed": scenario.case.paths.seed,
        "chunk_paths": scenario.case.paths.chunk_paths,
        "premium": rows[0].summary["premium"],
        "default_policy": {
            "label": scenario.default_label,
            "name": keeper.policy.DEFAULT_POLICY,
            "params": scenario.default_params,
        },
        "frontier": [r.label for r in sorted(rows, key=lambda r: r.summary["std_error"]) if r.frontier],
        "policies": {r.label: r.as_json() for r in rows},
    }


def write_outputs(
    results: list[BacktestResult],
    rows: list[FrontierRow],
    scenario: Scenario,
    engine: str,
    out_dir: Path,
    charts: bool,
    console: Console,
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summary_json(rows, scenario, engine)
    (out_dir / "backtest_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    written = [out_dir / "backtest_summary.json"]
    if charts:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            console.print("[yellow]matplotlib is not installed: charts skipped[/yellow]")
        else:
            written += _charts(plt, results, rows, scenario.label, out_dir)
    for path in written:
        console.print(f"wrote {path}")


def _charts(plt: Any, results: list[BacktestResult], rows: list[FrontierRow], label: str, out_dir: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(8, 5.5))
    others = [r for r in rows if not r.default]
    ax.scatter(
        [r.summary["std_error"] for r in others],
        [r.summary["mean_cost"] for r in others],
        s=45,
        c=["tab:blue" if r.frontier else "tab:grey" for r in others],
        zorder=3,
    )
    front = sorted((r for r in rows if r.frontier), key=lambda r: r.summary["std_error"])
    ax.plot(
        [r.summary["std_error"] for r in front],
        [r.summary["mean_cost"] for r in front],
        color="tab:blue",
        linewidth=1.5,
        label="efficient frontier",
        zorder=2,
    )
    for row in rows:
        if row.default:
            ax.scatter(
                row.summary["std_error"],
                row.summary["mean_cost"],
                s=220,
                marker="*",
                color="tab:red",
                zorder=4,
                label=f"keeper default: {row.label}",
            )
        ax.annotate(
            row.label,
            (row.summary["std_error"], row.summary["mean_cost"]),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
            color="tab:red" if row.default else "black",
        )
    ax.axhline(rows[0].summary["premium"], color="grey", linestyle="--", linewidth=1, label="model premium")
    ax.set_xlabel("std of hedge error (USD)")
    ax.set_ylabel("mean hedging cost (USD, PV)")
    ax.set_title(f"Cost vs risk: the efficient frontier\n{label}", fontsize=9)
    ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
    fig.tight_layout()
    hist = out_dir / "backtest_pnl_hist.png"
    fig.savefig(hist, dpi=120)
    plt.close(fig)
    return [scatter, hist]


# ----------------------------------------------------------------------------- running


@contextmanager
def _engine(use_dask: bool, scheduler: str | None, workers: int | None) -> Iterator[tuple[Any, str]]:
    """``(client, description)``: no client for an in-process run."""
    if not use_dask:
        yield None, "in-process"
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "--dask needs dask[distributed]: pip install 'hedging-vault-keeper[sim]'"
        ) from None
    n_workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 8))
    where = f"dask scheduler {scheduler}" if scheduler else f"dask local cluster, {n_workers} workers"
    with ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(scheduler, n_workers, timeout_s=30.0 if scheduler else 120.0))
        except (OSError, TimeoutError) as exc:
            hint = f"--scheduler {scheduler}" if scheduler else "--dask"
            raise click.ClickException(f"{hint}: cannot start or reach the Dask cluster: {exc}") from None
        yield client, where


@contextmanager
def _progress_bar(total_hint: str) -> Iterator[Any]:
    """A rich progress bar on stderr (silent when stderr is not a terminal): ``update(done, total)``."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.disable = not bar.console.is_terminal
    with bar:
        task = bar.add_task(total_hint, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
@click.option(
    "--chunk-paths",
    type=click.IntRange(min=1),
    help=f"Paths per seeded chunk (part of the seed scheme; default {DEFAULT_CHUNK_PATHS:,}).",
)
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
@click.option("--dask", "use_dask", is_flag=True, help="Run the sweep on Dask (a local cluster unless --scheduler).")
@click.option("--scheduler", metavar="ADDRESS", help="Run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786).")
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes of the local Dask cluster (implies --dask)."
)
def backtest(
    config_path: Path | None,
    csv_path: Path | None,
    only: tuple[str, ...],
    out_dir: Path | None,
    charts: bool,
    use_dask: bool,
    scheduler: str | None,
    workers: int | None,
    **flags: Any,
) -> None:
    """Backtest hedge policies: cost and hedge-error of writing and delta-hedging a book."""
    config = read_config(config_path)
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
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the local cluster; a --scheduler cluster has its own workers")
    use_dask = use_dask or scheduler is not None or workers is not None
    try:
        scenario = build_scenario(settings, only, csv_text)
        with _engine(use_dask, scheduler, workers) as (client, engine), _progress_bar("backtest") as progress:
            results = run_scenario(scenario, client, progress)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    rows = frontier_rows(results, scenario.default_label)
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table to 80 columns
        console = Console(width=max(console.width, 160))
    console.print(results_table(rows, f"{scenario.label}; {engine}"))
    if out_dir is not None:
        write_outputs(results, rows, scenario, engine, out_dir, charts, console)


if __name__ == "__main__":
    backtest()
