"""`hv ui`: serve the depositors' and option buyers' web page for one deployment (docs/UI.md)."""

from __future__ import annotations

import click

from keeper.deployments import DeploymentError, load
from keeper.localchain import ChainError


@click.command()
@click.option("--deployments", "deployment", default="local", show_default=True,
              help="Deployment name or JSON path (deployments/NAME.json).")
@click.option("--port", type=int, default=8550, show_default=True, help="Port to serve the page on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--rpc", "rpc_url", help="Read-only JSON-RPC URL: the page shows the vault before a wallet connects.")
def ui(deployment: str, port: int, host: str, rpc_url: str | None) -> None:
    """Serve the web page: connect a wallet, deposit and withdraw, buy and redeem options, watch the hedge."""
    from keeper.ui_server import UiError, build_site, make_server

    try:
        d = load(deployment)
        site = build_site(d, rpc_url)
        server = make_server(site, host, port)
    except (DeploymentError, ChainError, UiError) as exc:
        raise click.ClickException(str(exc)) from None
    bound_host, bound_port = server.server_address[:2]
    assert isinstance(bound_host, str)  # an AF_INET server: (host, port), never a unix socket's bytes
    reads = f"reads through {rpc_url}" if rpc_url else "reads through the wallet"
    click.echo(f"serving '{d.network}' (chain {d.chain_id}, {reads}) at http://{bound_host}:{bound_port}/ - Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
