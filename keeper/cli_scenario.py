"""`hv demo` and `hv scenario`: the on-chain market scenario with the real keeper (docs/DEMO.md)."""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from keeper.deployments import DeploymentError
from keeper.localchain import ChainError

# Piped output (CI logs, `| tee`) gets a table wide enough not to wrap its labels.
console = Console() if sys.stdout.isatty() else Console(width=max(shutil.get_terminal_size((110, 24)).columns, 110))


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
        click.option("--seed", type=int, help="Random seed: the same seed gives the same price path and buys."),
        click.option("--seeds", help="Several seeds, e.g. 1,2,3,4,5: each a full session, then a table per seed "
                                     "and overall of the default keeper against the fixed band."),
        click.option("--steps", type=int, help="Number of steps (each one block plus the keeper's)."),
        click.option("--compare/--no-compare", default=None,
                     help="Run every arm (no keeper, fixed band, default keeper) on the same path, or only the default."),
        click.option("--no-keeper", is_flag=True, help="Run without the keeper only (the unhedged vault)."),
        click.option("--sequential", is_flag=True, help="Run the arms one after the other (default: in parallel)."),
        click.option("--rpc", "rpc_url", help="Use this Anvil node instead of starting one."),
        click.option("--port", type=int, help="Port for the Anvil it starts (default: a free one)."),
        click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
                     show_default=True, help="Reports go to OUT/<name>-seed<seed>-<time>/."),
        click.option("--keep-running", is_flag=True, help="Leave Anvil running after the report, until Ctrl-C."),
    )):
        fn = option(fn)
    return fn


def _run(config: str | None, defaults: dict[str, Any], seed: int | None, seeds: str | None, steps: int | None,
         compare: bool | None, no_keeper: bool, sequential: bool, rpc_url: str | None, port: int | None,
         out_root: Path, keep_running: bool) -> None:
    import time

    from keeper.scenario import report
    from keeper.scenario.config import ScenarioError, load
    from keeper.scenario.session import execute

    # SIGTERM unwinds like Ctrl-C: the keeper processes and the Anvils this command started are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        seed_list = _seeds(seeds) if seeds is not None else [seed]
        if seeds is not None and (seed is not None or keep_running or no_keeper or compare is False):
            raise click.UsageError("--seeds runs every arm per seed: not with --seed, --keep-running, --no-keeper "
                                   "or --no-compare")
        t0 = time.monotonic()
        rows = []
        for s in seed_list:
            cfg = load(config, **{**defaults, "seed": s, "steps": steps})
            if rpc_url is not None:
                from keeper.localchain import check_rpc

                check_rpc(rpc_url)
            out = execute(cfg, out_root=out_root, rpc_url=rpc_url, port=port, keeper=not no_keeper,
                          compare=True if seeds is not None else compare, keep_running=keep_running,
                          console=console, parallel=not sequential)
            if seeds is not None:
                rows.append(report.seed_row(cfg.seed, out.summaries))
        if seeds is not None:
            report.seeds_table(rows, console)
            console.print(f"{len(rows)} seeds in {time.monotonic() - t0:.0f}s.")
    except (ScenarioError, ChainError, DeploymentError) as exc:
        raise click.ClickException(str(exc)) from None


def _seeds(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise click.BadParameter(f"expected seeds like 1,2,3, got {text!r}", param_hint="--seeds") from None
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise click.BadParameter(f"expected distinct non-negative seeds like 1,2,3, got {text!r}", param_hint="--seeds")
    return out


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command()
@_options
def demo(**kw: Any) -> None:
    """The main job: three hedging arms on the same path and flow, each on its own Anvil (no
    keeper, the fixed-band keeper, the default keeper); print the table and write reports/."""
    _run(None, {"name": "demo", "compare": True}, **kw)


@click.command()
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False), help="scenario TOML file")
@_options
def scenario(config: str, **kw: Any) -> None:
    """Run the market scenario described by a TOML file (see docs/DEMO.md and docs/scenarios/)."""
    _run(config, {}, **kw)
