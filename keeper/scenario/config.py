"""One validated scenario configuration: the demo's defaults < a TOML file < command-line flags.

Every error names the field (`path.model: 'brownian' is not one of gbm, merton, regime, csv`).
The defaults are the demo (`hv demo`): 96 half-hour steps of an 80%-vol GBM, a call-heavy
option flow on a 500k USDC vault, and three hedging arms on that same path and flow: no keeper,
the fixed-band keeper (1 WETH, the vault's former on-chain band) and the keeper on its default
policy (`keeper.policy.DEFAULT_POLICY`, read when the config is built, never copied here).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keeper import policy as policies
from keeper.config import REMOVED_POLICIES, read_toml
from keeper.policy import POLICY_CLASSES, FixedBand, build_policy

MODELS = ("gbm", "merton", "regime", "csv")
POLICIES = tuple(POLICY_CLASSES)
# The vault's oracle heartbeat is one hour (deploy default): a step longer than that would let
# the price go stale between steps.
MAX_STEP_SECONDS = 3_600
MIN_STEP_SECONDS = 300  # the vault's minimum rebalance interval
# The hedging arms, each on its own chain with the same path, flow and seed:
#   no_keeper   the vault never rebalances
#   fixed_band  the keeper on a fixed band (config `fixed_band`: 1 WETH, the former on-chain band)
#   default     the keeper on its default policy (config `keeper`: keeper.policy.DEFAULT_POLICY)
ARMS = ("no_keeper", "fixed_band", "default")


class ScenarioError(ValueError):
    """Invalid scenario input; the message names the field or the file."""


@dataclass(frozen=True)
class PathConfig:
    """The price path: a market model from keeper.sim, or a CSV of real prices."""

    model: str = "gbm"
    s0: float = 3_000.0  # USD per ETH at the start (the feed and the pool are seeded at it)
    mu: float = 0.0  # annual drift
    sigma: float = 0.8  # annual diffusion vol
    implied_vol_markup: float = 1.0  # the vol feed posts the model's vol times this
    # merton
    jump_intensity: float = 12.0  # jumps per year
    jump_mean: float = -0.04  # mean log jump
    jump_vol: float = 0.06
    # regime: (calm, turbulent) vols and the rates per year of leaving each
    vols: tuple[float, ...] = (0.5, 1.2)
    switch_rates: tuple[float, ...] = (20.0, 40.0)
    # csv: timestamp,price rows; resampled to step_seconds
    csv: str = ""
    csv_method: str = "windows"  # windows (the history itself) | bootstrap (block bootstrap)
    csv_block_steps: float = 24.0
    vol_halflife_steps: float = 12.0  # EWMA of realised vol posted on the vol feed (csv)


@dataclass(frozen=True)
class MarketConfig:
    pool_weth: float = 5_000.0  # Uniswap V2 pool depth at the start
    gas_price_gwei: float = 10.0  # every block's base fee (anvil_setNextBlockBaseFeePerGas)


@dataclass(frozen=True)
class Deposit:
    usd: float
    at: float = 0.0  # when, as a fraction of the run: 0 = the first step, 0.5 = halfway

    def step(self, steps: int) -> int:
        return round(self.at * steps)


@dataclass(frozen=True)
class BuyersConfig:
    accounts: int = 4  # Anvil accounts 5..(5+n-1)
    buys_per_step: float = 1.0  # Poisson mean of buy attempts per step
    max_buys_per_step: int = 4
    min_size: float = 0.5  # WETH per buy
    max_size: float = 3.0
    call_share: float = 0.9  # probability that a buyer wants a call (else a put)


@dataclass(frozen=True)
class ListerConfig:
    every_hours: float = 0.0  # a new expiry every this many hours; 0: half the tenor
    tenor_hours: float = 0.0  # time to expiry at listing; 0: half the run, at most 24 hours
    calls: tuple[float, ...] = (1.0, 1.05)  # strikes as multiples of spot
    puts: tuple[float, ...] = (0.9,)
    strike_step: float = 25.0  # strikes rounded to this many USD


def _default_policy() -> str:
    return policies.DEFAULT_POLICY  # at run time: another default policy needs no change here


@dataclass(frozen=True)
class KeeperSettings:
    enabled: bool = True
    policy: str = field(default_factory=_default_policy)
    policy_params: Mapping[str, float] = field(default_factory=dict)
    tick_seconds: float = 0.2
    step_timeout_seconds: float = 30.0  # a step whose keeper never settles is reported, not hung on

    @property
    def effective_params(self) -> dict[str, float]:
        """The policy's parameters as the keeper builds them: its defaults, then the config's."""
        return {**policies.DEFAULT_POLICY_PARAMS.get(self.policy, {}), **self.policy_params}

    @property
    def band_weth(self) -> float | None:
        """The keeper's band when it is fixed (the fixed_band policy); None when it moves."""
        policy = build_policy(self.policy, dict(self.policy_params))
        return policy.half_width_base if isinstance(policy, FixedBand) else None


