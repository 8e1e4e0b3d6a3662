"""Adversarial and fault suite: the vault suite's fixtures (the whole stack deployed by
scripts/deploy.py, one account per role, `hv` with its user/keeper/governance actions, function
isolation), imported from tests/vault/conftest.py by package path. Shared attack helpers live in
tests/adversarial/helpers.py, not here: importing a `conftest` module by bare name clashes across
test folders (see tests/integration/keeper_helpers.py)."""

from tests.vault.conftest import *  # the vault suite's fixtures and helpers
