"""scripts/governance.py: propose, list, execute and cancel through the timelock, with the JSON
proposal book next to the deployment record; struct setters take a partial object."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from brownie import web3

from keeper.localchain import ANVIL_KEYS, REPO_ROOT
from scripts import governance
from scripts.governance import GovernanceError
from tests.vault.conftest import TIMELOCK_DELAY, USD


@pytest.fixture
def run(record):
    """Run one CLI command in-process against the test chain (already connected)."""

    def _run(*argv: str) -> str:
        return governance.run_command(governance.parser().parse_args(["--deployment", str(record.path), *argv]))

    return _run


@pytest.fixture
def book(record):
    path = record.path.with_suffix(".governance.json")
    yield path
    path.unlink(missing_ok=True)  # the chain reverts after each test; so does the book


def _proposals(book):
    return json.loads(book.read_text())["proposals"]


def test_propose_waits_the_delay_then_executes(hv, vault, run, book):
    out = run("propose", "vault", "setDepositCap", json.dumps([5_000_000 * USD]))
    (p,) = _proposals(book)
    assert p["id"] in out and p["status"] == "pending"
    assert (p["target"], p["target_key"], p["function"], p["args"]) == (vault.address, "vault", "setDepositCap", [5_000_000 * USD])
    assert p["calldata"] == vault.setDepositCap.encode_input(5_000_000 * USD)
    assert p["delay"] == TIMELOCK_DELAY
    assert p["eta"] == hv.timelock.getTimestamp(p["id"]) == web3.eth.get_block(p["proposed_block"]).timestamp + TIMELOCK_DELAY
    assert "waiting" in run("list")
    with pytest.raises(GovernanceError, match="not ready"):
        run("execute", p["id"][:12])
    hv.advance(TIMELOCK_DELAY + 1)
    assert "ready" in run("list")
    run("execute", p["id"][:12])
    assert vault.depositCap() == 5_000_000 * USD
    assert _proposals(book)[0]["status"] == "executed"
    assert "done" in run("list")
    with pytest.raises(GovernanceError, match="done, not ready"):
        run("execute", p["id"])


def test_struct_setter_takes_a_partial_object(hv, vault, market, run, book):
    before = hv.params("hedge")
    run("propose", "vault", "setHedgeParams", '[{"executionToleranceBps": 100}]')
    run("propose", "market", "setMarketParams", '[{"maxLiveSeries": 32, "spreadBps": 150}]')
    hv.advance(TIMELOCK_DELAY + 1)
    for p in _proposals(book):
        run("execute", p["id"])
    assert hv.params("hedge") == before | {"executionToleranceBps": 100}
    assert hv.params("market")["maxLiveSeries"] == 32 and hv.params("market")["spreadBps"] == 150


def test_out_of_bounds_change_fails_at_execution_with_the_contracts_error(hv, run, book):
    from brownie.exceptions import VirtualMachineError

    run("propose", "vault", "setEmergencyBounty", "[100000001]")
    hv.advance(TIMELOCK_DELAY + 1)
    with pytest.raises(VirtualMachineError, match="ParameterOutOfBounds"):
        run("execute", _proposals(book)[0]["id"])
    assert _proposals(book)[0]["status"] == "pending"


def test_cancel_and_changes_executed_elsewhere_show_in_the_list(hv, vault, run, book):
    run("propose", "vault", "setDepositCap", "[1]", "--salt", "0x" + "11" * 32)
    run("propose", "vault", "setDepositCap", "[2]", "--salt", "0x" + "22" * 32)
    first, second = _proposals(book)
    run("cancel", first["id"])
    hv.advance(TIMELOCK_DELAY + 1)
    hv.timelock.execute(vault, 0, second["calldata"], second["predecessor"], second["salt"], {"from": hv.governor})
    listing = run("list")
    assert [p["status"] for p in _proposals(book)] == ["cancelled", "executed"]
    assert "unset" in listing and "done" in listing
    with pytest.raises(GovernanceError, match="only pending"):
        run("cancel", first["id"])


@pytest.mark.parametrize("argv,message", [
    (("propose", "treasury", "setDepositCap", "[1]"), "unknown target"),
    (("propose", "vault", "setNothing", "[1]"), "has no function setNothing"),
    (("propose", "vault", "setDepositCap", "[1, 2]"), "takes 1 argument"),
    (("propose", "vault", "setHedgeParams", '[{"slippage": 1}]'), "unknown field"),
    (("propose", "vault", "setDepositCap", "[1"), "not JSON"),
    (("propose", "vault", "setDepositCap", "1"), "must be a JSON list"),
    (("propose", "vault", "setDepositCap", "[1]", "--delay", "60"), "below the timelock's minimum"),
    (("execute", "0xdead"), "no proposal"),
])
def test_bad_input_is_a_clear_error(run, book, argv, message):
    with pytest.raises(GovernanceError, match=message):
        run(*argv)


def test_same_operation_twice_needs_another_salt(run, book):
    run("propose", "vault", "setDepositCap", "[1]", "--salt", "0x" + "33" * 32)
    with pytest.raises(GovernanceError, match="already exists"):
        run("propose", "vault", "setDepositCap", "[1]", "--salt", "0x" + "33" * 32)


def test_only_the_governor_can_propose(hv, record, attacker, book):
    from brownie.exceptions import VirtualMachineError

    args = governance.parser().parse_args(
        ["--deployment", str(record.path), "--sender", attacker.address, "propose", "vault", "setDepositCap", "[1]"])
    with pytest.raises(VirtualMachineError, match="AccessControlUnauthorizedAccount"):
        governance.run_command(args)


def test_cli_end_to_end_on_an_rpc_url(hv, vault, record, book):
    """The command line as an operator runs it: its own brownie process, the hv-rpc network, the
    governor's key from the environment."""
    deployments_map = REPO_ROOT / "build" / "deployments" / "map.json"
    map_before = deployments_map.read_text() if deployments_map.exists() else "{}"
    env = dict(os.environ, HV_RPC_URL=web3.provider.endpoint_uri, HV_GOVERNOR_KEY=ANVIL_KEYS[1])
    cmd = [sys.executable, str(REPO_ROOT / "scripts" / "governance.py"), "--network", "hv-rpc",
           "--deployment", str(record.path)]
    proc = subprocess.run([*cmd, "propose", "vault", "setDepositCap", "[7]"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "proposed 0x" in proc.stdout
    (p,) = _proposals(book)
    assert hv.timelock.getOperationState(p["id"]) == 1  # waiting
    proc = subprocess.run([*cmd, "execute", p["id"]], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not ready" in proc.stderr
    assert vault.depositCap() != 7
    # Nothing added to brownie's per-network deployment store: a later hv-rpc connection to another
    # chain (a fresh node) would try to load those addresses and fail.
    map_after = deployments_map.read_text() if deployments_map.exists() else "{}"
    assert json.loads(map_after) == json.loads(map_before)


def test_cli_needs_a_network():
    assert governance.main(["list"]) == 2
