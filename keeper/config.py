"""One validated configuration: a TOML file, then HV_KEEPER_* environment overrides.

Every error names the field (`keeper.rpc_urls[1]: ...`). Secrets never live here: the key comes
from an environment variable or an encrypted keystore whose password is in the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from keeper.policy import DEFAULT_POLICY, POLICY_CLASSES, build_policy, policy_param_names
from keeper.volforecast import VOL_FORECASTS

POLICIES = tuple(POLICY_CLASSES)
# Policies that no longer exist, and what to use instead.
REMOVED_POLICIES = {
    "contract": "the vault no longer has an on-chain band to follow (it only bounds what a keeper trade may do); "
                "use fixed_band (its default, half_width_base = 1.0, is the old on-chain band)",
}
MODELS = ("black_scholes", "merton")


class ConfigError(ValueError):
    """Invalid configuration; the message starts with the field's path."""


@dataclass(frozen=True)
class KeySource:
    env: str | None = None
    keystore: Path | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class VaultConfig:
    name: str
    deployment: Path
    model: str = "black_scholes"
    policy: str = DEFAULT_POLICY
    policy_params: Mapping[str, float] = field(default_factory=dict)
    merton: Mapping[str, float] = field(default_factory=dict)
    vol_forecast: str = "ewma"  # or "garch": fitted on the keeper's own spot history (keeper/volforecast.py)


@dataclass(frozen=True)
class KeeperConfig:
    rpc_urls: tuple[str, ...]
    key: KeySource
    journal: Path
    vaults: tuple[VaultConfig, ...]
    chain_id: int | None = None
    rpc_timeout_seconds: float = 10.0
    tick_seconds: float = 15.0
    new_block_trigger: bool = True
    dry_run: bool = False
    confirmations: int = 1
    max_fee_gwei: float = 200.0
    priority_percentile: float = 50.0
    bump_after_seconds: float = 30.0
    receipt_timeout_seconds: float = 300.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    health_max_age_seconds: float = 120.0
    log_level: str = "INFO"


SCALARS = {f.name: f for f in fields(KeeperConfig) if f.name not in ("rpc_urls", "key", "journal", "vaults")}


def read_toml(path: Path, what: str, error: type[ValueError] = ConfigError) -> dict[str, Any]:
    """The parsed file, or `error` with one line saying which file and what is wrong with it."""
    if not path.exists():
        raise error(f"{what} {path} not found")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> KeeperConfig:
    env = os.environ if env is None else env
    raw = read_toml(Path(path), "config file") if path is not None else {}
    keeper = dict(raw.get("keeper", {}))
    _apply_env(keeper, env)
    return _build(keeper, raw.get("vault", []), base=Path(path).parent if path else Path.cwd())


def _apply_env(keeper: dict[str, Any], env: Mapping[str, str]) -> None:
    """HV_KEEPER_<FIELD>=value overrides keeper.<field>; lists are comma-separated."""
    for name, value in env.items():
        if not name.startswith("HV_KEEPER_") or name == "HV_KEEPER_KEY":
            continue
        key = name[len("HV_KEEPER_"):].lower()
        if key == "rpc_urls":
            keeper[key] = [u.strip() for u in value.split(",") if u.strip()]
        elif key in SCALARS or key == "journal":
            keeper[key] = value


def _build(k: dict[str, Any], vaults: Any, base: Path) -> KeeperConfig:
    known = set(SCALARS) | {"rpc_urls", "key", "journal"}
    for unknown in sorted(set(k) - known):
        raise ConfigError(f"keeper.{unknown}: unknown setting (known: {', '.join(sorted(known))})")
    urls = k.get("rpc_urls")
    if not isinstance(urls, list) or not urls:
        raise ConfigError("keeper.rpc_urls: give at least one RPC URL (a list of strings)")
    for i, u in enumerate(urls):
        parsed = urlparse(str(u))
        if parsed.scheme not in ("http", "https", "ws", "wss") or not parsed.netloc:
            raise ConfigError(f"keeper.rpc_urls[{i}]: {u!r} is not an http(s) or ws(s) URL")
    scalars = {name: _coerce(f"keeper.{name}", k[name], f.type) for name, f in SCALARS.items() if name in k}
    _check_ranges(scalars)
    if "journal" not in k:
        raise ConfigError("keeper.journal: set the journal's path (an SQLite file)")
    if not isinstance(vaults, list) or not vaults:
        raise ConfigError("vault: configure at least one [[vault]] table")
    built = tuple(_vault(i, v, base) for i, v in enumerate(vaults))
    names = [v.name for v in built]
    if len(set(names)) != len(names):
        raise ConfigError(f"vault: names must be unique, got {names}")
    return KeeperConfig(
        rpc_urls=tuple(str(u) for u in urls), key=_key(k.get("key")), journal=_path(k["journal"], base),
        vaults=built, **scalars,
    )


