"""Run scripts/deploy.py (brownie) against an RPC URL, from `hv demo` and `hv deploy`.

Deployment is a development tool: it needs the dev extra (brownie) and the repository checkout.
The keeper itself only reads the record it writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from keeper.deployments import Deployment, load, resolve_path
from keeper.localchain import REPO_ROOT, ChainError, check_rpc


def brownie_executable() -> str:
    local = Path(sys.prefix) / "bin" / "brownie"
    found = str(local) if local.exists() else shutil.which("brownie")
    if not found:
        raise ChainError("deploying needs brownie (the dev extra): run `./dev setup`, or pip install -e '.[dev]'")
    if not (REPO_ROOT / "brownie-config.yaml").exists():
        raise ChainError(f"deploying needs the repository checkout (no brownie-config.yaml in {REPO_ROOT})")
    return found


@dataclass(frozen=True)
class DeployResult:
    deployment: Deployment
    report: list[str]

    @property
    def reused(self) -> list[str]:
        return [line.split()[1] for line in self.report if line.strip().startswith("reused ")]

    @property
    def deployed(self) -> list[str]:
        return [line.split()[1] for line in self.report if line.strip().startswith("deployed ")]


def deploy(
    rpc_url: str, name: str, deployer_key: str, quiet: bool = True, extra_env: dict[str, str] | None = None
) -> DeployResult:
    """Deploy (or reuse) the stack on `rpc_url`; return the record it wrote and its summary."""
    check_rpc(rpc_url)
    path = resolve_path(name)
    env = dict(os.environ)
    env.update(
        HV_RPC_URL=rpc_url,
        HV_DEPLOYER_KEY=deployer_key,
        HV_DEPLOYMENT_NAME=path.stem,
        HV_DEPLOYMENTS=str(path.resolve()),
    )
    env.update(extra_env or {})
    cmd = [brownie_executable(), "run", "scripts/deploy.py", "--network", "hv-rpc"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    report = _report_lines(proc.stdout)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ChainError(f"deploy script failed: {tail[0]}")
    if not quiet:
        print("\n".join(report))
    return DeployResult(load(path), report)


def _report_lines(stdout: str) -> list[str]:
    """The deploy script's own summary, without brownie's per-transaction chatter."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Deployment '"):
            return lines[i:]
    return []
