"""CI gate: Slither over the production contracts with no unexplained high or medium finding.

Runs `scripts/toolchain/slither.sh` (the script behind `./dev slither`: Slither from PyPI in its
own `.venv-slither`, offline, solc through the project's npm adapter) with JSON output. Every
high/medium finding must be accepted in scripts/toolchain/slither-accepted.json (detector +
contract + function, with a reason), every accepted entry must still match a finding, and every
accepted detector must be explained in docs/SECURITY.md's Slither section.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = ROOT / "scripts" / "toolchain" / "slither-accepted.json"
GATED = ("High", "Medium")


def finding_key(result: dict) -> tuple[str, str, str]:
    """(detector, contract, function) of a Slither result: the first function element, else the
    function (or contract) that holds the first element."""
    for element in result["elements"]:
        if element["type"] == "function":
            return result["check"], element["type_specific_fields"]["parent"]["name"], element["name"]
    first = result["elements"][0]
    parent = first["type_specific_fields"]["parent"]
    if parent["type"] == "function":
        return result["check"], parent["type_specific_fields"]["parent"]["name"], parent["name"]
    return result["check"], parent["name"], first["name"]


@pytest.fixture(scope="module")
def slither(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("slither") / "slither.json"
    proc = subprocess.run(["bash", "scripts/toolchain/slither.sh", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    # Slither exits non-zero whenever it reports anything; success is in the JSON.
    assert out.exists(), f"slither wrote no JSON (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    report = json.loads(out.read_text())
    assert report["success"] and not report.get("error"), report.get("error") or proc.stderr[-5000:]
    assert re.search(r"analyzed \(\d+ contracts", proc.stderr), proc.stderr[-3000:]
    return report


def accepted() -> list[dict]:
    return json.loads(ACCEPTED.read_text())["accepted"]


def test_every_high_or_medium_finding_is_accepted_with_a_reason(slither):
    results = slither["results"].get("detectors", [])
    assert results, "Slither reported nothing at all: did it analyse the contracts?"
    allowed = {(a["detector"], a["contract"], a["function"]) for a in accepted()}
    unexplained = [
        f"{r['impact']} {'/'.join(finding_key(r))}: {r['description'].strip().splitlines()[0]}"
        for r in results if r["impact"] in GATED and finding_key(r) not in allowed
    ]
    assert not unexplained, (
        "new high/medium Slither findings: fix them, or triage them into "
        "scripts/toolchain/slither-accepted.json and docs/SECURITY.md:\n" + "\n".join(unexplained)
    )


def test_every_accepted_entry_still_matches_a_finding(slither):
    found = Counter(finding_key(r) for r in slither["results"].get("detectors", []) if r["impact"] in GATED)
    stale = [a for a in accepted() if (a["detector"], a["contract"], a["function"]) not in found]
    assert not stale, f"accepted Slither findings that no longer occur (remove them): {stale}"


def test_every_accepted_detector_is_documented_in_security_md():
    entries = accepted()
    assert all(a["reason"].strip() for a in entries)
    assert len({(a["detector"], a["contract"], a["function"]) for a in entries}) == len(entries)
    text = (ROOT / "docs" / "SECURITY.md").read_text()
    start = text.index("## Static analysis")
    end = text.find("\n## ", start + 1)
    section = text[start:end] if end != -1 else text[start:]
    missing = sorted({a["detector"] for a in entries if f"| {a['detector']} |" not in section})
    assert not missing, f"detectors accepted but not triaged in docs/SECURITY.md's Slither table: {missing}"
