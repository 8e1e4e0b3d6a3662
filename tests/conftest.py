"""Shared test setup.

Brownie's pytest plugin launches the `development` network (Anvil) when collection finishes;
before that, point it at a free loopback port so a node someone else runs on 8545 is never
attached to or disturbed, and two runs can share a machine.

It also makes brownie patient, for the whole session and every test folder, before any transaction
is sent: a transaction Anvil has mined is sometimes called "dropped" by brownie under load
(tests/brownie_patience.py).
"""

from __future__ import annotations

import pytest

from keeper.localchain import free_port


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="run deep fuzzing and long tests")


def pytest_configure(config: pytest.Config) -> None:
    try:
        from brownie._config import CONFIG
    except ImportError:  # keeper-only environment
        return
    from tests import brownie_patience

    brownie_patience.install()
    dev = CONFIG.networks.get("development")
    if dev is not None:
        dev.setdefault("cmd_settings", {})
        dev["cmd_settings"]["port"] = free_port()
        dev["cmd_settings"]["host"] = "127.0.0.1"


def pytest_unconfigure(config: pytest.Config) -> None:
    try:
        from tests import brownie_patience
    except ImportError:  # keeper-only environment
        return
    brownie_patience.uninstall()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="deep run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
