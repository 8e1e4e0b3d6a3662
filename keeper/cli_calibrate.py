"""`hv calibrate`: fit the default policy's risk aversion for a book, vol and costs, and write it
into the keeper's config.

The market, book, costs and envelope come from the same TOML as `hv backtest` (its [market],
[book], [costs], [hedger], [envelope] tables; flags override). One rule picks the risk aversion
(keeper/sim/calibrate.py): `--target-std-pct` (hedge-error std as % of the premium),
`--target-std` (USD) or `--price-of-risk` (1/USD, the minimum of friction + λ · variance).

With `--write KEEPER_TOML --vault NAME` the result becomes that vault's `policy` and
`policy_params`; an existing, different policy setting is replaced only with `--yes` (or after
a yes at the prompt), and the rest of the file is kept byte for byte.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from keeper.cli_backtest import build_scenario, load_settings, read_config
from keeper.policy import DEFAULT_POLICY, policy_param_names
from keeper.sim.backtest import book_premium
from keeper.sim.calibrate import CALIBRATED, Calibration, calibrate


@click.command("calibrate")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Backtest TOML: [market], [book], [costs], [hedger], [envelope].")
@click.option("--policy", type=click.Choice(CALIBRATED), default=DEFAULT_POLICY, show_default=True)
@click.option("--target-std-pct", type=click.FloatRange(min=0.0, min_open=True),
              help="Target hedge-error std, % of the premium.")
@click.option("--target-std", type=click.FloatRange(min=0.0, min_open=True), help="Target hedge-error std, USD.")
@click.option("--price-of-risk", type=click.FloatRange(min=0.0, min_open=True),
              help="λ in 1/USD: minimise mean friction + λ x variance.")
@click.option("--param", "fixed", multiple=True, metavar="NAME=VALUE",
              help="Fix another parameter of the policy, e.g. max_half_width_base=20 (repeatable).")
@click.option("--paths", type=click.IntRange(min=2), help="Simulated paths (default: the config's).")
@click.option("--steps", type=click.IntRange(min=1), help="Checks over the horizon (default: the config's).")
@click.option("--seed", type=int)
@click.option("--write", "keeper_config", type=click.Path(dir_okay=False, path_type=Path),
              help="Keeper config to write the result into (with --vault).")
@click.option("--vault", "vault_name", help="The [[vault]] whose policy to set (its `name`).")
@click.option("--yes", is_flag=True, help="Replace an existing, different policy setting without asking.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the curve as JSON.")
def calibrate_cmd(config_path: Path | None, policy: str, target_std_pct: float | None, target_std: float | None,
                  price_of_risk: float | None, fixed: tuple[str, ...], keeper_config: Path | None,
                  vault_name: str | None, yes: bool, json_path: Path | None, **flags: Any) -> None:
    """Calibrate the default policy's risk aversion for a book; optionally write it into a keeper config."""
    rules = [x for x in (target_std_pct, target_std, price_of_risk) if x is not None]
    if len(rules) != 1:
        raise click.UsageError("give exactly one of --target-std-pct, --target-std, --price-of-risk")
    if (keeper_config is None) != (vault_name is None):
        raise click.UsageError("--write and --vault go together")
    settings = _settings(config_path, flags)
    params = _params(policy, fixed)
    if keeper_config is not None and vault_name is not None:
        read_vault(keeper_config, vault_name)  # a wrong file or vault is said before the minutes of calibration
    try:
        scenario = build_scenario(settings)
        case = scenario.case
        times = case.paths.times()
        paths = np.concatenate([case.paths.generate(k) for k in range(case.paths.n_chunks)])
        if target_std_pct is not None:
            target_std = book_premium(paths[:, 0], case.book, case.config) * target_std_pct / 100.0
        result = calibrate(paths, times, case.book, case.config, policy=policy, target_std=target_std,
                           price_of_risk=price_of_risk, params=params)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    console = Console(width=max(Console().width, 110))
    console.print(_table(result, scenario.label))
    console.print(f"chosen: {result.policy} risk_aversion = {result.risk_aversion:.6g} ({result.rule})", markup=False)
    if json_path is not None:
        json_path.write_text(json.dumps(_as_json(result), indent=1))
    if keeper_config is not None and vault_name is not None:
        write_policy(keeper_config, vault_name, result.policy, result.params, yes)
        console.print(f"wrote policy = {result.policy!r}, policy_params = {_inline(result.params)} into "
                      f"{keeper_config} [[vault]] {vault_name!r}", markup=False)


def _params(policy: str, fixed: tuple[str, ...]) -> dict[str, float]:
    """--param NAME=VALUE pairs; a one-line error names a malformed pair or an unknown parameter."""
    known = [n for n in policy_param_names(policy) if n != "risk_aversion"]
    out: dict[str, float] = {}
    for pair in fixed:
        name, sep, value = pair.partition("=")
        if not sep or name not in known:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE with NAME one of {', '.join(known)}",
                                     param_hint="--param")
        try:
            out[name] = float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: {value!r} is not a number", param_hint="--param") from None
    return out


