"""The vault's risk snapshot (VaultLens.riskSnapshot) as typed, unit-converted Python values.

Pure: takes the ABI-decoded tuple and returns frozen dataclasses. On-chain WAD values become
floats in natural units (base, USD, annual vol); exact integers are kept where the keeper
sends them back (hedge nonce, base balance, the contract's target and bound).

`parse` also checks that the fields agree with each other the way VaultLens and the vault's
RebalanceLogic compute them (net delta = base held - holders' delta; the contract's target = base
held +/- the trade size; a trade is allowed only outside the dust, the must path only in
emergency or outside the hard band; the budgets left never exceed the budgets). A node that
returns a snapshot failing these checks is not believed (`SnapshotError`; the RPC client then
counts it as that node's failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WAD = 10**18



class SnapshotError(ValueError):
    """The snapshot's fields contradict each other: not what VaultLens returns."""


# IHedgeVault.Reason, in the enum's order
REASONS = ("None", "OutsideDust", "OutsideHardBand", "Emergency", "IntervalNotElapsed", "OracleInvalid", "Paused",
           "KeeperLate", "BudgetSpent")
# The keeper may trade (toward zero, its policy picks the moment and the size).
KEEPER_REASONS = ("OutsideDust", "OutsideHardBand")
# The must path: anyone may trade, but only to the contract's own target (for the bounty).
MUST_REASONS = ("Emergency", "KeeperLate")
# What each reason means, in plain words (logs, `hv keeper status`).
REASON_WORDS = {
    "None": "nothing to hedge: |net delta| within the dust tolerance",
    "OutsideDust": "the keeper may trade toward zero",
    "OutsideHardBand": "outside the hard band: the keeper may trade, the minimum interval waived",
    "Emergency": "emergency: anyone may hedge to the contract's target",
    "IntervalNotElapsed": "the minimum interval since the last rebalance has not passed",
    "OracleInvalid": "the oracle fails the vault's checks",
    "Paused": "the vault is paused",
    "KeeperLate": "outside the hard band past the grace period: anyone may hedge to the contract's target",
    "BudgetSpent": "the window's trading budget is used up: only the must path remains",
}


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
    """The vault's `rebalanceCheck`: why a trade is (not) allowed now, the contract's own target
    (the full hedge, stepped by maxTradeBaseWad, a buy capped by the quote held) and bound for it,
    and what is left of the window budgets."""

    needed: bool  # the keeper may trade now, or anyone on the must path
    reason: str
    target_base_wad: int
    size_base_wad: int
    limit_quote: int
    buy_base: bool
    base_budget_wad: int  # base a keeper may still trade now
    loss_budget_quote: int  # execution loss against the oracle a keeper may still incur now, quote units

    @property
    def must(self) -> bool:
        """The must path is open: the trade is the contract's own target, budgets not enforced."""
        return self.needed and self.reason in MUST_REASONS

    @property
    def words(self) -> str:
        return REASON_WORDS.get(self.reason, self.reason)


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
    holders_delta_wad: int
    net_delta: float  # base held - holders' delta
    notional_usd: float
    worst_equity_usd: float
    margin_ratio_bps: int | None  # None when nothing is written or the oracle failed its checks
    hedge_nonce: int
    last_rebalance_at: int
    emergency: bool
    base_used: float  # the base budget's fill at the last rebalance (it drains linearly)
    loss_used_usd: float  # the loss budget's fill at the last rebalance
    dust: float  # |net delta| at or below this: nothing to hedge; a keeper trade may cross zero by this much
    dust_wad: int
    hard_band: float  # outside: the interval is waived; after must_grace_s anyone may hedge
    hard_band_wad: int
    min_interval_s: int
    must_grace_s: int
    execution_tolerance_bps: int  # on top of the venue fee and the trade's impact at the oracle price
    max_deviation_bps: int
    budget_window_s: int
    max_base_traded: float  # per window
    max_loss_usd: float  # execution loss against the oracle, per window
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
    hp, rp, bp, hs, c = raw["hedgeParams"], raw["riskParams"], raw["budgetParams"], raw["hedge"], raw["check"]
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
        holders_delta_wad=int(raw["holdersDeltaWad"]),
        net_delta=raw["netDeltaWad"] / WAD,
        notional_usd=raw["notionalValueWad"] / WAD,
        worst_equity_usd=raw["worstEquityWad"] / WAD,
        # Unknown without a trusted price; "max" when nothing is written.
        margin_ratio_bps=None if ratio >= 2**255 or not raw["oracleOk"] else ratio,
        hedge_nonce=int(hs["nonce"]),
        last_rebalance_at=int(hs["lastRebalanceAt"]),
        emergency=bool(hs["emergency"]),
        base_used=hs["baseUsedWad"] / WAD,
        loss_used_usd=hs["lossUsedQuote"] / q,
        dust=hp["dustDeltaWad"] / WAD,
        dust_wad=int(hp["dustDeltaWad"]),
        hard_band=hp["hardBandWad"] / WAD,
        hard_band_wad=int(hp["hardBandWad"]),
        min_interval_s=int(hp["minRebalanceIntervalSeconds"]),
        must_grace_s=int(hp["mustGraceSeconds"]),
        execution_tolerance_bps=int(hp["executionToleranceBps"]),
        max_deviation_bps=int(hp["maxOracleDeviationBps"]),
        budget_window_s=int(bp["windowSeconds"]),
        max_base_traded=bp["maxBaseTradedWad"] / WAD,
        max_loss_usd=bp["maxExecutionLossQuote"] / q,
        max_trade_base=bp["maxTradeBaseWad"] / WAD,
        max_trade_base_wad=int(bp["maxTradeBaseWad"]),
        maintenance_bps=int(rp["maintenanceMarginBps"]),
        rate=raw["rateWad"] / WAD,
        series=tuple(
            Series(int(s["id"]), s["strikeWad"] / WAD, int(s["expiry"]), bool(s["isCall"]), s["openWad"] / WAD)
            for s in raw["series"]
        ),
        check=ChainCheck(
            needed=bool(c["needed"]), reason=REASONS[int(c["reason"])], target_base_wad=int(c["targetBaseWad"]),
            size_base_wad=int(c["sizeBaseWad"]), limit_quote=int(c["limitQuote"]), buy_base=bool(c["buyBase"]),
            base_budget_wad=int(c["baseBudgetWad"]), loss_budget_quote=int(c["lossBudgetQuote"]),
        ),
    )


