"""One `hv demo` / `hv scenario` session: the arms, their chains, the report.

    build the path -> per arm: Anvil, deploy, fund, snapshot -> one first-step time for all
    -> the arms' runs (in parallel, each on its own chain) -> attribution, summaries, comparison
    -> reports/<run>/ (summary.json, steps.jsonl, journals, charts) -> terminal table

Every arm plays the same path, the same buy attempts, listings and deposits at the same block
timestamps: the differences between arms are the hedging's. With `--rpc` (one node the user
runs) the arms run one after the other on it, each from the funded snapshot (`evm_revert`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from keeper import __version__
from keeper.localchain import LOOPBACK, ChainError, port_in_use
from keeper.scenario import report
from keeper.scenario.config import Arm, ScenarioConfig, ScenarioError
from keeper.scenario.paths import build_path
from keeper.scenario.runner import RunResult, Stack, first_step_time, prepare, run


@dataclass(frozen=True)
class Outcome:
    report_dir: Path
    summaries: dict[str, dict]  # arm name -> summary
    comparison: dict[str, Any]
    charts: list[Path]
    seconds: float


class Cancelled(ScenarioError):
    """Another arm failed, or the session was interrupted: this arm stops at its next step."""


def execute(cfg: ScenarioConfig, *, out_root: Path, rpc_url: str | None = None, port: int | None = None,
            keeper: bool = True, compare: bool | None = None, keep_running: bool = False,
            console: Console | None = None, parallel: bool = True) -> Outcome:
    console = console or Console()
    t0 = time.monotonic()
    path = build_path(cfg)  # bad models or CSVs fail here, before any node starts
    arms = cfg.run_arms(compare, keeper)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = out_root / f"{cfg.name}-seed{cfg.seed}-{stamp}"
    work = Path(tempfile.mkdtemp(prefix="hv-scenario-"))
    stacks: dict[str, Stack] = {}
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            if rpc_url is None:
                results = _separate_chains(cfg, arms, work, port, stacks, progress, parallel)
            else:
                results = _one_chain(cfg, arms, work, rpc_url, stacks, progress)
        main = stacks[arms[-1].name]
        meta = {"hv_version": __version__, "started_utc": stamp, "report_dir": str(report_dir)}
        summaries = {}
        for arm in arms:
            st = stacks[arm.name]
            summaries[arm.name] = report.summarize(cfg, path, results[arm.name], {
                **meta, "rpc_url": st.url, "chain_id": st.chain_id, "contracts": st.deployment.contracts})
        comparison = report.compare_arms(summaries)
        charts = _write(report_dir, work, cfg, meta, summaries, comparison, results, console)
        report.table(list(summaries.values()), console)
        _footer(console, summaries, comparison, report_dir, charts, time.monotonic() - t0)
        if keep_running and main.node is not None:
            for st in stacks.values():
                if st is not main:
                    st.close()
            console.print(f"Anvil keeps running at {main.url} with the {arms[-1].label} arm's chain "
                          f"(deployment {report_dir / 'deployment.json'}); Ctrl-C stops it.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return Outcome(report_dir, summaries, comparison, charts, time.monotonic() - t0)
    finally:
        for st in stacks.values():
            st.close()
        shutil.rmtree(work, ignore_errors=True)


def _separate_chains(cfg: ScenarioConfig, arms: list[Arm], work: Path, port: int | None, stacks: dict[str, Stack],
                     progress: Progress, parallel: bool) -> dict[str, RunResult]:
    """Each arm on its own Anvil: prepared together, started at one first-step time, run in parallel."""
    if port is not None and port_in_use(port):  # before any arm starts its node
        raise ChainError(f"port {port} on {LOOPBACK} is already in use; pick another with --port or omit it")
    setup = progress.add_task(f"Anvil, deploy, fund participants ({len(arms)} chains)", total=len(arms))
    lock = threading.Lock()
    cancel = threading.Event()
    main = arms[-1].name

    def prep(arm: Arm) -> Stack:
        stack = prepare(cfg, work / arm.name, None, port if arm.name == main else None, deploy_lock=lock)
        stacks[arm.name] = stack
        progress.advance(setup)
        return stack

    _all(_pool(parallel, len(arms)), {a.name: (prep, a) for a in arms}, cancel)
    start = max(first_step_time(s, cfg) for s in stacks.values())
    tasks = {a.name: progress.add_task(f"steps: {a.label}", total=cfg.steps + 1) for a in arms}

    def go(arm: Arm) -> RunResult:
        return run(cfg, stacks[arm.name], arm.keeper, work / arm.name / "run", _advance(progress, tasks[arm.name], cancel),
                   t0=start, arm=arm.name)

    return _all(_pool(parallel, len(arms)), {a.name: (go, a) for a in arms}, cancel)


def _one_chain(cfg: ScenarioConfig, arms: list[Arm], work: Path, rpc_url: str, stacks: dict[str, Stack],
               progress: Progress) -> dict[str, RunResult]:
    """The arms one after the other on the user's node, each from the funded snapshot."""
    setup = progress.add_task("deploy, fund participants", total=1)
    stack = prepare(cfg, work / "stack", rpc_url)
    progress.update(setup, completed=1)
    start = first_step_time(stack, cfg)
    results = {}
    for i, arm in enumerate(arms):
        if i > 0:
            stack.blocks.revert(stack.snapshot_id)  # the same funded stack, before the first step
            stack.snapshot_id = stack.blocks.snapshot()
        stacks[arm.name] = stack
        task = progress.add_task(f"steps: {arm.label}", total=cfg.steps + 1)
        results[arm.name] = run(cfg, stack, arm.keeper, work / arm.name / "run",
                                _advance(progress, task, threading.Event()), t0=start, arm=arm.name)
    shutil.copy(work / "stack" / "deployment.json", work / "deployment.json")
    for arm in arms:
        (work / arm.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(work / "stack" / "deployment.json", work / arm.name / "deployment.json")
    return results


def _pool(parallel: bool, n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=n if parallel else 1, thread_name_prefix="arm")


def _all(pool: ThreadPoolExecutor, jobs: dict[str, tuple[Any, Arm]], cancel: threading.Event) -> dict[str, Any]:
    """Run the jobs; the first failure (or Ctrl-C) cancels the others at their next step, and is raised."""
    with pool:
        futures: dict[str, Future] = {name: pool.submit(fn, arm) for name, (fn, arm) in jobs.items()}
        try:
            while True:
                done, pending = wait(futures.values(), timeout=0.2, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed or not pending:
                    break
        except BaseException:
            cancel.set()
            wait(futures.values())
            raise
        if failed:
            cancel.set()
            wait(futures.values())
            real = [f.exception() for f in futures.values()
                    if f.done() and f.exception() is not None and not isinstance(f.exception(), Cancelled)]
            raise (real or [failed[0].exception()])[0]  # type: ignore[misc]
        return {name: f.result() for name, f in futures.items()}


def _advance(progress: Progress, task: TaskID, cancel: threading.Event) -> Any:
    def advance(done: int, total: int, what: str) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled: another arm failed or the session was interrupted")
        progress.update(task, completed=done)

    return advance


def _write(report_dir: Path, work: Path, cfg: ScenarioConfig, meta: dict[str, Any], summaries: dict[str, dict],
           comparison: dict[str, Any], results: dict[str, RunResult], console: Console) -> list[Path]:
    from keeper.scenario.charts import ChartsUnavailable, write_charts
    from keeper.scenario.keeperproc import copy_sqlite

    report_dir.mkdir(parents=True, exist_ok=True)
    main = list(summaries)[-1]
    (report_dir / "summary.json").write_text(report.to_json({
        "run": {**meta, "seed": cfg.seed, "arms": list(summaries), "main_arm": main},
        "config": cfg.as_record(), "comparison": comparison, "arms": summaries}))
    with (report_dir / "steps.jsonl").open("w") as f:
        for r in results.values():
            for row in report.step_records(r):
                f.write(json.dumps(row, default=report._default) + "\n")
    shutil.copy(work / main / "deployment.json", report_dir / "deployment.json")
    for name, r in results.items():
        if not r.hedged:
            continue
        out = report_dir / name
        out.mkdir(exist_ok=True)
        copy_sqlite(r.work_dir / "journal.sqlite", out / "journal.sqlite")
        for file in ("keeper.log", "keeper.toml"):
            if (r.work_dir / file).exists():
                shutil.copy(r.work_dir / file, out / file)
    try:
        return write_charts(report_dir, summaries)
    except ChartsUnavailable as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        return []


def _footer(console: Console, summaries: dict[str, dict], comparison: dict[str, Any], report_dir: Path,
            charts: list[Path], seconds: float) -> None:
    for row in comparison["arms"].values():
        vs = row.get("vs_no_keeper")
        if vs and vs["variance_ratio"] is not None:
            console.print(f"{row['label']}: NAV-per-share variance {vs['variance_ratio']:.1%} of the unhedged vault's "
                          f"(std {vs['nav_per_share_step_std_bps']['hedged']:.2f} vs "
                          f"{vs['nav_per_share_step_std_bps']['unhedged']:.2f} bps per step), trading cost "
                          f"{row['trading_cost']['total_usd']:,.2f} USD.")
    d = comparison.get("default_vs_fixed_band")
    if d:
        ratio = "-" if d["trading_cost_ratio"] is None else f"{d['trading_cost_ratio']:.3f}"
        std_ratio = "-" if d["nav_std_ratio"] is None else f"{d['nav_std_ratio']:.3f}"
        console.print(f"Default vs fixed band: trading cost {d['trading_cost_usd']['default']:,.2f} vs "
                      f"{d['trading_cost_usd']['fixed_band']:,.2f} USD ({d['trading_cost_delta_usd']:+,.2f}, ratio "
                      f"{ratio}); NAV/share std {d['nav_per_share_step_std_bps']['default']:.2f} vs "
                      f"{d['nav_per_share_step_std_bps']['fixed_band']:.2f} bps (ratio {std_ratio}).")
    console.print(f"Report: {report_dir}/ (summary.json, steps.jsonl, "
                  f"{', '.join(p.name for p in charts) or 'no charts'})")
    console.print(f"Done in {seconds:.0f}s.")