def _coerce(where: str, value: Any, typ: Any) -> Any:
    text = str(typ)
    try:
        if "bool" in text:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if "int" in text and "float" not in text:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if "float" in text:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        kind = "true/false" if "bool" in text else "an integer" if "int" in text and "float" not in text else "a number"
        raise ConfigError(f"{where}: expected {kind}, got {value!r}") from None


def _check_ranges(s: dict[str, Any]) -> None:
    positive = ("rpc_timeout_seconds", "tick_seconds", "max_fee_gwei", "bump_after_seconds",
                "receipt_timeout_seconds", "health_max_age_seconds")
    for name in positive:
        if name in s and s[name] <= 0:
            raise ConfigError(f"keeper.{name}: must be positive, got {s[name]}")
    if "confirmations" in s and not 1 <= s["confirmations"] <= 64:
        raise ConfigError(f"keeper.confirmations: must be 1..64, got {s['confirmations']}")
    if "priority_percentile" in s and not 0 <= s["priority_percentile"] <= 100:
        raise ConfigError(f"keeper.priority_percentile: must be 0..100, got {s['priority_percentile']}")
    if "metrics_port" in s and not 0 <= s["metrics_port"] <= 65535:
        raise ConfigError(f"keeper.metrics_port: must be 0..65535, got {s['metrics_port']}")
    if "log_level" in s and s["log_level"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"keeper.log_level: one of DEBUG, INFO, WARNING, ERROR, got {s['log_level']!r}")


def _key(raw: Any) -> KeySource:
    if raw is None:
        return KeySource(env="HV_KEEPER_KEY")
    if not isinstance(raw, dict):
        raise ConfigError("keeper.key: a table like { env = \"HV_KEEPER_KEY\" } or { keystore = PATH, password_env = VAR }")
    if "private_key" in raw or any(str(v).startswith("0x") and len(str(v)) == 66 for v in raw.values()):
        raise ConfigError("keeper.key: a plain private key in the config is refused; use env or keystore")
    if "env" in raw:
        return KeySource(env=str(raw["env"]))
    if "keystore" in raw:
        if "password_env" not in raw:
            raise ConfigError("keeper.key.password_env: name the environment variable holding the keystore password")
        return KeySource(keystore=Path(raw["keystore"]), password_env=str(raw["password_env"]))
    raise ConfigError("keeper.key: give `env` or `keystore` + `password_env`")


def _path(value: Any, base: Path) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else base / p


def _vault(i: int, raw: Any, base: Path) -> VaultConfig:
    where = f"vault[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    for required in ("name", "deployment"):
        if required not in raw:
            raise ConfigError(f"{where}.{required}: required")
    policy = raw.get("policy", DEFAULT_POLICY)
    if policy in REMOVED_POLICIES:
        raise ConfigError(f"{where}.policy: {policy!r} was removed: {REMOVED_POLICIES[policy]}")
    if policy not in POLICIES:
        raise ConfigError(f"{where}.policy: {policy!r} is not one of {', '.join(POLICIES)}")
    model = raw.get("model", "black_scholes")
    if model not in MODELS:
        raise ConfigError(f"{where}.model: {model!r} is not one of {', '.join(MODELS)}")
    params = raw.get("policy_params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{where}.policy_params: expected a table, got {params!r}")
    for key, value in params.items():
        if key not in policy_param_names(policy):
            raise ConfigError(f"{where}.policy_params.{key}: not a parameter of {policy} "
                              f"(known: {', '.join(policy_param_names(policy))})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}.policy_params.{key}: expected a number, got {value!r}")
    try:
        build_policy(policy, params)
    except ValueError as exc:
        raise ConfigError(f"{where}.policy_params: {exc}") from None
    vol_forecast = raw.get("vol_forecast", "ewma")
    if vol_forecast not in VOL_FORECASTS:
        raise ConfigError(f"{where}.vol_forecast: {vol_forecast!r} is not one of {', '.join(VOL_FORECASTS)}")
    merton = raw.get("merton", {})
    if model == "merton":
        for key in ("intensity", "mean_jump", "jump_vol"):
            if key not in merton:
                raise ConfigError(f"{where}.merton.{key}: required for the merton model")
    return VaultConfig(
        name=str(raw["name"]), deployment=_path(raw["deployment"], base), model=model, policy=policy,
        policy_params=dict(params), merton=dict(merton), vol_forecast=vol_forecast,
    )