def _settings(config_path: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    raw = read_config(config_path)
    raw.pop("policies", None)  # calibration runs one policy
    return load_settings(raw, flags)


def _table(result: Calibration, label: str) -> Table:
    table = Table(title=f"calibration of {result.policy}: {label}",
                  caption="friction = venue fee and impact + gas + exit, USD; std = hedge-error std, USD")
    for header in ("risk aversion", "friction", "% premium", "std", "% premium ", "trades", ""):
        table.add_column(header, justify="right")
    for p in result.curve:
        pct = 100.0 / result.premium
        table.add_row(f"{p.risk_aversion:.4g}", f"{p.mean_friction:,.2f}", f"{p.mean_friction * pct:.2f}",
                      f"{p.std_error:,.2f}", f"{p.std_error * pct:.2f}", f"{p.mean_trades:.1f}",
                      "◀ chosen" if p is result.chosen else "")
    return table


def _as_json(result: Calibration) -> dict[str, Any]:
    return {
        "policy": result.policy, "params": result.params, "rule": result.rule, "premium": result.premium,
        "curve": [p.__dict__ for p in result.curve],
    }


# ----------------------------------------------------------------------------- writing the keeper config


def _inline(params: dict[str, float]) -> str:
    for k, v in params.items():
        if not math.isfinite(float(v)):
            raise click.ClickException(f"--write: policy_params.{k} = {v} cannot be written (not finite)")
    return "{ " + ", ".join(f"{k} = {float(v)!r}" for k, v in sorted(params.items())) + " }"


_VAULT_HEADER = re.compile(r"^\s*\[\[vault\]\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[")


def read_vault(path: Path, vault: str) -> tuple[str, list[Any], int]:
    """The keeper config's text, its [[vault]] tables and the index of the one named `vault`; a
    one-line error when the file cannot be read or parsed or has no such vault."""
    try:
        text = path.read_text()
        parsed = tomllib.loads(text)
    except OSError as exc:
        raise click.ClickException(f"--write: cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise click.ClickException(f"--write: {path} is not valid TOML: {exc}") from None
    vaults = parsed.get("vault", [])
    names = [v.get("name") for v in vaults if isinstance(v, dict)]
    if vault not in names:
        raise click.ClickException(f"--vault: no [[vault]] named {vault!r} in {path} (found: {', '.join(map(str, names))})")
    return text, vaults, names.index(vault)


def write_policy(path: Path, vault: str, policy: str, params: dict[str, float], yes: bool) -> None:
    """Set `policy` and `policy_params` in the [[vault]] table named `vault`, keeping every other line.

    A different policy already set there is replaced only with `yes` (else the user is asked).
    The edit must parse back to exactly the intended values, or nothing is written."""
    text, vaults, index = read_vault(path, vault)
    old = vaults[index]
    if "policy_params" in old and not isinstance(old["policy_params"], dict):
        raise click.ClickException(f"--write: vault[{index}].policy_params is not a table")
    if isinstance(old.get("policy_params"), dict) and "[vault.policy_params]" in text.replace(" ", ""):
        raise click.ClickException(f"--write: vault[{index}].policy_params is a [vault.policy_params] table; "
                                   "make it an inline table (policy_params = {{ ... }}) to let hv calibrate edit it")
    current = (old.get("policy", DEFAULT_POLICY), old.get("policy_params", {}))
    if ("policy" in old or "policy_params" in old) and current != (policy, params) and not yes:
        click.confirm(f"vault {vault!r} has policy {current[0]!r} {current[1]}; replace it with {policy!r} "
                      f"{params}?", abort=True)
    lines = text.splitlines(keepends=True)
    start, end = _vault_span(lines, index)
    body = [ln for ln in lines[start + 1:end] if not re.match(r"^\s*(policy|policy_params)\s*=", ln)]
    new = [f"policy = {json.dumps(policy)}\n", f"policy_params = {_inline(params)}\n"]
    out = "".join(lines[: start + 1] + new + body + lines[end:])
    try:
        check = tomllib.loads(out)["vault"][index]
    except tomllib.TOMLDecodeError:
        check = {}
    if check.get("policy") != policy or check.get("policy_params") != params:
        raise click.ClickException(f"--write: could not edit {path} safely (a multi-line policy setting?); "
                                   "nothing was written")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(out)
    tmp.replace(path)


def _vault_span(lines: list[str], index: int) -> tuple[int, int]:
    """The [[vault]] header line of the index-th vault and the line after its table ends."""
    headers = [i for i, ln in enumerate(lines) if _VAULT_HEADER.match(ln)]
    start = headers[index]
    end = next((i for i in range(start + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines))
    return start, end