def _check_consistent(raw: dict[str, Any]) -> None:
    c, hp, bp = raw["check"], raw["hedgeParams"], raw["budgetParams"]
    if not 0 <= int(c["reason"]) < len(REASONS):
        raise SnapshotError(f"rebalance check reason {c['reason']} is not an IHedgeVault.Reason")
    reason = REASONS[int(c["reason"])]
    base, size, target = int(raw["baseBalanceWad"]), int(c["sizeBaseWad"]), int(c["targetBaseWad"])
    if size and target != (base + size if c["buyBase"] else base - size):
        raise SnapshotError(f"contract target {target} is not base {base} {'+' if c['buyBase'] else '-'} size {size}")
    if bool(c["needed"]) != (reason in KEEPER_REASONS + MUST_REASONS):
        raise SnapshotError(f"rebalance check says needed={c['needed']} with reason {reason}")
    if c["needed"] and size == 0:
        raise SnapshotError("a rebalance is due for a zero-size trade")
    if int(c["baseBudgetWad"]) > int(bp["maxBaseTradedWad"]) or int(c["lossBudgetQuote"]) > int(bp["maxExecutionLossQuote"]):
        raise SnapshotError(f"budgets left {c['baseBudgetWad']} base, {c['lossBudgetQuote']} quote exceed the budgets "
                            f"{bp['maxBaseTradedWad']}, {bp['maxExecutionLossQuote']}")
    if reason == "BudgetSpent" and int(c["baseBudgetWad"]) and int(c["lossBudgetQuote"]):
        raise SnapshotError("rebalance check says the budget is spent while both budgets have room")
    if reason == "Emergency" and not raw["hedge"]["emergency"]:
        raise SnapshotError("rebalance check reports an emergency the vault's state does not")
    if not raw["oracleOk"]:
        if c["needed"]:
            raise SnapshotError("a rebalance is due while the oracle fails its checks")
        return
    if raw["spotWad"] <= 0 or raw["volWad"] <= 0:
        raise SnapshotError(f"oracle passes its checks with spot {raw['spotWad']} and vol {raw['volWad']}")
    net = int(raw["netDeltaWad"])
    if net != base - int(raw["holdersDeltaWad"]):
        raise SnapshotError(f"net delta {net} != base held {base} - holders' delta {raw['holdersDeltaWad']}")
    # The check prices the book through market.book, the valuation through market.scenarios:
    # allow them a rounding difference at the edges.
    dust, hard = int(hp["dustDeltaWad"]), int(hp["hardBandWad"])
    if reason not in ("None", "OracleInvalid", "Paused") and abs(net) * 1000 < dust * 999:
        raise SnapshotError(f"rebalance check reason {reason} with net delta {net} inside the dust {dust}")
    if reason in ("OutsideHardBand", "KeeperLate") and abs(net) * 1000 < hard * 999:
        raise SnapshotError(f"rebalance check reason {reason} with net delta {net} inside the hard band {hard}")
