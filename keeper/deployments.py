"""Read deployments/<name>.json, the record scripts/deploy.py writes for every later tool."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keeper.localchain import REPO_ROOT

DEFAULT_DIR = REPO_ROOT / "deployments"
MARKET_KEYS = ("usd", "weth", "price_feed", "vol_feed", "uniswap_factory", "uniswap_router", "weth_usd_pair")
VAULT_KEYS = ("timelock", "swap_adapter", "option_market", "vault", "vault_lens")
# The vault's linked libraries (its hedging and governance halves): recorded, never called directly.
LIBRARY_KEYS = ("rebalance_logic", "params_logic")
ALL_KEYS = MARKET_KEYS + VAULT_KEYS + LIBRARY_KEYS


class DeploymentError(ValueError):
    """The deployment record is missing or unusable; the message names the file and the problem."""


@dataclass(frozen=True)
class Deployment:
    path: Path
    network: str
    chain_id: int
    block: int
    contracts: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)

    def address(self, key: str) -> str:
        try:
            return self.contracts[key]
        except KeyError:
            raise DeploymentError(f"{self.path}: no '{key}' contract recorded (redeploy with scripts/deploy.py)") from None


def resolve_path(name_or_path: str | Path) -> Path:
    """Accept a path to a JSON file or a bare deployment name such as `demo`."""
    p = Path(name_or_path)
    if p.suffix == ".json" or p.parent != Path("."):
        return p
    return DEFAULT_DIR / f"{p}.json"


def load(name_or_path: str | Path) -> Deployment:
    path = resolve_path(name_or_path)
    if not path.exists():
        raise DeploymentError(
            f"deployments file {path} not found: deploy first (`./dev demo`, or `hv deploy --rpc URL`)"
        )
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    for key in ("chain_id", "block", "contracts"):
        if key not in raw:
            raise DeploymentError(f"{path} has no '{key}' field: it was not written by scripts/deploy.py")
    missing = [k for k in MARKET_KEYS if k not in raw["contracts"]]
    if missing:
        raise DeploymentError(f"{path} lacks market contracts: {', '.join(missing)}")
    return Deployment(
        path=path,
        network=str(raw.get("network", path.stem)),
        chain_id=int(raw["chain_id"]),
        block=int(raw["block"]),
        contracts=dict(raw["contracts"]),
        params=dict(raw.get("params", {})),
    )
