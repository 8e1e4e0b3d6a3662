"""The offline toolchain: the solc adapter answers like native solc; exported ABIs match the build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import solcx
import solcx.install

from keeper.localchain import REPO_ROOT

EXPORT = REPO_ROOT / "scripts" / "toolchain" / "export_abi.py"


def test_py_solc_x_finds_the_pinned_compiler_without_network():
    versions = [str(v) for v in solcx.get_installed_solc_versions()]
    assert "0.8.28" in versions
    out = subprocess.run([str(solcx.install.get_executable("0.8.28")), "--version"], capture_output=True, text=True, check=True)
    assert "Version: 0.8.28+commit.7893614a" in out.stdout


def test_adapter_prints_pure_json_for_standard_json_input():
    source = 'pragma solidity 0.8.28; import "@openzeppelin/contracts/utils/math/Math.sol"; contract A { function f(uint a) external pure returns (uint) { return Math.sqrt(a); } }'
    request = {
        "language": "Solidity",
        "sources": {"A.sol": {"content": source}},
        "settings": {
            "evmVersion": "shanghai",
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "outputSelection": {"*": {"A": ["evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        [str(solcx.install.get_executable("0.8.28")), "--standard-json", "--allow-paths", str(REPO_ROOT)],
        input=json.dumps(request), capture_output=True, text=True, cwd=REPO_ROOT, check=True,
    )
    compiled = json.loads(out.stdout)  # fails if anything but JSON is printed
    assert not [e for e in compiled.get("errors", []) if e["severity"] == "error"]
    assert len(compiled["contracts"]["A.sol"]["A"]["evm"]["bytecode"]["object"]) > 100


def test_exported_abis_match_the_build():
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_abi", EXPORT)
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    for name, source in export.SOURCES.items():
        shipped = (REPO_ROOT / "keeper" / "abi" / f"{name}.json").read_text()
        assert shipped == export.rendered(export.abi_of(Path(source))), f"keeper/abi/{name}.json is stale: rerun {EXPORT.name}"
