"""The web page's server (`hv ui`): the built page, the deployment record and the ABIs, on loopback.

Standard library only. The page itself is static (ui/ bundled into ui/dist by `./dev setup`);
what the server adds is what the page cannot know on its own: the addresses and chain id from
`deployments/<name>.json` (`/config.json`) and the contracts' ABIs from keeper/abi (`/abi.json`),
so custom errors decode by name in the browser. With `--rpc URL` it also forwards read-only
JSON-RPC calls at `/rpc`, so the page shows the vault before a wallet is connected; it never
forwards anything that sends a transaction (transactions go through the user's wallet only).
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from keeper.abi import load_abi
from keeper.deployments import VAULT_KEYS, Deployment
from keeper.localchain import REPO_ROOT, ChainError, check_rpc

DIST = REPO_ROOT / "ui" / "dist"
PAGE_ABIS = ("HedgeVault", "OptionMarket", "VaultLens", "ERC20", "TestStablecoin", "AggregatorV3")
PAGE_CONTRACTS = ("usd", "weth", "price_feed", "vol_feed") + VAULT_KEYS

# What `/rpc` forwards: reads only. Signing and sending stay in the user's wallet.
READ_METHODS = frozenset({
    "eth_chainId", "net_version", "eth_blockNumber", "eth_call", "eth_getLogs", "eth_getBlockByNumber",
    "eth_getBlockByHash", "eth_getBalance", "eth_getCode", "eth_getTransactionByHash",
    "eth_getTransactionReceipt", "eth_estimateGas", "eth_gasPrice", "eth_maxPriorityFeePerGas",
    "eth_feeHistory", "eth_getTransactionCount",
})
MAX_BODY = 1 << 20

# The page allows nothing but its own origin: no CDN, no third-party script, style or request.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class UiError(RuntimeError):
    """The page cannot be served; the message is one line for the user."""


@dataclass(frozen=True)
class Site:
    """Everything one server answers with, fixed at start."""

    dist: Path
    config: dict[str, Any]
    abis: dict[str, list]
    rpc_url: str | None = None
    files: dict[str, Path] = field(default_factory=dict)


def page_config(d: Deployment, read_rpc: bool) -> dict[str, Any]:
    """The subset of the record the page needs; fails on a record without the vault."""
    contracts = {key: d.address(key) for key in PAGE_CONTRACTS}
    market = d.params.get("market", {})
    return {
        "network": d.network,
        "chain_id": d.chain_id,
        "deployed_at_block": int(_raw_field(d, "deployed_at_block", 0)),
        "contracts": contracts,
        "usd_decimals": int(market.get("usd_decimals", 6)),
        "read_rpc": "rpc" if read_rpc else None,
    }


def _raw_field(d: Deployment, key: str, default: Any) -> Any:
    """A top-level field the Deployment object does not carry (the file was validated by load)."""
    try:
        return json.loads(d.path.read_text()).get(key, default)
    except (OSError, ValueError):
        return default


def build_site(d: Deployment, rpc_url: str | None = None, dist: Path = DIST) -> Site:
    index = dist / "index.html"
    if not index.exists():
        raise UiError(f"the page is not built ({index} is missing): run `./dev setup`, which bundles ui/ with esbuild")
    if rpc_url:
        chain_id = check_rpc(rpc_url)
        if chain_id != d.chain_id:
            raise ChainError(f"{rpc_url} is chain {chain_id} but {d.path} was deployed on chain {d.chain_id}")
    files = {"/" + p.relative_to(dist).as_posix(): p for p in dist.rglob("*") if p.is_file() and not p.name.startswith(".")}
    files["/"] = index
    return Site(dist=dist, config=page_config(d, bool(rpc_url)), abis={n: load_abi(n) for n in PAGE_ABIS},
                rpc_url=rpc_url, files=files)


class Handler(BaseHTTPRequestHandler):
    site: Site  # set on the subclass made by make_server
    server_version = "hv-ui"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # quiet: the page's own log is in the browser

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?", 1)[0]
        if path == "/config.json":
            return self._send_json(self.site.config)
        if path == "/abi.json":
            return self._send_json(self.site.abis)
        file = self.site.files.get(path)
        if file is None:
            return self._send_json({"error": f"not found: {path}"}, HTTPStatus.NOT_FOUND)
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(file.read_bytes(), ctype)

    def do_HEAD(self) -> None:  # noqa: N802
        self.head_only = True
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/rpc" or not self.site.rpc_url:
            return self._send_json({"error": "no read-only RPC configured (start `hv ui` with --rpc URL)"}, HTTPStatus.NOT_FOUND)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send_json({"error": "request too large"}, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = self.rfile.read(length)
        try:
            calls = json.loads(body)
        except ValueError:
            return self._send_json({"error": "not JSON"}, HTTPStatus.BAD_REQUEST)
        batch = calls if isinstance(calls, list) else [calls]
        refused = [c.get("method") for c in batch if not isinstance(c, dict) or c.get("method") not in READ_METHODS]
        if refused:
            return self._send_json(_rpc_refusal(calls, refused), HTTPStatus.OK)
        req = urllib.request.Request(self.site.rpc_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._send(resp.read(), "application/json")
        except (urllib.error.URLError, OSError) as exc:
            self._send_json({"error": f"RPC unreachable: {getattr(exc, 'reason', exc)}"}, HTTPStatus.BAD_GATEWAY)

    def _send_json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(obj).encode(), "application/json", status)

    def _send(self, data: bytes, ctype: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not getattr(self, "head_only", False):
            self.wfile.write(data)


def _rpc_refusal(calls: Any, refused: list[Any]) -> Any:
    def one(call: Any) -> dict[str, Any]:
        call_id = call.get("id") if isinstance(call, dict) else None
        return {"jsonrpc": "2.0", "id": call_id,
                "error": {"code": -32601, "message": f"read-only endpoint: {', '.join(map(str, refused))} refused"}}
    return [one(c) for c in calls] if isinstance(calls, list) else one(calls)


def make_server(site: Site, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("SiteHandler", (Handler,), {"site": site})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux / macOS
            raise UiError(f"port {port} on {host} is already in use; pick another with --port") from None
        raise UiError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    server.daemon_threads = True
    return server

