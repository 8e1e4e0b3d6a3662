"""The vault's risk snapshot (VaultLens.riskSnapshot) as typed, unit-converted Python values.

Pure: takes the ABI-decoded tuple and returns frozen dataclasses. On-chain WAD values become
floats in natural units (base, USD, annual vol); exact integers are kept where the keeper
sends them back (hedge nonce, base balance, the contract's target and bound).

`parse` also checks that the fields agree with each other the way VaultLens computes them (net
delta = base held - holders' delta; the contract's target = base held +/- the trade size; a
rebalance is only due outside the band). A node that returns a snapshot failing these checks is
not believed (`SnapshotError`; the RPC client then counts it as that node's failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WAD = 10**18



class SnapshotError(ValueError):
    """The snapshot's fields contradict each other: not what VaultLens returns."""


# IHedgeVault.Reason
REASONS = ("None", "OutsideBand", "OutsideHardBand", "Emergency", "IntervalNotElapsed", "OracleInvalid", "Paused")


def as_dict(abi_outputs: Sequence[dict], values: Sequence[Any]) -> dict[str, Any]:
    """Name every field of an ABI-decoded struct, recursively."""
    out: dict[str, Any] = {}
    for spec, value in zip(abi_outputs, values, strict=True):
        if spec["type"] == "tuple":
            out[spec["name"]] = as_dict(spec["components"], value)
        elif spec["type"] == "tuple[]":
            out[spec["name"]] = [as_dict(spec["components"], v) for v in value]
        else:
            out[spec["name"]] = value
    return out


@dataclass(frozen=True)
class Series:
    id: int
    strike: float
    expiry: int
    is_call: bool
    open_base: float


@dataclass(frozen=True)
class ChainCheck:
    needed: bool
    reason: str
    target_base_wad: int
    size_base_wad: int
    limit_quote: int
    buy_base: bool


@dataclass(frozen=True)
class Snapshot:
    block: int
    timestamp: int
    quote_balance: float  # USD
    base_balance: float
    base_balance_wad: int
    owed_usd: float
    nav_usd: float
    total_supply: int
    paused: bool
    oracle_ok: bool
    spot: float
    spot_wad: int
    vol: float
    price_age_s: int
    vol_age_s: int
    dex_spot: float
    holders_delta: float  # what option holders are long; the vault is short it
    net_delta: float  # base held - holders' delta
    notional_usd: float
    worst_equity_usd: float
    margin_ratio_bps: int | None  # None when nothing is written or the oracle failed its checks
    hedge_nonce: int
    last_rebalance_at: int
    emergency: bool
    band: float
    hard_band: float
    min_interval_s: int
    max_slippage_bps: int
    max_deviation_bps: int
    max_trade_base: float
    max_trade_base_wad: int
    maintenance_bps: int
    rate: float
    series: tuple[Series, ...]
    check: ChainCheck

    @property
    def below_maintenance(self) -> bool:
        """Margin under the liquidation threshold while the contract is not yet in emergency."""
        return (
            self.oracle_ok and not self.emergency and self.margin_ratio_bps is not None
            and self.margin_ratio_bps < self.maintenance_bps
        )

    @property
    def dex_deviation(self) -> float:
        return self.dex_spot / self.spot - 1.0 if self.spot > 0 else float("inf")


