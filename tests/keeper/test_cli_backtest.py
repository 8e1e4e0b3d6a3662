"""`hv backtest` (keeper.cli_backtest.backtest): table, TOML settings, outputs, replay, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from keeper.cli_backtest import backtest, load_settings

SMALL = ["--paths", "200", "--steps", "48", "--days", "7"]


def run(*args: str):
    return CliRunner().invoke(backtest, list(args), catch_exceptions=False)


def test_backtest_prints_one_row_per_policy():
    result = run(*SMALL)
    assert result.exit_code == 0, result.output
    for name in ("interval", "fixed-band", "whalley-wilmott", "adaptive"):
        assert name in result.output
    assert "mean cost" in result.output and "std error" in result.output


def test_policy_flag_selects_policies():
    result = run(*SMALL, "--policy", "adaptive")
    assert result.exit_code == 0
    assert "adaptive" in result.output and "whalley-wilmott" not in result.output


def test_toml_config_is_read_and_flags_override_it(tmp_path):
    cfg = tmp_path / "bt.toml"
    cfg.write_text(
        '[market]\nmodel = "merton"\npaths = 100\nsteps = 24\ndays = 3\n'
        "[book]\nstrikes = [2100.0]\nis_call = [true]\nquantities = [-5.0]\n"
        '[[policies]]\nkind = "fixed"\nname = "tight"\nhalf_width_base = 0.2\n'
    )
    result = run("--config", str(cfg), "--paths", "150")
    assert result.exit_code == 0, result.output
    assert "tight" in result.output and "merton, 150 paths" in result.output


def test_out_dir_gets_a_json_summary_and_charts(tmp_path):
    result = run(*SMALL, "--policy", "interval", "--policy", "fixed", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "backtest_summary.json").read_text())
    assert set(summary["policies"]) == {"interval", "fixed-band"}
    assert summary["policies"]["interval"]["premium"] > 0.0
    pytest.importorskip("matplotlib")
    for name in ("backtest_cost_vs_risk.png", "backtest_pnl_hist.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replay_model_reads_a_price_csv(tmp_path):
    csv = tmp_path / "eth.csv"
    rows = ["timestamp,price"] + [
        f"{1_700_000_000 + 3600 * i},{2000 * (1 + 0.01 * ((i * 7) % 5 - 2))}" for i in range(400)
    ]
    csv.write_text("\n".join(rows) + "\n")
    result = run("--model", "replay", "--csv", str(csv), "--paths", "50", "--steps", "48", "--days", "2")
    assert result.exit_code == 0, result.output
    assert "replay, 50 paths" in result.output


def test_replay_without_csv_is_a_clear_error():
    result = CliRunner().invoke(backtest, ["--model", "replay", *SMALL])
    assert result.exit_code != 0
    assert "needs a price CSV" in result.output


def test_unknown_policy_kind_in_config_is_a_clear_error(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[policies]]\nkind = "magic"\n')
    result = CliRunner().invoke(backtest, ["--config", str(cfg), *SMALL])
    assert result.exit_code != 0
    assert "policy kind must be one of" in result.output


def test_settings_merge_defaults_config_and_flags():
    settings = load_settings({"market": {"vol": 0.5, "paths": 10}}, {"paths": 20, "seed": None})
    assert settings["market"]["vol"] == 0.5
    assert settings["market"]["paths"] == 20
    assert settings["market"]["seed"] == 7  # None flags leave the default alone
