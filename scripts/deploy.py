"""Deploy the hedging vault's local market stack and record it in deployments/<name>.json.

    brownie run scripts/deploy.py --network hv-anvil
    HV_RPC_URL=http://127.0.0.1:8545 HV_DEPLOYER_KEY=0x... brownie run scripts/deploy.py --network hv-rpc

Environment: HV_DEPLOYMENT_NAME (record name, default: the brownie network id), HV_DEPLOYMENTS
(explicit record path), HV_PRICE_USD, HV_IMPLIED_VOL, HV_POOL_WETH (market parameters),
HV_GOVERNOR, HV_GUARDIAN, HV_KEEPER, HV_LISTER (role holders; default the deployer),
HV_TIMELOCK_DELAY (seconds), and on live networks HV_DEPLOYER_KEY (the deployer's private key;
never put it in a file).
Re-running on the same chain reuses every contract whose code is still there and says so.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from brownie import accounts, network

from scripts.lib.deployment import DeploymentRecord
from scripts.lib.market import MarketParams, deploy_market, feed_price_usd, pool_price_usd
from scripts.lib.vault import Roles, VaultParams, deploy_vault


def _fail(message: str) -> None:
    print(f"deploy: error: {message}", file=sys.stderr)
    sys.exit(2)


def _deployer() -> Any:
    if network.show_active() and network.main.CONFIG.network_type == "development":
        return accounts[0]
    key = os.environ.get("HV_DEPLOYER_KEY")
    if not key:
        _fail("HV_DEPLOYER_KEY is not set: a live network needs the deployer's private key in the environment")
    return accounts.add(key)


def _decimal_env(name: str, default: Decimal) -> Decimal:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        _fail(f"{name}={raw!r} is not a number")
    if value <= 0:
        _fail(f"{name} must be positive, got {raw}")
    return value


def market_params() -> MarketParams:
    defaults = MarketParams()
    return MarketParams(
        price_usd=_decimal_env("HV_PRICE_USD", defaults.price_usd),
        implied_vol=_decimal_env("HV_IMPLIED_VOL", defaults.implied_vol),
        pool_weth=_decimal_env("HV_POOL_WETH", defaults.pool_weth),
    )


def main() -> DeploymentRecord:
    name = os.environ.get("HV_DEPLOYMENT_NAME") or network.show_active()
    params = market_params()
    deployer = _deployer()
    record = DeploymentRecord.open(name)
    record.params["deployer"] = deployer.address

    deploy_market(record, deployer, params)
    deploy_vault(record, deployer, Roles.from_env(deployer.address), VaultParams())

    record.save()
    _report(record)
    return record


def _report(record: DeploymentRecord) -> None:
    print(f"\nDeployment '{record.name}' on chain {record.chain_id} -> {record.path}")
    for key, address in record.contracts.items():
        how = "reused  " if key in record.reused else "deployed"
        print(f"  {how} {key:<16} {address}")
    for extra in ("pool liquidity",):
        if extra in record.reused:
            print(f"  reused   {extra} (already seeded)")
    print(f"  feed price {feed_price_usd(record):.2f} USD, pool price {pool_price_usd(record):.2f} USD")
    print(f"  {len(record.deployed)} deployed, {len(record.reused)} reused")
