"""Prometheus metrics and the /healthz endpoint, on one small HTTP server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Per-vault metrics in a registry of their own (so tests and several services don't clash)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.net_delta = Gauge("hv_net_delta_base", "Vault net delta, base units", ["vault"], registry=r)
        self.dust = Gauge("hv_dust_delta_base", "The vault's dust tolerance on |net delta|, base units", ["vault"],
                          registry=r)
        self.hard_band = Gauge("hv_hard_band_base", "The vault's hard band on |net delta|, base units", ["vault"],
                               registry=r)
        self.base_budget_left = Gauge("hv_base_budget_left_base", "Base a keeper may still trade in the window",
                                      ["vault"], registry=r)
        self.loss_budget_left = Gauge("hv_loss_budget_left_usd", "Execution loss a keeper may still incur in the window, USD",
                                      ["vault"], registry=r)
        self.oracle_age = Gauge("hv_oracle_age_seconds", "Age of the price feed's answer", ["vault"], registry=r)
        self.margin_ratio = Gauge("hv_margin_ratio_bps", "Worst-case equity over notional, bps", ["vault"], registry=r)
        self.hedges = Counter("hv_hedges_total", "Rebalances confirmed", ["vault"], registry=r)
        self.must_hedges = Counter("hv_must_hedges_total", "Of those, on the must path (emergency, or the keeper "
                                   "late outside the hard band): to the contract's own target", ["vault"], registry=r)
        self.settlements = Counter("hv_settlements_total", "Expired series settled by this keeper", ["vault"],
                                   registry=r)
        self.gas_spent = Counter("hv_gas_spent_wei_total", "Gas paid by the keeper, wei", ["vault"], registry=r)
        self.inclusion = Histogram(
            "hv_time_to_inclusion_seconds", "Broadcast to receipt", ["vault"], registry=r,
            buckets=(0.5, 1, 2, 5, 12, 30, 60, 120, 300),
        )
        self.failed_simulations = Counter("hv_failed_simulations_total", "Rebalances refused in simulation",
                                          ["vault", "reason"], registry=r)
        self.rpc_errors = Counter("hv_rpc_errors_total", "RPC failures by URL", ["url"], registry=r)
        self.ticks = Counter("hv_ticks_total", "Ticks by outcome", ["vault", "outcome"], registry=r)
        self.reorged = Counter("hv_reorged_transactions_total", "Final transactions a reorg took out of the chain",
                               registry=r)
        self.last_good_tick = Gauge("hv_last_good_tick_timestamp", "Unix time of the last good tick", registry=r)
        self.last_good_tick_at = 0.0

    def good_tick(self) -> None:
        self.last_good_tick_at = time.time()
        self.last_good_tick.set(self.last_good_tick_at)


class HealthServer:
    """Serves /metrics and /healthz (503 when the last good tick is older than `max_age_s`)."""

    def __init__(self, metrics: Metrics, host: str, port: int, max_age_s: float) -> None:
        self.metrics, self.max_age_s = metrics, max_age_s
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.startswith("/metrics"):
                    self._send(200, generate_latest(outer.metrics.registry), CONTENT_TYPE_LATEST)
                elif self.path.startswith("/healthz"):
                    age = time.time() - outer.metrics.last_good_tick_at
                    ok = age <= outer.max_age_s
                    body = json.dumps({"ok": ok, "last_good_tick_age_s": round(age, 1), "max_age_s": outer.max_age_s})
                    self._send(200 if ok else 503, body.encode(), "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
