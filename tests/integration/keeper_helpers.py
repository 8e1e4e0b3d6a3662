"""Helpers shared by the integration tests and their conftest (a module of its own: importing
`conftest` by name clashes with the other test folders' conftest modules)."""

from __future__ import annotations

from pathlib import Path

from keeper.localchain import ANVIL_KEYS
from keeper.localmarket import LocalMarket

KEEPER_KEY = ANVIL_KEYS[1]
SECOND_KEEPER_KEY = ANVIL_KEYS[2]


def write_config(path: Path, urls: list[str], deployment: Path, **keeper: object) -> Path:
    keeper = {"tick_seconds": 1, "bump_after_seconds": 5, "receipt_timeout_seconds": 30, "metrics_port": 0, **keeper}
    extra = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
                      for k, v in keeper.items())
    urls_toml = ", ".join(f'"{u}"' for u in urls)
    path.write_text(f"""
[keeper]
rpc_urls = [{urls_toml}]
journal = "{path.parent / (path.stem + '.sqlite')}"
{extra}

[[vault]]
name = "eth"
deployment = "{deployment}"
""")
    return path


def written_book(market: LocalMarket, accounts: list[str], calls: float = 10.0, puts: float = 0.0) -> None:
    """1M USDC of deposits and a 30-day at-the-money book."""
    market.deposit(accounts[5], 1_000_000)
    expiry = market.now() + 30 * 86_400
    if calls:
        market.buy(accounts[6], market.list_series(3000, expiry, True), calls)
    if puts:
        market.buy(accounts[7], market.list_series(2800, expiry, False), puts)


def metric(service, name: str, **labels: str) -> float:
    """One sample of a keeper service's Prometheus registry (0 before the first increment)."""
    return service.metrics.registry.get_sample_value(name, labels) or 0.0
