"""The keeper installs and runs with its runtime dependencies only (no brownie, no pytest)."""

from __future__ import annotations

import subprocess
import sys
import venv

import pytest

from keeper.localchain import REPO_ROOT


@pytest.fixture(scope="module")
def runtime_env(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("runtime-venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(REPO_ROOT)], check=True, timeout=900)
    return env_dir


def test_brownie_is_absent_from_the_runtime_install(runtime_env):
    probe = subprocess.run([str(runtime_env / "bin" / "python"), "-c", "import brownie"], capture_output=True)
    assert probe.returncode != 0


def test_hv_help_works_with_runtime_dependencies_only(runtime_env):
    out = subprocess.run([str(runtime_env / "bin" / "hv"), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("demo", "deploy", "market"):
        assert command in out.stdout


def test_every_keeper_module_imports_without_brownie(runtime_env):
    script = (
        "import importlib, pkgutil, sys, keeper\n"
        "for m in pkgutil.walk_packages(keeper.__path__, 'keeper.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert 'brownie' not in sys.modules\n"
    )
    out = subprocess.run([str(runtime_env / "bin" / "python"), "-c", script], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
