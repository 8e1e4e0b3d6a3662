"""P&L attribution of the vault's NAV, exactly, from events and balances.

NAV (HedgeVault.totalAssets) is, in USDC units, rounded down:

    NAV = floor( quote + floor(base * spot) - mark(open options) - owed(settled, unredeemed) )

Between two observed blocks, with every amount an exact rational number of USD (token units
over their decimals: 1e-6 for USDC, 1e-18 for WETH and WAD prices, 1e-36 for base * price):

    NAV_1 - NAV_0 - (deposits - withdrawals)
      = premiums                      sum of OptionBought.premium
      + payoffs                       - sum of SeriesSettled.owed (the payoff crystallised at settlement),
                                      + the round-down gain when a payout is made in base (PaidOut)
      + open options' mark change     - (mark_1 - mark_0), read from market.book at each block
      + hedge revaluation             base held x change of the oracle price, over each interval
                                      between base movements (Rebalanced, PaidOut in base)
      + hedge execution               per Rebalanced: quoteChange + baseChange x oracle price
                                      (what the swap paid against the oracle), pool fee added back
      + pool fees                     - 0.3% of each swap's input (quote in, or base in x oracle)
      + must-path bounties            - sum of Rebalanced.bounty (emergency, or a late keeper)
      + unexplained transfers         balance changes no event explains (a donation); zero here
      + NAV rounding                  (NAV - exact equity) at block 1 minus the same at block 0

Every term is computed from its own events or balances, none as the remainder, so `gap`
(left side minus the sum) is a real check: it is exactly zero when the books close. Gas is
paid by the keeper's account in ETH, not by the vault: it is reported beside, not in, the sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from fractions import Fraction
from typing import Any

from keeper.scenario.runner import Observation

Q = Fraction(1, 10**6)  # one USDC unit, in USD
W = Fraction(1, 10**18)  # one wei of WETH, or one WAD unit of price or value
POOL_FEE = Fraction(3, 1000)  # Uniswap V2: 0.3% of the input amount stays in the pool

COMPONENTS = ("premiums", "payoffs", "mark_change", "hedge_revaluation", "hedge_execution", "pool_fees",
              "bounties", "unexplained", "nav_rounding")


@dataclass(frozen=True)
class Attribution:
    """USD, exact. `total` is the sum of the components; `pnl` is the NAV change net of flows."""

    premiums: Fraction
    payoffs: Fraction
    mark_change: Fraction
    hedge_revaluation: Fraction
    hedge_execution: Fraction
    pool_fees: Fraction
    bounties: Fraction
    unexplained: Fraction
    nav_rounding: Fraction
    deposits: Fraction
    withdrawals: Fraction
    nav_change: Fraction  # (totalAssets_1 - totalAssets_0), USD
    block: int

    @property
    def total(self) -> Fraction:
        return sum((getattr(self, c) for c in COMPONENTS), Fraction(0))

    @property
    def pnl(self) -> Fraction:
        return self.nav_change - self.deposits + self.withdrawals

    @property
    def gap(self) -> Fraction:
        return self.pnl - self.total

    @property
    def closes(self) -> bool:
        return self.gap == 0

    @property
    def hedging(self) -> Fraction:
        """Hedging P&L before pool fees: revaluation of the base held plus execution vs the oracle."""
        return self.hedge_revaluation + self.hedge_execution

    @property
    def options(self) -> Fraction:
        return self.premiums + self.payoffs + self.mark_change


def equity(o: Observation) -> Fraction:
    """The vault's equity at the oracle price, exact (the contract floors base x spot and NAV)."""
    return o.quote * Q + Fraction(o.base_wad * o.spot_wad) * W * W - o.mark_wad * W - o.owed * Q


def nav_rounding(o: Observation) -> Fraction:
    """What the contract's round-downs take off the exact equity (between -2e-6 and 0 USD)."""
    return o.total_assets * Q - equity(o)