def parse(raw: dict[str, Any], quote_decimals: int = 6) -> Snapshot:
    q = 10**quote_decimals
    hp, rp, hs, c = raw["hedgeParams"], raw["riskParams"], raw["hedge"], raw["check"]
    ratio = int(raw["marginRatioBps"])
    _check_consistent(raw)
    return Snapshot(
        block=int(raw["blockNumber"]),
        timestamp=int(raw["timestamp"]),
        quote_balance=raw["quoteBalance"] / q,
        base_balance=raw["baseBalanceWad"] / WAD,
        base_balance_wad=int(raw["baseBalanceWad"]),
        owed_usd=raw["owedQuote"] / q,
        nav_usd=raw["totalAssets"] / q,
        total_supply=int(raw["totalSupply"]),
        paused=bool(raw["paused"]),
        oracle_ok=bool(raw["oracleOk"]),
        spot=raw["spotWad"] / WAD,
        spot_wad=int(raw["spotWad"]),
        vol=raw["volWad"] / WAD,
        price_age_s=max(int(raw["timestamp"]) - int(raw["priceUpdatedAt"]), 0),
        vol_age_s=max(int(raw["timestamp"]) - int(raw["volUpdatedAt"]), 0),
        dex_spot=raw["dexSpotWad"] / WAD,
        holders_delta=raw["holdersDeltaWad"] / WAD,
        net_delta=raw["netDeltaWad"] / WAD,
        notional_usd=raw["notionalValueWad"] / WAD,
        worst_equity_usd=raw["worstEquityWad"] / WAD,
        # Unknown without a trusted price; "max" when nothing is written.
        margin_ratio_bps=None if ratio >= 2**255 or not raw["oracleOk"] else ratio,
        hedge_nonce=int(hs["nonce"]),
        last_rebalance_at=int(hs["lastRebalanceAt"]),
        emergency=bool(hs["emergency"]),
        band=hp["deltaBandWad"] / WAD,
        hard_band=hp["hardBandWad"] / WAD,
        min_interval_s=int(hp["minRebalanceIntervalSeconds"]),
        max_slippage_bps=int(hp["maxSlippageBps"]),
        max_deviation_bps=int(hp["maxOracleDeviationBps"]),
        max_trade_base=rp["maxTradeBaseWad"] / WAD,
        max_trade_base_wad=int(rp["maxTradeBaseWad"]),
        maintenance_bps=int(rp["maintenanceMarginBps"]),
        rate=raw["rateWad"] / WAD,
        series=tuple(
            Series(int(s["id"]), s["strikeWad"] / WAD, int(s["expiry"]), bool(s["isCall"]), s["openWad"] / WAD)
            for s in raw["series"]
        ),
        check=ChainCheck(
            needed=bool(c["needed"]), reason=REASONS[int(c["reason"])], target_base_wad=int(c["targetBaseWad"]),
            size_base_wad=int(c["sizeBaseWad"]), limit_quote=int(c["limitQuote"]), buy_base=bool(c["buyBase"]),
        ),
    )


def _check_consistent(raw: dict[str, Any]) -> None:
    c = raw["check"]
    if not 0 <= int(c["reason"]) < len(REASONS):
        raise SnapshotError(f"rebalance check reason {c['reason']} is not an IHedgeVault.Reason")
    base, size, target = int(raw["baseBalanceWad"]), int(c["sizeBaseWad"]), int(c["targetBaseWad"])
    if size and target != (base + size if c["buyBase"] else base - size):
        raise SnapshotError(f"contract target {target} is not base {base} {'+' if c['buyBase'] else '-'} size {size}")
    if c["needed"] and size == 0:
        raise SnapshotError("a rebalance is due for a zero-size trade")
    if not raw["oracleOk"]:
        if c["needed"]:
            raise SnapshotError("a rebalance is due while the oracle fails its checks")
        return
    if raw["spotWad"] <= 0 or raw["volWad"] <= 0:
        raise SnapshotError(f"oracle passes its checks with spot {raw['spotWad']} and vol {raw['volWad']}")
    net = int(raw["netDeltaWad"])
    if net != base - int(raw["holdersDeltaWad"]):
        raise SnapshotError(f"net delta {net} != base held {base} - holders' delta {raw['holdersDeltaWad']}")
    band = int(raw["hedgeParams"]["deltaBandWad"])
    # The check prices the book through market.book, the valuation through market.scenarios:
    # allow them a rounding difference at the band's edge.
    if c["needed"] and abs(net) * 1000 < band * 999:
        raise SnapshotError(f"a rebalance is due with net delta {net} inside the band {raw['hedgeParams']['deltaBandWad']}")
