"""Config validation: every error names its field; env overrides the file; no plain keys."""

from __future__ import annotations

import pytest

from keeper.config import ConfigError, load

GOOD = """
[keeper]
rpc_urls = ["http://127.0.0.1:8545", "https://backup.example:8545"]
journal = "journal.sqlite"
tick_seconds = 5
key = { env = "HV_KEEPER_KEY" }

[[vault]]
name = "eth"
deployment = "deployments/demo.json"
policy = "fixed_band"
policy_params = { half_width_base = 0.5 }
"""


def write(tmp_path, text):
    p = tmp_path / "keeper.toml"
    p.write_text(text)
    return p


def test_good_config_loads_with_paths_relative_to_the_file(tmp_path):
    cfg = load(write(tmp_path, GOOD), env={})
    assert cfg.rpc_urls[1] == "https://backup.example:8545"
    assert cfg.journal == tmp_path / "journal.sqlite"
    assert cfg.vaults[0].deployment == tmp_path / "deployments/demo.json"
    assert cfg.tick_seconds == 5.0 and cfg.dry_run is False


def test_environment_overrides_the_file(tmp_path):
    cfg = load(write(tmp_path, GOOD), env={"HV_KEEPER_DRY_RUN": "true", "HV_KEEPER_RPC_URLS": "http://a:1, http://b:2"})
    assert cfg.dry_run is True
    assert cfg.rpc_urls == ("http://a:1", "http://b:2")


@pytest.mark.parametrize(
    "edit, field",
    [
        (('"http://127.0.0.1:8545"', '"ftp://x"'), "keeper.rpc_urls[0]"),
        (("tick_seconds = 5", "tick_seconds = -1"), "keeper.tick_seconds"),
        (("tick_seconds = 5", 'tick_seconds = "soon"'), "keeper.tick_seconds"),
        (("tick_seconds = 5", "tick_second = 5"), "keeper.tick_second"),
        (('policy = "fixed_band"', 'policy = "yolo"'), "vault[0].policy"),
        (('half_width_base = 0.5', 'half_width_base = "wide"'), "vault[0].policy_params.half_width_base"),
        (('half_width_base = 0.5', 'band = 0.5'), "vault[0].policy_params.band"),
        (('half_width_base = 0.5', 'half_width_base = -1'), "vault[0].policy_params"),
        (('policy = "fixed_band"', 'policy = "whalley_wilmott"'), "vault[0].policy_params"),  # risk_aversion missing
        (('name = "eth"\n', ""), "vault[0].name"),
        (('key = { env = "HV_KEEPER_KEY" }', 'key = { private_key = "0x' + "ab" * 32 + '" }'), "keeper.key"),
        (('key = { env = "HV_KEEPER_KEY" }', 'key = { keystore = "k.json" }'), "keeper.key.password_env"),
        (('journal = "journal.sqlite"\n', ""), "keeper.journal"),
        (('policy = "fixed_band"', 'policy = "fixed_band"\nvol_forecast = "garh"'), "vault[0].vol_forecast"),
    ],
)
def test_each_bad_field_is_named(tmp_path, edit, field):
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, GOOD.replace(*edit)), env={})
    assert str(err.value).startswith(field), str(err.value)


def test_bad_env_override_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"^keeper.confirmations"):
        load(write(tmp_path, GOOD), env={"HV_KEEPER_CONFIRMATIONS": "many"})


def test_missing_file_and_bad_toml_are_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[keeper"), env={})


def test_the_default_policy_is_the_calibrated_whalley_wilmott_band_and_the_fixed_band_an_opt_in(tmp_path):
    from keeper.policy import DEFAULT_POLICY_PARAMS
    from keeper.service import vault_policy

    text = GOOD.replace('policy = "fixed_band"\npolicy_params = { half_width_base = 0.5 }\n', "")
    cfg = load(write(tmp_path, text), env={})
    assert cfg.vaults[0].policy == "whalley_wilmott" and dict(cfg.vaults[0].policy_params) == {}
    policy = vault_policy(cfg.vaults[0])
    assert policy.risk_aversion == DEFAULT_POLICY_PARAMS["whalley_wilmott"]["risk_aversion"]
    fixed = load(write(tmp_path, text.replace('name = ', 'policy = "fixed_band"\nname = ', 1)), env={})
    band = vault_policy(fixed.vaults[0])
    assert (band.half_width_base, band.rebalance_to) == (1.0, 0.0)  # the vault's former on-chain band


def test_the_removed_contract_policy_is_refused_with_what_to_use_instead(tmp_path):
    with pytest.raises(ConfigError, match=r"^vault\[0\]\.policy: 'contract' was removed: .*fixed_band"):
        load(write(tmp_path, GOOD.replace('policy = "fixed_band"', 'policy = "contract"')), env={})


def test_vol_forecast_defaults_to_the_ewma_and_accepts_garch(tmp_path):
    assert load(write(tmp_path, GOOD), env={}).vaults[0].vol_forecast == "ewma"
    garch = GOOD.replace('policy = "fixed_band"', 'policy = "fixed_band"\nvol_forecast = "garch"')
    assert load(write(tmp_path, garch), env={}).vaults[0].vol_forecast == "garch"
