"""`hv`: the command-line entry point.

Each command group lives in its own module and registers here; this file only wires them.
"""

from __future__ import annotations

import click

from keeper import __version__
from keeper.cli_backtest import backtest
from keeper.cli_calibrate import calibrate_cmd
from keeper.cli_keeper import keeper
from keeper.cli_local import deploy, market
from keeper.cli_scenario import demo, scenario
from keeper.cli_ui import ui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hv")
def cli() -> None:
    """Hedging vault: the market scenario (demo), deploy, run the keeper, backtest and calibrate hedge policies, the web page (ui)."""


for command in (demo, scenario, deploy, market, keeper, backtest, calibrate_cmd, ui):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
