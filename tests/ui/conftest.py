"""A real Anvil with the whole stack, `hv ui` serving the page for it, and the browser toolchain
(Debian's Chromium, Node with playwright-core from the lockfile). Nothing is skipped: a missing
browser or npm part fails with the command that installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from keeper.deployer import deploy
from keeper.deployments import Deployment
from keeper.localchain import ANVIL_KEYS, REPO_ROOT, LocalNode, free_port, rpc_call
from keeper.localmarket import LocalMarket

CHROMIUM = Path("/usr/bin/chromium")
OUT_DIR = REPO_ROOT / "test-output" / "ui"
E2E = Path(__file__).with_name("e2e.mjs")
STARTUP_SECONDS = 120  # `hv ui` imports web3 and reads the chain before it listens: slow on a busy machine
USER = 3  # the Anvil account behind the injected wallet
SEED_DEPOSITOR = 5


@dataclass(frozen=True)
class Stack:
    node: LocalNode
    deployment: Deployment
    market: LocalMarket
    user: str
    call_id: int


@pytest.fixture(scope="session")
def browser_toolchain() -> str:
    """Node, playwright-core and esbuild from node_modules, Debian's Chromium; builds the page."""
    problems = []
    node = shutil.which("node")
    if node is None:
        problems.append("`node` is not on PATH (Node 20 is required)")
    for package in ("playwright-core", "esbuild", "ethers"):
        if not (REPO_ROOT / "node_modules" / package / "package.json").exists():
            problems.append(f"node_modules/{package} is missing: run `./dev setup` (npm install from package-lock.json)")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing: `./dev test` installs it (apt-get install chromium), or install Debian's chromium package")
    if problems:
        pytest.fail("the browser test cannot run: " + "; ".join(problems), pytrace=False)
    # Always from the current source, so the test never checks a stale bundle.
    built = subprocess.run([node, "ui/build.mjs"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        pytest.fail(f"building the page failed: {built.stderr.strip()}", pytrace=False)
    return node


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    """The deployed stack, 1M USDC of other deposits, three series on sale, a funded user."""
    tmp = tmp_path_factory.mktemp("ui-stack")
    with LocalNode() as node:
        deployment = deploy(node.url, str(tmp / "ui.json"), ANVIL_KEYS[0]).deployment
        market = LocalMarket(node.url, deployment)
        accounts = market.w3.eth.accounts
        market.deposit(accounts[SEED_DEPOSITOR], 1_000_000)
        expiry = market.now() + 7 * 86_400
        call_id = market.list_series(3000, expiry, True)
        market.list_series(2800, expiry, False)
        market.list_series(3200, market.now() + 2 * 86_400, True)
        market._fund(accounts[USER], usd=5_000_000 * 10**6)
        yield Stack(node, deployment, market, accounts[USER], call_id)


@pytest.fixture
def chain(stack: Stack) -> Stack:
    """Each test starts from the seeded state."""
    snap = rpc_call(stack.node.url, "evm_snapshot")
    yield stack
    rpc_call(stack.node.url, "evm_revert", [snap])


@pytest.fixture
def serve_ui():
    """Start `hv ui` (a real process) for a record; returns its base URL. Stopped at teardown."""
    procs: list[subprocess.Popen] = []

    def start(record: Path, rpc_url: str | None = None) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "keeper.cli", "ui", "--deployments", str(record), "--port", str(port), "--host", "127.0.0.1"]
        if rpc_url:
            cmd += ["--rpc", rpc_url]
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"`hv ui` exited: {proc.stderr.read().strip()}", pytrace=False)
            try:
                with urllib.request.urlopen(url + "config.json", timeout=1):
                    return url
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        pytest.fail(f"`hv ui` did not answer on {url} within {STARTUP_SECONDS} s", pytrace=False)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()


@pytest.fixture(scope="session")
def ui_output() -> Path:
    """Where the browser test leaves its screenshots (not in git)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUT_DIR


@pytest.fixture
def run_browser(browser_toolchain, ui_output, tmp_path):
    """Run one e2e.mjs scenario; returns its steps (one dict per step). Fails on the first failed step."""

    def run(scenario: str, page_url: str, stack: Stack) -> list[dict]:
        roles = stack.deployment.params.get("roles", {})
        settings = {
            "scenario": scenario, "page_url": page_url, "rpc_url": stack.node.url, "account": stack.user,
            "keeper": roles.get("keeper", stack.market.roles.deployer), "guardian": stack.market.roles.guardian,
            "out_dir": str(ui_output),
        }
        path = tmp_path / f"{scenario}.json"
        path.write_text(json.dumps(settings))
        proc = subprocess.run([browser_toolchain, str(E2E), str(path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
        steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        failed = [s for s in steps if not s.get("ok", True)]
        if failed:
            s = failed[0]
            pytest.fail(f"step '{s['step']}' failed (screenshot {s.get('screenshot')}):\n{s['error']}", pytrace=False)
        if proc.returncode != 0 or not steps or steps[-1].get("done") != scenario:
            pytest.fail(f"e2e.mjs {scenario} exited {proc.returncode}:\n{proc.stderr.strip()[-3000:]}", pytrace=False)
        return steps[:-1]

    return run
