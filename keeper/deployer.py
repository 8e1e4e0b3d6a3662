"""Run scripts/deploy.py (brownie) against an RPC URL, from `hv demo` and `hv deploy`.

Deployment is a development tool: it needs the dev extra (brownie) and the repository checkout.
The keeper itself only reads the record it writes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass

from keeper.deployments import Deployment, load, resolve_path
from keeper.localchain import REPO_ROOT, ChainError, check_rpc

RUNNER = REPO_ROOT / "scripts" / "toolchain" / "brownie_run.py"


def brownie_command(target: str, network: str) -> list[str]:
    """The command that runs `target` (module:function) under brownie on `network`."""
    if importlib.util.find_spec("brownie") is None:
        raise ChainError("deploying needs brownie (the dev extra): run `./dev setup`, or pip install -e '.[dev]'")
    if not RUNNER.exists():
        raise ChainError(f"deploying needs the repository checkout ({RUNNER} is missing)")
    return [sys.executable, str(RUNNER), target, "--network", network]


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
    cmd = brownie_command("scripts.deploy:main", "hv-rpc")
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
