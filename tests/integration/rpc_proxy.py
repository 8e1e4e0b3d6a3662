"""A loopback JSON-RPC proxy in front of a real node that misbehaves on command.

It forwards every request to the upstream node (Anvil) unless a fault is set for the method:

    with RpcProxy(node.url) as proxy:
        proxy.fault("eth_call", "malformed")                    # a truncated JSON body
        proxy.fault("eth_getBalance", "result", value="lots")   # wrong type / absurd value
        proxy.fault("eth_call", "transform", fn=lambda result, params: ...)  # forward, then rewrite
        proxy.fault("eth_estimateGas", "hang", seconds=10)      # answer only after the client gave up
        proxy.fault("eth_sendRawTransaction", "forward_then_malformed")  # the node took it; the reply is lost
        proxy.fault("eth_sendRawTransaction", "before", fn=lambda params: ...)  # run something first
        proxy.clear()

`match(params)` narrows a fault to some calls (e.g. eth_call to one contract), `times` to the
first n matching calls. `calls` counts what the proxy saw, per method. Everything runs on
127.0.0.1 on a free port; `stop()` releases hanging requests and closes the server.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("malformed", "result", "transform", "hang", "forward_then_malformed", "before")


@dataclass
class Fault:
    kind: str
    value: Any = None
    fn: Callable[..., Any] | None = None
    seconds: float = 0.0
    match: Callable[[list], bool] | None = None
    times: int | None = None
    hits: int = 0


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.calls: Counter[str] = Counter()
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = proxy._handle(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                try:
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hang fault)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="rpc-proxy", daemon=True)

    # ------------------------------------------------------------------ control

    def fault(self, method: str, kind: str, *, value: Any = None, fn: Callable[..., Any] | None = None,
              seconds: float = 0.0, match: Callable[[list], bool] | None = None, times: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults[method] = Fault(kind, value, fn, seconds, match, times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def hits(self, method: str) -> int:
        with self._lock:
            f = self._faults.get(method)
            return f.hits if f else 0

    def start(self) -> RpcProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ serving

    def _forward(self, body: bytes) -> bytes:
        req = urllib.request.Request(self.upstream, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    def _active_fault(self, request: dict) -> Fault | None:
        method, params = request.get("method", ""), request.get("params", [])
        with self._lock:
            self.calls[method] += 1
            f = self._faults.get(method)
            if f is None or (f.match is not None and not f.match(params)):
                return None
            if f.times is not None and f.hits >= f.times:
                return None
            f.hits += 1
            return f

    def _handle(self, body: bytes) -> bytes:
        request = json.loads(body)
        if isinstance(request, list):  # a batch: faults apply to single requests only
            for r in request:
                self._active_fault(r)
            return self._forward(body)
        f = self._active_fault(request)
        if f is None:
            return self._forward(body)
        rid = request.get("id")
        if f.kind == "malformed":
            return b'{"jsonrpc": "2.0", "id": ' + json.dumps(rid).encode() + b', "result": "0x'
        if f.kind == "result":
            return json.dumps({"jsonrpc": "2.0", "id": rid, "result": f.value}).encode()
        if f.kind == "hang":
            self._released.wait(f.seconds)
            return self._forward(body)
        if f.kind == "before":
            assert f.fn is not None
            f.fn(request.get("params", []))
            return self._forward(body)
        reply = self._forward(body)
        if f.kind == "forward_then_malformed":
            return b'{"jsonrpc": "2.0", "id": ' + json.dumps(rid).encode() + b', "res'
        assert f.kind == "transform" and f.fn is not None
        answer = json.loads(reply)
        if "result" in answer:
            answer["result"] = f.fn(answer["result"], request.get("params", []))
        return json.dumps(answer).encode()
