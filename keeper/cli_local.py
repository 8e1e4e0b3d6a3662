"""`hv deploy`, `hv market`: deploy the market stack and show it (`hv demo` is keeper/cli_scenario.py)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from web3 import Web3

from keeper import deployer
from keeper.deployments import Deployment, DeploymentError, load
from keeper.localchain import ChainError, check_rpc
from keeper.market import read_market

console = Console()


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one line and a non-zero exit, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ChainError, DeploymentError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def print_deployment(d: Deployment, w3: Web3) -> None:
    table = Table(title=f"Deployment '{d.network}' (chain {d.chain_id}, block {d.block})")
    table.add_column("contract")
    table.add_column("address")
    for key, address in d.contracts.items():
        table.add_row(key, address)
    console.print(table)
    m = read_market(w3, d)
    console.print(
        f"ETH/USD feed {m.price_feed.answer:,.2f} · implied vol {m.vol_feed.answer:.1%} · "
        f"pool {m.pool_weth:,.2f} WETH / {m.pool_usd:,.2f} USDC = {m.pool_price:,.2f} "
        f"({m.pool_deviation:+.4%} vs feed)"
    )


@click.command()
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of the chain to deploy to.")
@click.option("--name", default="local", show_default=True, help="Deployment name: writes deployments/NAME.json.")
@user_errors
def deploy(rpc_url: str, name: str) -> None:
    """Deploy (or reuse) the stack on an RPC; the deployer key comes from HV_DEPLOYER_KEY."""
    key = os.environ.get("HV_DEPLOYER_KEY")
    if not key:
        raise click.ClickException("HV_DEPLOYER_KEY is not set: export the deployer's private key first")
    d = deployer.deploy(rpc_url, name, key, quiet=False).deployment
    console.print(f"wrote {d.path}")


@click.command()
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL.")
@click.option("--deployments", "deployment", default="local", show_default=True, help="Deployment name or JSON path.")
@user_errors
def market(rpc_url: str, deployment: str) -> None:
    """Show the deployed market: contracts, feeds and pool price."""
    d = load(deployment)
    chain_id = check_rpc(rpc_url)
    if chain_id != d.chain_id:
        raise ChainError(f"{rpc_url} is chain {chain_id} but {d.path} was deployed on chain {d.chain_id}")
    print_deployment(d, Web3(Web3.HTTPProvider(rpc_url)))
