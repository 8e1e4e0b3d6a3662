"""Calibrating the default policy's risk aversion, and `hv calibrate` writing it into a keeper config."""

from __future__ import annotations

import tomllib

import click
import numpy as np
import pytest
from click.testing import CliRunner

from keeper.cli_calibrate import calibrate_cmd, write_policy
from keeper.config import load
from keeper.greeks import OptionBook
from keeper.sim.backtest import BacktestConfig
from keeper.sim.calibrate import calibrate
from keeper.sim.models import gbm_paths, time_grid

DAYS, STEPS = 7.0, 84


@pytest.fixture(scope="module")
def market():
    t = DAYS / 365
    paths = gbm_paths(2000.0, 0.0, 0.8, t, STEPS, 300, np.random.default_rng(5))
    book = OptionBook(np.array([2000.0]), np.array([t]), np.array([True]), np.array([-10.0]))
    return paths, time_grid(t, STEPS), book, BacktestConfig(hedger_vol=0.8, fee_bps=30.0)


def test_a_target_std_picks_the_cheapest_risk_aversion_that_meets_it(market):
    paths, times, book, config = market
    loose = calibrate(paths, times, book, config, target_std=1e12)
    target = float(np.median([p.std_error for p in loose.curve]))
    cal = calibrate(paths, times, book, config, target_std=target)
    meets = [p for p in cal.curve if p.std_error <= target]
    assert cal.chosen.std_error <= target and "cheapest" in cal.rule
    assert cal.chosen.mean_friction == min(p.mean_friction for p in meets)
    assert any(p.std_error > target for p in cal.curve)  # the band between them was searched
    assert cal.params == {"risk_aversion": cal.risk_aversion}


def test_a_price_of_risk_picks_the_minimum_of_friction_plus_lambda_variance(market):
    paths, times, book, config = market
    lam = 1e-3
    cal = calibrate(paths, times, book, config, price_of_risk=lam)
    best = min(p.objective(lam) for p in cal.curve)
    assert cal.chosen.objective(lam) == best
    inner = [p.risk_aversion for p in cal.curve]
    assert min(inner) < cal.risk_aversion < max(inner)  # an interior optimum, not a sweep edge


def test_calibration_refuses_an_ambiguous_rule_and_a_policy_without_risk_aversion(market):
    paths, times, book, config = market
    with pytest.raises(ValueError, match="exactly one"):
        calibrate(paths, times, book, config, target_std=1.0, price_of_risk=1.0)
    with pytest.raises(ValueError, match="policy: 'fixed_band'"):
        calibrate(paths, times, book, config, policy="fixed_band", target_std=1.0)
    with pytest.raises(ValueError, match="target_std must be finite and positive"):
        calibrate(paths, times, book, config, target_std=-1.0)


KEEPER_TOML = """# the keeper
[keeper]
rpc_urls = ["http://127.0.0.1:8545"]
journal = "journal.sqlite"

[[vault]]
name = "eth"   # the main one
deployment = "eth.json"
policy = "fixed_band"
policy_params = { half_width_base = 0.5 }

[[vault]]
name = "btc"
deployment = "btc.json"
"""


def test_write_policy_sets_one_vault_and_keeps_every_other_line(tmp_path):
    path = tmp_path / "keeper.toml"
    path.write_text(KEEPER_TOML)
    write_policy(path, "btc", "whalley_wilmott", {"risk_aversion": 0.0123}, yes=False)
    text = path.read_text()
    for line in KEEPER_TOML.splitlines():
        assert line in text  # nothing of the other vault, comments included, changed
    cfg = load(path, env={})
    btc = next(v for v in cfg.vaults if v.name == "btc")
    assert btc.policy == "whalley_wilmott" and dict(btc.policy_params) == {"risk_aversion": 0.0123}


def test_write_policy_asks_before_replacing_a_different_policy_and_keeps_the_file_on_no(tmp_path, monkeypatch):
    path = tmp_path / "keeper.toml"
    path.write_text(KEEPER_TOML)
    monkeypatch.setattr("click.termui.visible_prompt_func", lambda *_: "n")
    with pytest.raises(click.exceptions.Abort):
        write_policy(path, "eth", "whalley_wilmott", {"risk_aversion": 0.01}, yes=False)
    assert path.read_text() == KEEPER_TOML
    write_policy(path, "eth", "whalley_wilmott", {"risk_aversion": 0.01}, yes=True)
    eth = tomllib.loads(path.read_text())["vault"][0]
    assert eth["policy"] == "whalley_wilmott" and eth["policy_params"] == {"risk_aversion": 0.01}


def test_write_policy_names_an_unknown_vault(tmp_path):
    path = tmp_path / "keeper.toml"
    path.write_text(KEEPER_TOML)
    with pytest.raises(click.ClickException, match="no \\[\\[vault\\]\\] named 'sol'.*found: eth, btc"):
        write_policy(path, "sol", "whalley_wilmott", {"risk_aversion": 0.01}, yes=True)
    assert path.read_text() == KEEPER_TOML


def test_hv_calibrate_prints_the_curve_and_writes_the_keeper_config(tmp_path):
    cfg = tmp_path / "book.toml"
    cfg.write_text("[market]\npaths = 200\nsteps = 84\ndays = 7\n[book]\nstrikes = [2000.0]\nquantities = [-10.0]\n"
                   "is_call = [true]\n[costs]\ngas_price_gwei = 0.0\n")
    keeper = tmp_path / "keeper.toml"
    keeper.write_text(KEEPER_TOML)
    res = CliRunner().invoke(calibrate_cmd, ["--config", str(cfg), "--price-of-risk", "0.001", "--write", str(keeper),
                                             "--vault", "btc"])
    assert res.exit_code == 0, res.output
    assert "◀ chosen" in res.output and "wrote policy = 'whalley_wilmott'" in res.output
    btc = tomllib.loads(keeper.read_text())["vault"][1]
    assert btc["policy"] == "whalley_wilmott" and btc["policy_params"]["risk_aversion"] > 0


def test_hv_calibrate_needs_exactly_one_rule(tmp_path):
    res = CliRunner().invoke(calibrate_cmd, ["--target-std", "10", "--price-of-risk", "0.1"])
    assert res.exit_code == 2 and "exactly one of --target-std-pct, --target-std, --price-of-risk" in res.output


def test_hv_calibrate_names_a_wrong_vault_before_it_calibrates(tmp_path):
    keeper = tmp_path / "keeper.toml"
    keeper.write_text(KEEPER_TOML)
    curve = tmp_path / "curve.json"
    res = CliRunner().invoke(calibrate_cmd, ["--price-of-risk", "0.001", "--json", str(curve), "--write", str(keeper),
                                             "--vault", "sol"])
    assert res.exit_code == 1 and "no [[vault]] named 'sol'" in res.output
    assert not curve.exists() and keeper.read_text() == KEEPER_TOML  # nothing ran, nothing written
