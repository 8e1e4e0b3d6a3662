"""`hv backtest` (keeper.cli_backtest.backtest): table, TOML settings, outputs, replay, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import keeper.policy
from keeper.cli_backtest import backtest, default_policy, load_settings

SMALL = ["--paths", "200", "--steps", "48", "--days", "7"]


def run(*args: str):
    return CliRunner().invoke(backtest, list(args), catch_exceptions=False)


def test_backtest_prints_one_row_per_policy():
    result = run(*SMALL)
    assert result.exit_code == 0, result.output
    for name in ("interval", "fixed-band", "whalley-wilmott", "adaptive"):
        assert name in result.output
    assert "mean cost" in result.output and "std error" in result.output


def test_policy_flag_selects_policies_and_keeps_the_default_row(tmp_path):
    result = run(*SMALL, "--policy", "adaptive", "--out", str(tmp_path), "--no-charts")
    assert result.exit_code == 0, result.output
    labels = set(json.loads((tmp_path / "backtest_summary.json").read_text())["policies"])
    assert labels == {"adaptive γ=1e-3", default_policy()[0]}


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
    assert set(summary["policies"]) == {"interval 1h", "interval 4h", "interval 24h", "fixed-band 5", default_policy()[0]}
    assert summary["policies"]["interval 1h"]["premium"] > 0.0
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


def summary_of(tmp_path, *args: str) -> dict:
    result = run(*SMALL, *args, "--out", str(tmp_path), "--no-charts")
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "backtest_summary.json").read_text())


def test_default_policy_is_its_own_row_and_marked(tmp_path):
    summary = summary_of(tmp_path)
    defaults = [label for label, row in summary["policies"].items() if row["default"]]
    assert defaults == [default_policy()[0]] == [summary["default_policy"]["label"]]
    assert summary["default_policy"]["name"] == keeper.policy.DEFAULT_POLICY
    assert len(summary["policies"]) == 8  # seven compared policies and the default


def test_default_row_follows_keeper_policy_at_run_time(tmp_path, monkeypatch):
    monkeypatch.setattr(keeper.policy, "DEFAULT_POLICY", "whalley_wilmott")
    monkeypatch.setattr(keeper.policy, "DEFAULT_POLICY_PARAMS", {"whalley_wilmott": {"risk_aversion": 4e-4}})
    summary = summary_of(tmp_path, "--policy", "fixed")
    assert summary["default_policy"] == {
        "label": "default (whalley_wilmott γ=0.0004)",
        "name": "whalley_wilmott",
        "params": {"risk_aversion": 4e-4},
    }
    assert summary["policies"]["default (whalley_wilmott γ=0.0004)"]["default"] is True


def test_frontier_flags_exactly_the_non_dominated_policies(tmp_path):
    rows = summary_of(tmp_path)["policies"]
    points = {label: (row["mean_cost"], row["std_error"]) for label, row in rows.items()}
    for label, (cost, std) in points.items():
        dominated = any(
            c <= cost and s <= std and (c < cost or s < std) for other, (c, s) in points.items() if other != label
        )
        assert rows[label]["frontier"] is (not dominated), label
    assert any(row["frontier"] for row in rows.values())


def test_json_carries_cost_std_over_premium_and_cost_as_percent_of_premium(tmp_path):
    for row in summary_of(tmp_path)["policies"].values():
        assert row["std_cost_over_premium"] == pytest.approx(row["std_cost"] / row["premium"], rel=1e-12)
        assert row["cost_pct_premium"] == pytest.approx(100 * row["mean_cost"] / row["premium"], rel=1e-12)
        assert row["std_error"] > 0.0


def test_table_flags_the_frontier_and_the_default():
    result = run(*SMALL)
    assert result.exit_code == 0, result.output
    assert "% prem" in result.output and "std cost/prem" in result.output
    assert "●" in result.output and "★ default" in result.output


def test_dask_run_prints_the_in_process_numbers(tmp_path):
    pytest.importorskip("distributed")
    here = summary_of(tmp_path / "here", "--paths", "300", "--chunk-paths", "120")
    there = summary_of(tmp_path / "there", "--paths", "300", "--chunk-paths", "120", "--workers", "2")
    assert here["engine"] == "in-process" and there["engine"] == "dask local cluster, 2 workers"
    assert here["policies"] == there["policies"]


def test_workers_with_a_scheduler_is_a_clear_error():
    result = CliRunner().invoke(backtest, [*SMALL, "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"])
    assert result.exit_code != 0
    assert "--workers sizes the local cluster" in result.output


def test_bad_chunk_paths_in_config_names_the_field(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[market]\nchunk_paths = 0\n")
    result = CliRunner().invoke(backtest, ["--config", str(cfg), *SMALL])
    assert result.exit_code != 0
    assert "market.chunk_paths must be a positive integer" in result.output


def test_two_policies_with_one_name_is_a_clear_error(tmp_path):
    cfg = tmp_path / "dup.toml"
    cfg.write_text(
        '[[policies]]\nkind = "fixed"\nname = "band"\nhalf_width_base = 1.0\n'
        '[[policies]]\nkind = "fixed"\nname = "band"\nhalf_width_base = 2.0\n'
    )
    result = CliRunner().invoke(backtest, ["--config", str(cfg), *SMALL])
    assert result.exit_code != 0
    assert "two policies are named 'band'" in result.output


@pytest.mark.parametrize("table, words", [
    ('[envelope]\ndust_base = "x"\n', "envelope.dust_base: expected a number, got 'x'"),
    ("[envelope]\nmax_trade = 5.0\n", "envelope.max_trade: unknown field"),
    ("[envelope]\nmax_trade_base = -1.0\n", "envelope.max_trade_base must be >= 0"),
])
def test_a_bad_envelope_table_is_one_line_naming_the_field(tmp_path, table, words):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(table)
    result = run("--config", str(cfg), "--paths", "2", "--steps", "2")
    assert result.exit_code == 2 and words in result.output