@dataclass(frozen=True)
class ArmPolicy:
    """The fixed-band arm's keeper policy (the other settings are the `keeper` table's)."""

    policy: str = "fixed_band"
    policy_params: Mapping[str, float] = field(default_factory=lambda: {"half_width_base": 1.0})


@dataclass(frozen=True)
class Arm:
    """One hedging arm: a name, a label for tables and charts, the keeper (None: no keeper)."""

    name: str
    label: str
    keeper: KeeperSettings | None


@dataclass(frozen=True)
class ScenarioConfig:
    name: str = "demo"
    seed: int = 1
    steps: int = 96
    step_seconds: int = 1_800
    compare: bool = False  # run every arm in `arms` (else only the default arm)
    arms: tuple[str, ...] = ARMS
    path: PathConfig = field(default_factory=PathConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    depositors: tuple[Deposit, ...] = (Deposit(250_000.0), Deposit(150_000.0), Deposit(100_000.0, 0.5))
    buyers: BuyersConfig = field(default_factory=BuyersConfig)
    lister: ListerConfig = field(default_factory=ListerConfig)
    keeper: KeeperSettings = field(default_factory=KeeperSettings)
    fixed_band: ArmPolicy = field(default_factory=ArmPolicy)
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths (the CSV) resolve here

    @property
    def keeper_band_weth(self) -> float | None:
        """The default arm's band when it is fixed (the fixed_band policy); None when it moves."""
        return self.keeper.band_weth

    def arm(self, name: str) -> Arm:
        if name == "no_keeper":
            return Arm(name, "no keeper", None)
        if name == "fixed_band":
            k = dataclasses.replace(self.keeper, policy=self.fixed_band.policy,
                                    policy_params=dict(self.fixed_band.policy_params))
            return Arm(name, _policy_label(k), k)
        if name == "default":
            return Arm(name, f"default: {_policy_label(self.keeper)}", self.keeper)
        raise ScenarioError(f"arms: {name!r} is not one of {', '.join(ARMS)}")

    def run_arms(self, compare: bool | None = None, keeper: bool = True) -> list[Arm]:
        """The arms one session runs, in the order of `ARMS`: all of `arms` when comparing, else
        the default arm (or only the no-keeper arm without the keeper)."""
        if not keeper:
            return [self.arm("no_keeper")]
        if not (self.compare if compare is None else compare):
            return [self.arm("default")]
        return [self.arm(a) for a in ARMS if a in self.arms]

    @property
    def horizon_seconds(self) -> int:
        return self.steps * self.step_seconds

    @property
    def tenor_seconds(self) -> float:
        t = self.lister.tenor_hours * 3600
        return t if t > 0 else min(86_400.0, self.horizon_seconds / 2)

    @property
    def listing_every_seconds(self) -> float:
        e = self.lister.every_hours * 3600
        return e if e > 0 else self.tenor_seconds / 2

    def as_record(self) -> dict[str, Any]:
        """Every parameter, JSON-ready: the summary records them next to the results."""
        out = dataclasses.asdict(self)
        out["base_dir"] = str(self.base_dir)
        return out


def _policy_label(k: KeeperSettings) -> str:
    """`fixed band ±1 WETH`, `whalley_wilmott (risk_aversion 0.0001)`: for tables and charts."""
    params = dict(k.effective_params)
    if k.policy == "fixed_band" and "half_width_base" in params:
        label = f"fixed band ±{params.pop('half_width_base'):g} WETH"
        return label + "".join(f", {name} {value:g}" for name, value in params.items() if value)
    text = ", ".join(f"{name} {value:g}" for name, value in params.items())
    return f"{k.policy} ({text})" if text else k.policy


def load(file: str | Path | None = None, /, **overrides: Any) -> ScenarioConfig:
    """The demo defaults, then the TOML `file` (if any), then non-None `overrides` (flags)."""
    raw: dict[str, Any] = {}
    base = Path.cwd()
    if file is not None:
        p = Path(file)
        raw = read_toml(p, "scenario config", ScenarioError)
        base = p.resolve().parent
    raw.update({k: v for k, v in overrides.items() if v is not None})
    cfg = _build(ScenarioConfig, raw, "")
    cfg = dataclasses.replace(cfg, base_dir=base)
    validate(cfg)
    return cfg


# ---------------------------------------------------------------------------- building


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where or 'config'}: expected a table, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "base_dir"}
    for unknown in sorted(set(raw) - names):
        raise ScenarioError(f"{where}{unknown}: unknown setting (known: {', '.join(sorted(names))})")
    values = {name: _coerce(f"{where}{name}", raw[name], hints[name]) for name in names if name in raw}
    return cls(**values)


