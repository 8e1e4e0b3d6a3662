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
        click.option("--steps", type=int, help="Number of steps (each one block plus the keeper's)."),
        click.option("--compare/--no-compare", default=None,
                     help="Also run the same scenario without the keeper and compare."),
        click.option("--no-keeper", is_flag=True, help="Run without the keeper only (the unhedged vault)."),
        click.option("--rpc", "rpc_url", help="Use this Anvil node instead of starting one."),
        click.option("--port", type=int, help="Port for the Anvil it starts (default: a free one)."),
        click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
                     show_default=True, help="Reports go to OUT/<name>-seed<seed>-<time>/."),
        click.option("--keep-running", is_flag=True, help="Leave Anvil running after the report, until Ctrl-C."),
    )):
        fn = option(fn)
    return fn


def _run(config: str | None, defaults: dict[str, Any], seed: int | None, steps: int | None, compare: bool | None,
         no_keeper: bool, rpc_url: str | None, port: int | None, out_root: Path, keep_running: bool) -> None:
    from keeper.scenario.config import ScenarioError, load
    from keeper.scenario.session import execute

    # SIGTERM unwinds like Ctrl-C: the keeper process and the Anvil this command started are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cfg = load(config, **{**defaults, "seed": seed, "steps": steps})
        if rpc_url is not None:
            from keeper.localchain import check_rpc

            check_rpc(rpc_url)
        execute(cfg, out_root=out_root, rpc_url=rpc_url, port=port, keeper=not no_keeper,
                compare=cfg.compare if compare is None else compare, keep_running=keep_running, console=console)
    except (ScenarioError, ChainError, DeploymentError) as exc:
        raise click.ClickException(str(exc)) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command()
@_options
def demo(**kw: Any) -> None:
    """The main job: start Anvil, deploy, run the market scenario with the real keeper, and
    again without it; print the P&L table and write reports/ (JSON, journal, charts)."""
    _run(None, {"name": "demo", "compare": True}, **kw)


@click.command()
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False), help="scenario TOML file")
@_options
def scenario(config: str, **kw: Any) -> None:
    """Run the market scenario described by a TOML file (see docs/DEMO.md and docs/scenarios/)."""
    _run(config, {}, **kw)
