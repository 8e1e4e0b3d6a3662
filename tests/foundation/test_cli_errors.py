"""Bad input on the command line gives one line naming the problem, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from keeper.localchain import ANVIL_KEYS, free_port
from tests.cli_output import assert_one_line_error

HV = str(Path(sys.prefix) / "bin" / "hv")


def run_hv(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([HV, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_unreachable_rpc_url_is_named():
    url = f"http://127.0.0.1:{free_port()}"
    proc = run_hv("deploy", "--rpc", url, HV_DEPLOYER_KEY=ANVIL_KEYS[0])
    assert_one_line_error(proc, url, "unreachable")


def test_missing_deployments_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.json"
    proc = run_hv("market", "--rpc", "http://127.0.0.1:1", "--deployments", str(missing))
    assert_one_line_error(proc, str(missing), "not found")


def test_occupied_port_is_named():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_hv("demo", "--port", str(port))
    assert_one_line_error(proc, str(port), "already in use")


def test_deploy_without_a_key_says_which_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HV_DEPLOYER_KEY"}
    proc = subprocess.run([HV, "deploy", "--rpc", "http://127.0.0.1:1"], capture_output=True, text=True, env=env)
    assert_one_line_error(proc, "HV_DEPLOYER_KEY")


@pytest.mark.parametrize("content, words", [("{not json", ["not valid JSON"]), ('{"chain_id": 1}', ["no 'block' field"])])
def test_corrupt_deployments_file_is_named(tmp_path, content, words):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = run_hv("market", "--rpc", "http://127.0.0.1:1", "--deployments", str(bad))
    assert_one_line_error(proc, str(bad), *words)
