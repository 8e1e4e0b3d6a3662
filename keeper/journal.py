"""SQLite journal: every tick's observation and decision, and every transaction the keeper signs.

The only module that writes keeper state to disk. A transaction is journalled as `signed` (with
its raw bytes) before it is broadcast, so after a crash the keeper knows exactly what it may have
sent and reconciles with the chain before doing anything new (see `keeper.chain.reconcile`).
Writes are synchronous (WAL, synchronous=FULL): a row that `record_*` returned from is on disk.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    vault TEXT NOT NULL,
    block INTEGER,
    observation TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tick_id INTEGER REFERENCES ticks(id),
    vault TEXT NOT NULL,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    raw TEXT NOT NULL,
    max_fee INTEGER NOT NULL,
    priority_fee INTEGER NOT NULL,
    hedge_nonce INTEGER,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    block INTEGER,
    gas_used INTEGER,
    effective_gas_price INTEGER,
    note TEXT
);
CREATE INDEX IF NOT EXISTS txs_open ON txs(status);
CREATE INDEX IF NOT EXISTS txs_sender_nonce ON txs(sender, nonce);
"""

# signed: journalled, maybe broadcast. sent: the node accepted it. mined: in a block, not yet
# deep enough. confirmed / failed: final (failed = reverted on chain), unless a reorg within the
# re-check window takes the block away (then back to sent). replaced: a higher-fee transaction
# with the same nonce superseded it. dropped: its nonce was used by something else. rejected:
# the node refused it for good while its nonce was unused (it is in no pool).
OPEN_STATUSES = ("signed", "sent", "mined")
FINAL_STATUSES = ("confirmed", "failed", "replaced", "dropped", "rejected")


class JournalError(RuntimeError):
    """The journal cannot be written (disk full, read-only, corrupt); the keeper must not send."""


@dataclass(frozen=True)
class TxRecord:
    id: int
    tick_id: int | None
    vault: str
    sender: str
    nonce: int
    hash: str
    raw: str
    max_fee: int
    priority_fee: int
    hedge_nonce: int | None
    status: str
    created: float
    updated: float
    block: int | None
    gas_used: int | None
    effective_gas_price: int | None
    note: str | None


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"journal {self.path} cannot be opened: {exc}") from None
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        self._db.close()

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} read failed: {exc}") from None

    def _write(self, sql: str, args: tuple) -> int:
        try:
            cur = self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path} write failed: {exc}") from None
        return int(cur.lastrowid or 0)

    # ------------------------------------------------------------------ ticks

    def record_tick(self, vault: str, block: int | None, observation: dict[str, Any], decision: str, reason: str) -> int:
        return self._write(
            "INSERT INTO ticks (ts, vault, block, observation, decision, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), vault, block, json.dumps(observation, default=str), decision, reason),
        )

    def recent_ticks(self, vault: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        sql = "SELECT * FROM ticks" + (" WHERE vault = ?" if vault else "") + " ORDER BY id DESC LIMIT ?"
        args = (vault, limit) if vault else (limit,)
        return [dict(r) for r in self._read(sql, args)]

    # ------------------------------------------------------------------ transactions

    def record_signed(
        self, *, tick_id: int | None, vault: str, sender: str, nonce: int, tx_hash: str, raw: str,
        max_fee: int, priority_fee: int, hedge_nonce: int | None, note: str | None = None,
    ) -> int:
        now = time.time()
        return self._write(
            "INSERT INTO txs (tick_id, vault, sender, nonce, hash, raw, max_fee, priority_fee, hedge_nonce,"
            " status, created, updated, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?, ?)",
            (tick_id, vault, sender.lower(), nonce, tx_hash, raw, max_fee, priority_fee, hedge_nonce, now, now, note),
        )

    def set_status(self, tx_hash: str, status: str, *, block: int | None = None, gas_used: int | None = None,
                   effective_gas_price: int | None = None, note: str | None = None) -> None:
        if status not in OPEN_STATUSES + FINAL_STATUSES:
            raise ValueError(f"unknown transaction status {status!r}")
        self._write(
            "UPDATE txs SET status = ?, updated = ?, block = COALESCE(?, block), gas_used = COALESCE(?, gas_used),"
            " effective_gas_price = COALESCE(?, effective_gas_price), note = COALESCE(?, note) WHERE hash = ?",
            (status, time.time(), block, gas_used, effective_gas_price, note, tx_hash),
        )

    def open_txs(self, sender: str | None = None) -> list[TxRecord]:
        sql = f"SELECT * FROM txs WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
        args: tuple = OPEN_STATUSES
        if sender:
            sql += " AND sender = ?"
            args += (sender.lower(),)
        return [TxRecord(**dict(r)) for r in self._read(sql + " ORDER BY nonce, id", args)]

    def txs_with_nonce(self, sender: str, nonce: int) -> list[TxRecord]:
        rows = self._read("SELECT * FROM txs WHERE sender = ? AND nonce = ? ORDER BY id", (sender.lower(), nonce))
        return [TxRecord(**dict(r)) for r in rows]

    def final_txs_since(self, sender: str, min_block: int) -> list[TxRecord]:
        """Confirmed or failed transactions of `sender` mined at `min_block` or later."""
        rows = self._read(
            "SELECT * FROM txs WHERE sender = ? AND status IN ('confirmed', 'failed') AND block >= ? ORDER BY nonce, id",
            (sender.lower(), min_block),
        )
        return [TxRecord(**dict(r)) for r in rows]

    def highest_nonce(self, sender: str) -> int | None:
        [row] = self._read("SELECT MAX(nonce) FROM txs WHERE sender = ?", (sender.lower(),))
        return None if row[0] is None else int(row[0])

    def all_txs(self, vault: str | None = None) -> list[TxRecord]:
        sql = "SELECT * FROM txs" + (" WHERE vault = ?" if vault else "") + " ORDER BY id"
        return [TxRecord(**dict(r)) for r in self._read(sql, (vault,) if vault else ())]

    def __iter__(self) -> Iterator[TxRecord]:
        return iter(self.all_txs())
