"""Fixtures for the contract tests: one deployer, the library harnesses (module scope: deploying once
per module keeps the suite fast; tests that change state use `fn_isolation`), and the feeds the oracle
tests drive."""

from __future__ import annotations

import pytest

# Chainlink USD price feeds report 8 decimals.
PRICE_DECIMALS = 8


@pytest.fixture(scope="module")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def bs(BlackScholesHarness, deployer):
    return BlackScholesHarness.deploy({"from": deployer})


@pytest.fixture(scope="module")
def oracle(OracleHarness, deployer):
    return OracleHarness.deploy({"from": deployer})


@pytest.fixture(scope="module")
def price_feed(TestFeed, deployer):
    """ETH/USD-style feed, 8 decimals, answering 3000.12345678."""
    return TestFeed.deploy(PRICE_DECIMALS, 3000_12345678, {"from": deployer})


@pytest.fixture(scope="module")
def price_feed_18(TestFeed, deployer):
    """The same price from an 18-decimal feed."""
    return TestFeed.deploy(18, 3000_123456780000000000, {"from": deployer})


@pytest.fixture(scope="module")
def raw_feed(TestRawFeed, deployer):
    """A feed whose every field the test sets (incomplete rounds, reverts, odd decimals)."""
    return TestRawFeed.deploy(PRICE_DECIMALS, {"from": deployer})


@pytest.fixture(scope="module")
def sequencer_feed(TestFeed, deployer):
    """L2 sequencer uptime feed (0 decimals; answer 0 = up, 1 = down), up since deployment."""
    return TestFeed.deploy(0, 0, {"from": deployer})
