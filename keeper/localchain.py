"""Start and stop local Anvil / Ganache nodes on loopback, on free ports.

Used by `hv demo`, the tests and the benchmarks. No brownie here: the keeper owns this so a
runtime-only install can still run a local chain when anvil is available.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]

# Anvil's default development mnemonic, also given to Ganache so both chains share these keys:
# public knowledge, usable only on local chains.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)


class ChainError(RuntimeError):
    """A local node could not be started or reached; the message is meant for the user."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def find_executable(name: str) -> str:
    """Find `anvil` / `ganache`: PATH (the venv puts them there), then the repo's node_modules."""
    candidates = [shutil.which(name), str(Path(sys.prefix) / "bin" / name)]
    if name == "anvil":
        candidates += [str(p) for p in sorted(REPO_ROOT.glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))]
    else:
        candidates.append(str(REPO_ROOT / "node_modules" / ".bin" / name))
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    raise ChainError(f"'{name}' not found: run `./dev setup` (it installs {name} from npm into .venv/bin)")


def rpc_call(url: str, method: str, params: Sequence = (), timeout: float = 5.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise ChainError(f"{method} failed at {url}: {reply['error'].get('message', reply['error'])}")
    return reply["result"]


def check_rpc(url: str, timeout: float = 5.0) -> int:
    """Return the chain id at `url`, or raise ChainError with a one-line reason."""
    try:
        return int(str(rpc_call(url, "eth_chainId", timeout=timeout)), 16)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChainError(f"RPC at {url} is unreachable ({reason})") from None
    except (ValueError, KeyError) as exc:
        raise ChainError(f"RPC at {url} did not answer eth_chainId like an Ethereum node ({exc})") from None


@dataclass
class LocalNode:
    """A node process we own: started on loopback, stopped by `stop()` or the context manager."""

    kind: str = "anvil"
    port: int | None = None
    chain_id: int | None = None
    fork_url: str | None = None
    block_time: float | None = None
    extra_args: Sequence[str] = ()
    process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "anvil":
            cmd = [find_executable("anvil"), "--host", LOOPBACK, "--port", str(self.port), "--silent"]
            if self.chain_id is not None:
                cmd += ["--chain-id", str(self.chain_id)]
            if self.fork_url:
                cmd += ["--fork-url", self.fork_url]
            if self.block_time:
                cmd += ["--block-time", str(self.block_time)]
        elif self.kind == "ganache":
            cmd = [
                find_executable("ganache"), "--server.host", LOOPBACK, "--server.port", str(self.port),
                "--chain.hardfork", "shanghai", "--wallet.mnemonic", DEV_MNEMONIC,
                "--wallet.totalAccounts", "10", "--wallet.defaultBalance", "100000", "--logging.quiet",
            ]
            if self.chain_id is not None:
                cmd += ["--chain.chainId", str(self.chain_id)]
        else:
            raise ChainError(f"unknown node kind '{self.kind}' (expected anvil or ganache)")
        return cmd + list(self.extra_args)

    def start(self, timeout: float = 30.0) -> LocalNode:
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise ChainError(f"port {self.port} on {LOOPBACK} is already in use; pick another with --port or omit it")
        if self.fork_url:
            check_rpc(self.fork_url)
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace").strip().splitlines()
                raise ChainError(f"{self.kind} exited at start: {err[-1] if err else 'no output'}")
            try:
                check_rpc(self.url, timeout=1.0)
                return self
            except ChainError:
                time.sleep(0.1)
        self.stop()
        raise ChainError(f"{self.kind} did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> LocalNode:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
