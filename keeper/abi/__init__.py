"""ABIs exported from the contract build (scripts/toolchain/export_abi.py)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def load_abi(name: str) -> list:
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text())


def available_abis() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".json"))