@dataclass
class _Ledger:
    start: Observation
    base_wad: int = 0
    spot_wad: int = 0  # the oracle price at the last base movement or checkpoint
    sums: dict[str, Fraction] = field(default_factory=lambda: {c: Fraction(0) for c in COMPONENTS})
    deposits: int = 0
    withdrawals: int = 0
    quote_flows: int = 0  # quote units the events explain
    base_flows: int = 0  # wei the events explain
    redeemed: dict[str, list[int]] = field(default_factory=dict)  # tx -> payouts, to pair with PaidOut

    def __post_init__(self) -> None:
        self.base_wad = self.start.base_wad
        self.spot_wad = self.start.spot_wad

    def revalue(self, spot_wad: int) -> None:
        self.sums["hedge_revaluation"] += Fraction(self.base_wad * (spot_wad - self.spot_wad)) * W * W
        self.spot_wad = spot_wad

    def move_base(self, change_wad: int, spot_wad: int) -> None:
        self.revalue(spot_wad)
        self.base_wad += change_wad
        self.base_flows += change_wad

    def apply(self, e: dict[str, Any]) -> None:
        a, name = e["args"], e["event"]
        s = self.sums
        if name == "Deposit":
            self.deposits += int(a["assets"])
            self.quote_flows += int(a["assets"])
        elif name == "Withdraw":
            self.withdrawals += int(a["assets"])
            self.quote_flows -= int(a["assets"])
        elif name == "OptionBought":
            s["premiums"] += int(a["premium"]) * Q
            self.quote_flows += int(a["premium"])
        elif name == "SeriesSettled":
            s["payoffs"] -= int(a["owed"]) * Q
        elif name == "OptionRedeemed":
            self.redeemed.setdefault(e["tx"], []).append(int(a["payout"]))
        elif name == "PaidOut":
            # The owed payout leaves the liability; quote and base leave the balance. Paid in quote
            # this is zero; paid in base, the contract rounds the base down (a gain for the vault).
            paid_quote, paid_base, spot = int(a["quoteAmount"]), int(a["baseAmountWad"]), int(a["spotWad"])
            owed_paid = self.redeemed[e["tx"]].pop(0)
            s["payoffs"] += owed_paid * Q - paid_quote * Q - Fraction(paid_base * spot) * W * W
            self.quote_flows -= paid_quote
            if paid_base:
                self.move_base(-paid_base, spot)
        elif name == "Rebalanced":
            base_change, quote_change, spot = int(a["baseChangeWad"]), int(a["quoteChange"]), int(a["spotWad"])
            fee = -quote_change * Q * POOL_FEE if base_change > 0 else Fraction(-base_change * spot) * W * W * POOL_FEE
            s["hedge_execution"] += quote_change * Q + Fraction(base_change * spot) * W * W + fee
            s["pool_fees"] -= fee
            s["bounties"] -= int(a["bounty"]) * Q
            self.quote_flows += quote_change - int(a["bounty"])
            self.move_base(base_change, spot)

    def checkpoint(self, o: Observation) -> Attribution:
        self.revalue(o.spot_wad)
        unexplained_quote = (o.quote - self.start.quote) - self.quote_flows
        unexplained_base = (o.base_wad - self.start.base_wad) - self.base_flows
        s = dict(self.sums)
        s["unexplained"] = unexplained_quote * Q + Fraction(unexplained_base * o.spot_wad) * W * W
        s["mark_change"] = -(o.mark_wad - self.start.mark_wad) * W
        s["nav_rounding"] = nav_rounding(o) - nav_rounding(self.start)
        return Attribution(**s, deposits=self.deposits * Q, withdrawals=self.withdrawals * Q,
                           nav_change=(o.total_assets - self.start.total_assets) * Q, block=o.block)


def attribute(observations: Sequence[Observation], logs: Iterable[dict[str, Any]]) -> list[Attribution]:
    """Cumulative attribution from the first observation to each later one (chain order).

    An observation at block b includes every event of blocks <= b.
    """
    start, rest = observations[0], list(observations[1:])
    ledger = _Ledger(start)
    events = [e for e in logs if e["block"] > start.block]
    out, i = [], 0
    for o in rest:
        while i < len(events) and events[i]["block"] <= o.block:
            ledger.apply(events[i])
            i += 1
        out.append(ledger.checkpoint(o))
    return out


def usd(x: Fraction) -> Decimal:
    """An exact decimal of a USD amount (every denominator here is a product of 2s and 5s)."""
    den, k = x.denominator, 0
    while (10**k) % den:
        k += 1
        if k > 80:
            raise ValueError(f"{x} has no finite decimal expansion")  # pragma: no cover
    return Decimal(f"{x.numerator * (10**k // den)}E-{k}")  # from a string: exact at any length


def as_record(a: Attribution) -> dict[str, str]:
    """Exact decimal strings (USD) of every field, for the JSON summary."""
    out = {f.name: str(usd(getattr(a, f.name))) for f in fields(a) if f.name != "block"}
    out.update(total=str(usd(a.total)), pnl=str(usd(a.pnl)), gap=str(usd(a.gap)), hedging=str(usd(a.hedging)),
               options=str(usd(a.options)))
    return out
