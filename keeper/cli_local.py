"""`hv demo`, `hv deploy`, `hv market`: local chains and the deployed market stack."""

from __future__ import annotations

import functools
import os
import time
from typing import Any, Callable

import click
from rich.console import Console
from rich.table import Table
from web3 import Web3

from keeper import deployer
from keeper.deployments import Deployment, DeploymentError, load
from keeper.localchain import ANVIL_KEYS, ChainError, LocalNode, check_rpc
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
@click.option("--rpc", "rpc_url", help="Use this node instead of starting Anvil (local dev keys assumed).")
@click.option("--port", type=int, help="Port for the Anvil it starts (default: a free one).")
@click.option("--keep-running", is_flag=True, help="Leave Anvil running until Ctrl-C.")
@user_errors
def demo(rpc_url: str | None, port: int | None, keep_running: bool) -> None:
    """Start a local Anvil, deploy the market stack and show it."""
    node = None
    if rpc_url is None:
        node = LocalNode(port=port).start()
        rpc_url = node.url
        console.print(f"Anvil running at {rpc_url}")
    try:
        t0 = time.monotonic()
        d = deployer.deploy(rpc_url, "demo", os.environ.get("HV_DEPLOYER_KEY", ANVIL_KEYS[0])).deployment
        console.print(f"Deployed in {time.monotonic() - t0:.1f}s -> {d.path}")
        print_deployment(d, Web3(Web3.HTTPProvider(rpc_url)))
        if node and keep_running:
            console.print("Anvil keeps running; Ctrl-C stops it.")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if node:
            node.stop()


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
