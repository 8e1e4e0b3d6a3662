"""One `hv demo` / `hv scenario` session: node and stack, the run(s), the report.

    prepare (Anvil, deploy, fund, snapshot) -> [run without the keeper, revert] -> run with it
    -> attribution and summaries -> reports/<run>/ (JSON, journal, charts) -> terminal table
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from keeper import __version__
from keeper.scenario import report
from keeper.scenario.config import ScenarioConfig
from keeper.scenario.paths import build_path
from keeper.scenario.runner import RunResult, Stack, prepare, run


@dataclass(frozen=True)
class Outcome:
    report_dir: Path
    summaries: dict[str, dict]  # "hedged" / "unhedged" -> summary
    charts: list[Path]
    seconds: float


def execute(cfg: ScenarioConfig, *, out_root: Path, rpc_url: str | None = None, port: int | None = None,
            keeper: bool = True, compare: bool = False, keep_running: bool = False,
            console: Console | None = None) -> Outcome:
    console = console or Console()
    t0 = time.monotonic()
    path = build_path(cfg)  # bad models or CSVs fail here, before any node starts
    # Without the keeper first: the chain then ends at the hedged run's end (for --keep-running).
    modes = ([False] if compare or not keeper else []) + ([True] if keeper else [])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = out_root / f"{cfg.name}-seed{cfg.seed}-{stamp}"
    work = Path(tempfile.mkdtemp(prefix="hv-scenario-"))
    results: dict[bool, RunResult] = {}
    stack: Stack | None = None
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            setup = progress.add_task("Anvil, deploy, fund participants", total=1)
            stack = prepare(cfg, work, rpc_url, port)
            progress.update(setup, completed=1)
            for i, hedged in enumerate(modes):
                if i > 0:
                    stack.blocks.revert(stack.snapshot_id)  # the same funded stack, before the first step
                    stack.snapshot_id = stack.blocks.snapshot()
                label = "steps with the keeper" if hedged else "steps without the keeper"
                task = progress.add_task(label, total=cfg.steps + 1)

                def advance(done: int, total: int, what: str, task: TaskID = task) -> None:
                    progress.update(task, completed=done)

                results[hedged] = run(cfg, stack, hedged, work / ("hedged" if hedged else "unhedged"), progress=advance)
        meta = {"hv_version": __version__, "started_utc": stamp, "rpc_url": stack.url, "chain_id": stack.chain_id,
                "contracts": stack.deployment.contracts, "report_dir": str(report_dir)}
        summaries = {("hedged" if h else "unhedged"): report.summarize(cfg, path, r, meta) for h, r in results.items()}
        if "hedged" in summaries and "unhedged" in summaries:
            summaries["hedged"]["comparison"] = report.compare(summaries["hedged"], summaries["unhedged"])
        charts = _write(report_dir, work, summaries, results, console)
        report.table([summaries[k] for k in ("hedged", "unhedged") if k in summaries], console)
        _footer(console, summaries, report_dir, charts, time.monotonic() - t0)
        if keep_running and stack.node is not None:
            console.print(f"Anvil keeps running at {stack.url} (deployment {report_dir / 'deployment.json'}); Ctrl-C stops it.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return Outcome(report_dir, summaries, charts, time.monotonic() - t0)
    finally:
        if stack is not None:
            stack.close()
        shutil.rmtree(work, ignore_errors=True)


def _write(report_dir: Path, work: Path, summaries: dict[str, dict], results: dict[bool, RunResult],
           console: Console) -> list[Path]:
    from keeper.scenario.charts import ChartsUnavailable, write_charts

    report_dir.mkdir(parents=True, exist_ok=True)
    main = "hedged" if "hedged" in summaries else "unhedged"
    (report_dir / "summary.json").write_text(report.to_json(summaries[main]))
    if main == "hedged" and "unhedged" in summaries:
        (report_dir / "unhedged.json").write_text(report.to_json(summaries["unhedged"]))
    shutil.copy(work / "deployment.json", report_dir / "deployment.json")
    if True in results:
        hedged_dir = work / "hedged"
        from keeper.scenario.keeperproc import copy_sqlite

        copy_sqlite(hedged_dir / "journal.sqlite", report_dir / "journal.sqlite")
        for name in ("keeper.log", "keeper.toml"):
            if (hedged_dir / name).exists():
                shutil.copy(hedged_dir / name, report_dir / name)
    try:
        return write_charts(report_dir, summaries.get("hedged"), summaries.get("unhedged"))
    except ChartsUnavailable as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        return []


def _footer(console: Console, summaries: dict[str, dict], report_dir: Path, charts: list[Path], seconds: float) -> None:
    cmp = summaries.get("hedged", {}).get("comparison")
    if cmp and cmp["variance_ratio"] is not None:
        console.print(f"Hedging cut the variance of NAV-per-share changes to {cmp['variance_ratio']:.1%} of the "
                      f"unhedged run's (std {cmp['nav_per_share_step_std_bps']['hedged']:.2f} vs "
                      f"{cmp['nav_per_share_step_std_bps']['unhedged']:.2f} bps per step), at a trading cost of "
                      f"{-cmp['hedging_cost_usd']:,.2f} USD (fees, impact and gas).")
    console.print(f"Report: {report_dir}/ (summary.json, journal.sqlite, {', '.join(p.name for p in charts) or 'no charts'})")
    console.print(f"Done in {seconds:.0f}s.")