def _coerce(where: str, value: Any, typ: Any) -> Any:
    origin = typing.get_origin(typ)
    if isinstance(typ, type) and dataclasses.is_dataclass(typ):
        return _build(typ, value, f"{where}.")
    if origin is tuple:
        (inner, *_rest) = typing.get_args(typ)
        if not isinstance(value, (list, tuple)):
            raise ScenarioError(f"{where}: expected a list, got {value!r}")
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            return tuple(_build(inner, v, f"{where}[{i}].") for i, v in enumerate(value))
        return tuple(_coerce(f"{where}[{i}]", v, inner) for i, v in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or typ is Mapping:
        if not isinstance(value, dict):
            raise ScenarioError(f"{where}: expected a table, got {value!r}")
        return {str(k): _coerce(f"{where}.{k}", v, float) for k, v in value.items()}
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ScenarioError(f"{where}: expected true/false, got {value!r}")
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ScenarioError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected a string, got {value!r}")
        return value
    raise ScenarioError(f"{where}: unsupported setting type {typ!r}")  # pragma: no cover


# ---------------------------------------------------------------------------- validation


def validate(c: ScenarioConfig) -> None:
    def need(ok: bool, where: str, message: str) -> None:
        if not ok:
            raise ScenarioError(f"{where}: {message}")

    need(1 <= c.steps <= 5_000, "steps", f"must be 1..5000, got {c.steps}")
    need(MIN_STEP_SECONDS <= c.step_seconds <= MAX_STEP_SECONDS, "step_seconds",
         f"must be {MIN_STEP_SECONDS}..{MAX_STEP_SECONDS} (the oracle heartbeat), got {c.step_seconds}")
    need(0 <= c.seed < 2**63, "seed", f"must be a non-negative integer, got {c.seed}")
    p = c.path
    need(p.model in MODELS, "path.model", f"{p.model!r} is not one of {', '.join(MODELS)}")
    need(100 <= p.s0 <= 100_000, "path.s0", f"must be 100..100000 USD, got {p.s0}")
    need(0.05 <= p.sigma <= 3.0, "path.sigma", f"must be 0.05..3.0 (the vol feed's bounds), got {p.sigma}")
    need(0.5 <= p.implied_vol_markup <= 2.0, "path.implied_vol_markup", f"must be 0.5..2.0, got {p.implied_vol_markup}")
    need(-2.0 <= p.mu <= 2.0, "path.mu", f"must be -2..2 per year, got {p.mu}")
    if p.model == "merton":
        need(0 <= p.jump_intensity <= 1_000, "path.jump_intensity", f"must be 0..1000 per year, got {p.jump_intensity}")
        need(0 <= p.jump_vol <= 1.0, "path.jump_vol", f"must be 0..1, got {p.jump_vol}")
        need(abs(p.jump_mean) <= 1.0, "path.jump_mean", f"must be -1..1, got {p.jump_mean}")
    if p.model == "regime":
        need(len(p.vols) == 2 and all(0.05 <= v <= 3.0 for v in p.vols), "path.vols",
             f"give two vols in 0.05..3.0 (calm, turbulent), got {list(p.vols)}")
        need(len(p.switch_rates) == 2 and all(r >= 0 for r in p.switch_rates), "path.switch_rates",
             f"give two non-negative rates per year, got {list(p.switch_rates)}")
    if p.model == "csv":
        need(bool(p.csv), "path.csv", "give the CSV file of timestamp,price rows")
        need(p.csv_method in ("windows", "bootstrap"), "path.csv_method", f"{p.csv_method!r} is not windows or bootstrap")
        need(p.csv_block_steps >= 1, "path.csv_block_steps", f"must be >= 1, got {p.csv_block_steps}")
        need(p.vol_halflife_steps > 0, "path.vol_halflife_steps", f"must be positive, got {p.vol_halflife_steps}")
    need(10 <= c.market.pool_weth <= 1_000_000, "market.pool_weth", f"must be 10..1e6 WETH, got {c.market.pool_weth}")
    need(0 < c.market.gas_price_gwei <= 1_000, "market.gas_price_gwei", f"must be in (0, 1000], got {c.market.gas_price_gwei}")
    need(len(c.depositors) >= 1, "depositors", "give at least one depositor")
    need(len(c.depositors) <= 3, "depositors", f"at most 3 (Anvil accounts 2..4), got {len(c.depositors)}")
    for i, d in enumerate(c.depositors):
        need(1 <= d.usd <= 5_000_000, f"depositors[{i}].usd", f"must be 1..5,000,000 USDC, got {d.usd}")
        need(0 <= d.at <= 1, f"depositors[{i}].at", f"must be 0..1 (a fraction of the run), got {d.at}")
    b = c.buyers
    need(1 <= b.accounts <= 4, "buyers.accounts", f"must be 1..4 (Anvil accounts 5..8), got {b.accounts}")
    need(0 <= b.buys_per_step <= 20, "buyers.buys_per_step", f"must be 0..20, got {b.buys_per_step}")
    need(1 <= b.max_buys_per_step <= 20, "buyers.max_buys_per_step", f"must be 1..20, got {b.max_buys_per_step}")
    need(0.01 <= b.min_size <= b.max_size, "buyers.min_size", f"must be 0.01..max_size, got {b.min_size}")
    need(b.max_size <= 100, "buyers.max_size", f"must be at most 100 WETH, got {b.max_size}")
    need(0 <= b.call_share <= 1, "buyers.call_share", f"must be 0..1, got {b.call_share}")
    li = c.lister
    need(li.every_hours == 0 or li.every_hours * 3600 >= c.step_seconds, "lister.every_hours",
         f"must be at least one step ({c.step_seconds / 3600:g} h), or 0 for half the tenor; got {li.every_hours}")
    need(li.tenor_hours >= 0 and li.tenor_hours <= 90 * 24, "lister.tenor_hours",
         f"must be 0 (auto) or at most 90 days, got {li.tenor_hours}")
    need(c.tenor_seconds >= 3600, "lister.tenor_hours",
         f"options need at least 1 hour to expiry (the market's minimum); the run is {c.horizon_seconds / 3600:g} h "
         "(add steps, or set lister.tenor_hours)")
    need(c.tenor_seconds <= c.horizon_seconds, "lister.tenor_hours",
         f"{c.tenor_seconds / 3600:g} h is longer than the run ({c.horizon_seconds / 3600:g} h): nothing would expire "
         "inside it (shorten it or add steps)")
    need(len(li.calls) + len(li.puts) >= 1, "lister", "list at least one call or put moneyness")
    need(len(li.calls) + len(li.puts) <= 8, "lister", "at most 8 series per expiry (the market's live-series cap)")
    for kind, values in (("calls", li.calls), ("puts", li.puts)):
        for i, m in enumerate(values):
            need(0.55 <= m <= 1.9, f"lister.{kind}[{i}]", f"moneyness must be 0.55..1.9 (the market's strike range), got {m}")
    need(li.strike_step > 0, "lister.strike_step", f"must be positive, got {li.strike_step}")
    need(len(c.arms) >= 1 and len(set(c.arms)) == len(c.arms), "arms", f"give distinct arms, got {list(c.arms)}")
    for i, a in enumerate(c.arms):
        need(a in ARMS, f"arms[{i}]", f"{a!r} is not one of {', '.join(ARMS)}")
    _validate_policy(need, "fixed_band", c.fixed_band.policy, c.fixed_band.policy_params)
    k = c.keeper
    _validate_policy(need, "keeper", k.policy, k.policy_params)
    need(0.05 <= k.tick_seconds <= 5, "keeper.tick_seconds", f"must be 0.05..5, got {k.tick_seconds}")
    need(k.step_timeout_seconds > 0, "keeper.step_timeout_seconds", "must be positive")


def _validate_policy(need: Any, where: str, policy: str, params: Mapping[str, float]) -> None:
    need(policy not in REMOVED_POLICIES, f"{where}.policy", f"{policy!r} was removed: {REMOVED_POLICIES.get(policy)}")
    need(policy in POLICIES, f"{where}.policy", f"{policy!r} is not one of {', '.join(POLICIES)}")
    try:
        build_policy(policy, dict(params))
    except ValueError as exc:
        need(False, f"{where}.policy_params", str(exc))
