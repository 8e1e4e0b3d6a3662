"""`hv keeper run | once | status`."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from keeper import logs
from keeper.chain import ChainUnavailable
from keeper.config import ConfigError, load
from keeper.deployments import DeploymentError
from keeper.journal import JournalError

console = Console()
USER_ERRORS = (ConfigError, DeploymentError, JournalError, ChainUnavailable)


def _service(config: str, dry_run: bool | None):
    from keeper.service import KeeperService

    cfg = load(config)
    logs.setup(cfg.log_level)
    return KeeperService(cfg, dry_run=dry_run)


@click.group()
def keeper() -> None:
    """Run the hedging keeper (see docs/KEEPER.md)."""


@keeper.command()
@click.option("--config", "config", required=True, type=click.Path(), help="keeper TOML file")
@click.option("--dry-run", is_flag=True, default=None, help="decide and simulate, never send")
def run(config: str, dry_run: bool | None) -> None:
    """Run until SIGTERM: interval and new-block ticks, metrics and /healthz."""
    try:
        _service(config, dry_run).run()
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None


@keeper.command()
@click.option("--config", "config", required=True, type=click.Path(), help="keeper TOML file")
@click.option("--dry-run", is_flag=True, default=None, help="decide and simulate, never send")
def once(config: str, dry_run: bool | None) -> None:
    """One tick for every vault, then exit (non-zero if a tick failed)."""
    try:
        service = _service(config, dry_run)
        service.startup()
        results = service.tick_all()
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    if any(r is None for r in results):
        raise click.ClickException("a tick failed; see the log line above")


@keeper.command()
@click.option("--config", "config", required=True, type=click.Path(), help="keeper TOML file")
@click.option("--last", default=8, show_default=True, help="decisions to show per vault")
def status(config: str, last: int) -> None:
    """The book's Greeks, the vault's envelope (dust, hard band, budgets) and the last decisions, as tables."""
    from keeper.policy import policy_param_names
    from keeper.tick import price_book

    try:
        service = _service(config, dry_run=True)
        for r in service.runners:
            snap = r.client.snapshot()  # checked: a garbage reply is a clean ChainUnavailable
            c = snap.check
            g = price_book(snap, r.ctx.jumps) if snap.oracle_ok else None
            t = Table(title=f"vault {r.cfg.name} at block {snap.block}")
            t.add_column("quantity")
            t.add_column("value", justify="right")
            rows = [
                ("spot (oracle / pool)", f"{snap.spot:,.2f} / {snap.dex_spot:,.2f}"),
                ("implied vol", f"{snap.vol:.1%}"),
                ("NAV", f"{snap.nav_usd:,.2f} USD"),
                ("base held", f"{snap.base_balance:,.4f}"),
                ("net delta (chain)", f"{snap.net_delta:+,.4f}"),
                ("keeper policy", f"{r.cfg.policy}: " + ", ".join(
                    f"{k}={getattr(r.ctx.policy, k):g}" for k in policy_param_names(r.cfg.policy))),
                ("dust / hard band", f"±{snap.dust:,.4f} / ±{snap.hard_band:,.4f}"),
                ("budget left (window)", f"{c.base_budget_wad / 1e18:,.4f} of {snap.max_base_traded:,.4f} base, "
                                         f"{c.loss_budget_quote / 1e6:,.2f} of {snap.max_loss_usd:,.2f} USD loss "
                                         f"({snap.budget_window_s / 3600:g} h)"),
                ("margin ratio", "n/a (nothing written)" if snap.margin_ratio_bps is None else f"{snap.margin_ratio_bps / 100:.2f}%"),
                ("oracle age", f"{snap.price_age_s}s" + ("" if snap.oracle_ok else " (FAILING CHECKS)")),
                ("emergency / paused", f"{snap.emergency} / {snap.paused}"),
                ("vault check", f"{c.reason}: {c.words}" + (f"; its target {c.target_base_wad / 1e18:,.4f} base"
                                                                      if c.size_base_wad else "")),
            ]
            if g is not None:
                rows += [
                    ("net delta (keeper)", f"{float(g.net_delta):+,.4f}"),
                    ("gamma", f"{float(g.gamma):+.6f} /USD"),
                    ("vega", f"{float(g.vega_usd):+,.2f} USD/vol"),
                    ("theta", f"{float(g.theta_usd_per_day):+,.2f} USD/day"),
                ]
            for row in rows:
                t.add_row(*row)
            console.print(t)
            d = Table(title="last decisions")
            for col in ("time", "block", "decision", "reason"):
                d.add_column(col)
            for tick in service.journal.recent_ticks(r.cfg.name, last):
                d.add_row(f"{tick['ts']:.0f}", str(tick["block"]), tick["decision"], tick["reason"])
            console.print(d)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
