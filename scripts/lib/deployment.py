"""The deployment record: deployments/<name>.json, read by the keeper, the CLI and the web page.

A deploy is a list of named steps; each step either reuses what the record already holds (same
chain id, code still at the address) or deploys and records. Re-running on the same chain is
therefore safe, and a fork of a chain inherits its record.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from brownie import chain, web3

DEPLOYMENTS_DIR = Path(__file__).resolve().parents[2] / "deployments"


def deployment_path(name: str) -> Path:
    override = os.environ.get("HV_DEPLOYMENTS")
    return Path(override) if override else DEPLOYMENTS_DIR / f"{name}.json"


@dataclass
class DeploymentRecord:
    name: str
    path: Path
    chain_id: int
    contracts: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, int] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    deployed: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, name: str) -> "DeploymentRecord":
        path = deployment_path(name)
        record = cls(name=name, path=path, chain_id=chain.id)
        if path.exists():
            saved = json.loads(path.read_text())
            # A record from another chain (a restarted Anvil reuses chain id 31337, so check code
            # too) must not be reused; it is replaced on save.
            if saved.get("chain_id") == chain.id:
                record.contracts = dict(saved.get("contracts", {}))
                record.params = dict(saved.get("params", {}))
                record.blocks = dict(saved.get("blocks", {}))
        return record

    def existing(self, key: str) -> str | None:
        address = self.contracts.get(key)
        if address and len(web3.eth.get_code(address)) > 0:
            return address
        return None

    def step(self, key: str, deploy: Callable[[], str]) -> str:
        """Reuse `key` if its contract is live on this chain, else call `deploy` and record it."""
        address = self.existing(key)
        if address:
            self.reused.append(key)
            return address
        address = deploy()
        self.contracts[key] = address
        self.blocks[key] = web3.eth.block_number
        self.deployed.append(key)
        return address

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "network": self.name,
            "chain_id": self.chain_id,
            "block": web3.eth.block_number,
            "deployed_at_block": min(self.blocks.values(), default=web3.eth.block_number),
            "contracts": self.contracts,
            "blocks": self.blocks,
            "params": self.params,
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        tmp.replace(self.path)
