"""Item 8: the stateful fuzzer's failing runs read as scenarios.

tests/vault/test_stateful.py runs the whole-stack state machine (200 examples x 8 steps in CI,
2,000 x 20 with `--slow`, `HV_STATEFUL_EXAMPLES` / `HV_STATEFUL_STEPS` to override). When an
invariant breaks, besides hypothesis's list of rule calls it prints the shrunk run as a numbered
list of plain actions. This test proves the printout: it runs the same machine with one extra,
deliberately false invariant ("no LP ever adds shares after the setup"), catches the failure and
checks what was reported.
"""

from __future__ import annotations

import re

import pytest
from brownie import accounts
from hypothesis import Phase

from tests.vault.brownie_compat import state_machine
from tests.vault.conftest import WAD
from tests.vault.test_stateful import VaultMachine


class BrokenMachine(VaultMachine):
    """VaultMachine with an invariant that any successful deposit breaks."""

    def setup(self):
        super().setup()
        self.initial_supply = self.vault.totalSupply()

    def invariant_no_new_shares(self):
        assert self.vault.totalSupply() <= self.initial_supply, "deliberately broken invariant: shares were added"


def test_a_failing_sequence_is_printed_as_a_readable_scenario(hv, probe, depositor, depositor2, buyer, attacker, deployer,
                                                              capsys):
    lp3 = accounts.add()
    deployer.transfer(lp3, 10 * WAD, silent=True)
    buyer2 = accounts.add()
    deployer.transfer(buyer2, 10 * WAD, silent=True)
    capsys.readouterr()
    with pytest.raises(AssertionError, match="deliberately broken invariant"):
        state_machine(
            BrokenMachine, hv, probe, [depositor, depositor2, lp3], [buyer, buyer2], attacker,
            settings={"max_examples": 30, "stateful_step_count": 2, "deadline": None, "database": None,
                      "phases": (Phase.generate, Phase.shrink)},
        )
    text = capsys.readouterr().out
    assert "Failing scenario, in plain words (setup: LP A deposits 7,000 USDC" in text
    steps = re.findall(r"^\s+(\d+)\. (.*)$", text, flags=re.M)
    assert steps, text
    assert [int(n) for n, _ in steps] == list(range(1, len(steps) + 1))
    # Shrunk to the one action that breaks it: a deposit that went through.
    assert re.fullmatch(r"LP [ABC] deposits [\d,.]+ USDC -> ok", steps[-1][1]), steps[-1][1]
    assert "... and then the check below failed." in text
