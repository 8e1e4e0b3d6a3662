"""Deploy step for the vault contracts: adapter, option market, vault, timelock, lens.

Setup order matters for roles: the deployer holds the admin roles only long enough to wire the
contracts and grant the operational roles, then hands admin to the timelock and renounces.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from brownie import HedgeTimelock, HedgeVault, OptionMarket, ParamsLogic, RebalanceLogic, UniswapV2Adapter, VaultLens

from scripts.lib.artifacts import deploy_project, project_at
from scripts.lib.deployment import DeploymentRecord

ZERO = "0x0000000000000000000000000000000000000000"
USD = 10**6
WAD = 10**18


@dataclass(frozen=True)
class VaultParams:
    """Defaults sized for the local market (a 1,000 WETH pool); every value is bounded on chain."""

    hedge: dict[str, int] = field(default_factory=lambda: {
        "dustDeltaWad": WAD // 10, "hardBandWad": 5 * WAD, "minRebalanceIntervalSeconds": 300,
        "mustGraceSeconds": 3_600, "executionToleranceBps": 50, "maxOracleDeviationBps": 100,
    })
    budget: dict[str, int] = field(default_factory=lambda: {
        "windowSeconds": 86_400, "maxTradeBaseWad": 5 * WAD, "maxBaseTradedWad": 200 * WAD,
        "maxExecutionLossQuote": 2_000 * USD,
    })
    risk: dict[str, int] = field(default_factory=lambda: {
        "initialMarginBps": 2_000, "maintenanceMarginBps": 1_000, "recoveryMarginBps": 1_500,
        "stressBps": 2_000, "maxResidualDeltaWad": 20 * WAD,
    })
    oracle: dict[str, int] = field(default_factory=lambda: {
        "priceHeartbeatSeconds": 3_600, "volHeartbeatSeconds": 86_400, "sequencerGraceSeconds": 3_600,
        "minPriceWad": 1 * WAD, "maxPriceWad": 10**6 * WAD, "minVolWad": 5 * WAD // 100, "maxVolWad": 3 * WAD,
    })
    market: dict[str, int] = field(default_factory=lambda: {
        "spreadBps": 200, "maxLiveSeries": 8, "minStrikeBps": 5_000, "maxStrikeBps": 20_000,
        "minExpirySeconds": 3_600, "maxExpirySeconds": 90 * 86_400, "minTimeToBuySeconds": 600,
        "rateWad": 5 * WAD // 100, "minBuyWad": WAD // 100,
    })
    deposit_cap: int = 10_000_000 * USD
    emergency_bounty: int = 10 * USD
    timelock_delay: int = 86_400

    def struct(self, name: str, order: tuple[str, ...]) -> tuple[int, ...]:
        values = getattr(self, name)
        return tuple(values[k] for k in order)


HEDGE_ORDER = ("dustDeltaWad", "hardBandWad", "minRebalanceIntervalSeconds", "mustGraceSeconds", "executionToleranceBps",
               "maxOracleDeviationBps")
BUDGET_ORDER = ("windowSeconds", "maxTradeBaseWad", "maxBaseTradedWad", "maxExecutionLossQuote")
RISK_ORDER = ("initialMarginBps", "maintenanceMarginBps", "recoveryMarginBps", "stressBps", "maxResidualDeltaWad")
ORACLE_ORDER = ("priceHeartbeatSeconds", "volHeartbeatSeconds", "sequencerGraceSeconds", "minPriceWad", "maxPriceWad", "minVolWad", "maxVolWad")
MARKET_ORDER = ("spreadBps", "maxLiveSeries", "minStrikeBps", "maxStrikeBps", "minExpirySeconds", "maxExpirySeconds",
                "minTimeToBuySeconds", "rateWad", "minBuyWad")


@dataclass(frozen=True)
class Roles:
    governor: str  # proposes and executes on the timelock
    guardian: str  # may pause
    keeper: str  # may rebalance
    lister: str  # may list series within bounds

    @classmethod
    def from_env(cls, default: str) -> "Roles":
        return cls(
            governor=os.environ.get("HV_GOVERNOR", default),
            guardian=os.environ.get("HV_GUARDIAN", default),
            keeper=os.environ.get("HV_KEEPER", default),
            lister=os.environ.get("HV_LISTER", default),
        )


def vault_constructor_args(params: VaultParams) -> tuple:
    """HedgeVault's constructor arguments after the wiring."""
    return (params.struct("hedge", HEDGE_ORDER), params.struct("budget", BUDGET_ORDER), params.struct("risk", RISK_ORDER),
            params.struct("oracle", ORACLE_ORDER), params.deposit_cap, params.emergency_bounty)


def deploy_vault(record: DeploymentRecord, deployer: Any, roles: Roles, params: VaultParams) -> None:
    c = record.contracts
    delay = int(os.environ.get("HV_TIMELOCK_DELAY", params.timelock_delay))
    timelock = record.step(
        "timelock", lambda: deploy_project(HedgeTimelock, deployer, delay, [roles.governor], [roles.governor], ZERO)
    )
    adapter = record.step(
        "swap_adapter", lambda: deploy_project(UniswapV2Adapter, deployer, c["weth_usd_pair"], c["weth"], c["usd"], 6)
    )
    market = record.step(
        "option_market",
        lambda: deploy_project(
            OptionMarket, deployer, deployer.address, timelock, roles.lister, c["usd"], 6,
            params.struct("market", MARKET_ORDER),
        ),
    )
    wiring = (c["usd"], c["weth"], market, adapter, c["price_feed"], c["vol_feed"], ZERO,
              deployer.address, timelock, roles.guardian)
    # The vault's linked libraries (its hedging and governance halves): stateless, reused as they are.
    libraries = {
        "RebalanceLogic": record.step("rebalance_logic", lambda: deploy_project(RebalanceLogic, deployer)),
        "ParamsLogic": record.step("params_logic", lambda: deploy_project(ParamsLogic, deployer)),
    }
    vault = record.step(
        "vault", lambda: deploy_project(HedgeVault, deployer, wiring, *vault_constructor_args(params), libraries=libraries)
    )
    record.step("vault_lens", lambda: deploy_project(VaultLens, deployer))
    _hand_over(project_at(OptionMarket, market), project_at(HedgeVault, vault), timelock, roles, deployer)
    record.params["roles"] = asdict(roles) | {"timelock": timelock}
    record.params["vault"] = {"timelock_delay": delay, **asdict(params)}


def _hand_over(market: Any, vault: Any, timelock: str, roles: Roles, deployer: Any) -> None:
    """Wire market -> vault, grant the operational roles, then give admin to the timelock."""
    tx = {"from": deployer, "silent": True}
    admin = market.DEFAULT_ADMIN_ROLE()
    if market.hasRole(admin, deployer):
        if market.vault() == ZERO:
            market.initializeVault(vault, tx)
        market.grantRole(admin, timelock, tx)
        market.renounceRole(admin, deployer, tx)
    if vault.hasRole(admin, deployer):
        vault.grantRole(vault.KEEPER_ROLE(), roles.keeper, tx)
        vault.grantRole(admin, timelock, tx)
        vault.renounceRole(admin, deployer, tx)
