"""Shared test setup.

Brownie's pytest plugin launches the `development` network (Anvil) when collection finishes;
before that, point it at a free loopback port so a node someone else runs on 8545 is never
attached to or disturbed, and two runs can share a machine.
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
    dev = CONFIG.networks.get("development")
    if dev is not None:
        dev.setdefault("cmd_settings", {})
        dev["cmd_settings"]["port"] = free_port()
        dev["cmd_settings"]["host"] = "127.0.0.1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="deep run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
