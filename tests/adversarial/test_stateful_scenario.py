"""Item 8: the stateful fuzzer's failing runs read as scenarios.

tests/vault/test_stateful.py runs the whole-stack state machine (200 examples x 8 steps in CI,
2,000 x 20 with `--slow`, `HV_STATEFUL_EXAMPLES` / `HV_STATEFUL_STEPS` to override). When an
invariant breaks, besides hypothesis's list of rule calls it prints the shrunk run as a numbered
list of plain actions. This test proves the printout: it runs the same machine with one extra,
deliberately false invariant ("the share supply never changes after the setup"), catches the failure and
checks what was reported.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import Phase

from tests.vault.brownie_compat import state_machine
from tests.vault.test_stateful import VaultMachine, extra_actors


class BrokenMachine(VaultMachine):
    """VaultMachine with an invariant that any successful deposit, withdrawal or redemption breaks
    (four of its seventeen rules do one), so that a failure is found within a few examples."""

    def setup(self):
        super().setup()
        self.initial_supply = self.vault.totalSupply()

    def invariant_share_supply_never_changes(self):
        assert self.vault.totalSupply() == self.initial_supply, "deliberately broken invariant: the supply changed"


def test_a_failing_sequence_is_printed_as_a_readable_scenario(hv, probe, depositor, depositor2, buyer, attacker, deployer,
                                                              capsys):
    lp3, buyer2 = extra_actors(deployer)
    capsys.readouterr()
    with pytest.raises(AssertionError, match="deliberately broken invariant"):
        state_machine(
            BrokenMachine, hv, probe, [depositor, depositor2, lp3], [buyer, buyer2], attacker,
            settings={"max_examples": 100, "stateful_step_count": 2, "deadline": None, "database": None,
                      "phases": (Phase.generate, Phase.shrink)},
        )
    text = capsys.readouterr().out
    assert "Failing scenario, in plain words (setup: LP A deposits 7,000 USDC" in text
    steps = re.findall(r"^\s+(\d+)\. (.*)$", text, flags=re.MULTILINE)
    assert steps, text
    assert [int(n) for n, _ in steps] == list(range(1, len(steps) + 1))
    # Shrunk to a short run ending in an action that changes the supply, and said so in plain words.
    assert re.search(r"LP [ABC] (deposits|withdraws|redeems) .*-> ok|LP [ABC] withdraws half", steps[-1][1]), steps[-1][1]
    assert "... and then the check below failed." in text
