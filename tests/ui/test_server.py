"""`hv ui` itself: what it serves, what it refuses, and its one-line errors (no browser here)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from keeper.abi import load_abi
from keeper.deployments import ALL_KEYS
from keeper.localchain import REPO_ROOT, LocalNode
from tests.cli_output import assert_one_line_error

ADDRESSES = {key: "0x" + f"{i + 1:040x}" for i, key in enumerate(ALL_KEYS)}


def record(tmp_path: Path, chain_id: int = 31337, keys=ALL_KEYS, name: str = "page") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "network": name, "chain_id": chain_id, "block": 30, "deployed_at_block": 1,
        "contracts": {k: ADDRESSES[k] for k in keys}, "params": {"market": {"usd_decimals": 6}},
    }))
    return path


def hv_ui(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keeper.cli", "ui", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def get(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def served(browser_toolchain, serve_ui, tmp_path):
    """`hv ui` for a hand-written record, with a bare Anvil as its read-only RPC."""
    with LocalNode() as node:
        yield serve_ui(record(tmp_path), rpc_url=node.url)


def test_serves_the_page_the_record_and_the_abis(served):
    status, headers, body = get(served)
    assert status == 200 and b'<script type="module" src="app.js">' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    config = json.loads(get(served + "config.json")[2])
    assert config["chain_id"] == 31337 and config["network"] == "page" and config["read_rpc"] == "rpc"
    assert config["contracts"]["vault"] == ADDRESSES["vault"]
    assert config["contracts"]["option_market"] == ADDRESSES["option_market"]
    abis = json.loads(get(served + "abi.json")[2])
    assert abis["HedgeVault"] == load_abi("HedgeVault")
    assert any(item.get("name") == "MarginInsufficient" for item in abis["HedgeVault"])
    status, headers, _ = get(served + "app.js", method="HEAD")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert get(served + "../keeper/cli.py")[0] == 404


def test_forwards_reads_and_refuses_to_send(served):
    status, _, body = get(served + "rpc", "POST", {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []})
    assert status == 200 and json.loads(body)["result"] == "0x7a69"
    status, _, body = get(served + "rpc", "POST", [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_sendTransaction", "params": [{}]},
    ])
    replies = json.loads(body)
    assert all("error" in r and "eth_sendTransaction refused" in r["error"]["message"] for r in replies)


def test_missing_deployments_file_is_one_line(tmp_path):
    missing = tmp_path / "nowhere.json"
    assert_one_line_error(hv_ui("--deployments", str(missing)), str(missing), "not found")


@pytest.mark.parametrize("content, words", [("{not json", ["not valid JSON"]), ('{"chain_id": 1}', ["no 'block' field"])])
def test_corrupt_deployments_file_is_one_line(tmp_path, content, words):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert_one_line_error(hv_ui("--deployments", str(bad)), str(bad), *words)


def test_record_without_the_vault_is_one_line(tmp_path):
    market_only = record(tmp_path, keys=ALL_KEYS[:7], name="market-only")
    assert_one_line_error(hv_ui("--deployments", str(market_only)), str(market_only), "no 'timelock' contract recorded")


def test_rpc_on_another_chain_is_one_line(browser_toolchain, tmp_path):
    elsewhere = record(tmp_path, chain_id=1)
    with LocalNode() as node:
        assert_one_line_error(hv_ui("--deployments", str(elsewhere), "--rpc", node.url), node.url, "chain 31337", "chain 1")


def test_occupied_port_is_one_line(browser_toolchain, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_one_line_error(hv_ui("--deployments", str(record(tmp_path)), "--port", str(port)), str(port), "already in use")


def test_unbuilt_page_is_one_line(tmp_path):
    from keeper.deployments import load
    from keeper.ui_server import UiError, build_site

    with pytest.raises(UiError, match=r"the page is not built .* run `./dev setup`"):
        build_site(load(record(tmp_path)), dist=tmp_path / "dist")
