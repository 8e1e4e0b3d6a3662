from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def market(tmp_path_factory, monkeypatch_module):
    """The market stack deployed by scripts/deploy.py into the test chain, recorded in a temp file."""
    from scripts import deploy

    path = tmp_path_factory.mktemp("deployments") / "test.json"
    monkeypatch_module.setenv("HV_DEPLOYMENTS", str(path))
    record = deploy.main()
    return record


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
