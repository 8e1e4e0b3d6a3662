"""Decode revert data into the contracts' custom errors, by name with their values."""

from __future__ import annotations

from functools import cache

from eth_abi import decode as abi_decode
from eth_utils import is_address, keccak, to_checksum_address

from keeper.abi import available_abis, load_abi


@cache
def _selectors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ["string"], ["reason"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"], ["code"]),
    }
    for name in available_abis():
        for item in load_abi(name):
            if item.get("type") != "error":
                continue
            types = [_canonical(i) for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            table[keccak(text=signature)[:4]] = (item["name"], types, [i["name"] for i in item["inputs"]])
    return table


def _canonical(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_canonical(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


def decode_revert(data: str | bytes | None) -> str:
    """`Name(arg=value, ...)` for known errors; the raw selector otherwise."""
    if data is None:
        return "reverted without data"
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    if len(raw) < 4:
        return "reverted without data"
    entry = _selectors().get(raw[:4])
    if entry is None:
        return f"unknown error 0x{raw[:4].hex()}"
    name, types, names = entry
    try:
        values = abi_decode(types, raw[4:])
    except Exception:  # malformed payload: still name the error
        return f"{name}(<undecodable>)"
    args = ", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, values, strict=True))
    return f"{name}({args})"


def _fmt(value: object) -> str:
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    if isinstance(value, bytes):
        text = value.rstrip(b"\0")
        return text.decode() if text.isascii() and text.isalnum() else "0x" + value.hex()
    return str(value)
