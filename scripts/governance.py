"""Propose, list and execute parameter changes through the HedgeTimelock.

    python scripts/governance.py --network hv-anvil propose vault setDepositCap '[5000000000000]'
    python scripts/governance.py --network hv-anvil propose vault setHedgeParams '[{"executionToleranceBps": 100}]'
    python scripts/governance.py --network hv-anvil list
    python scripts/governance.py --network hv-anvil execute 0x3f1c...
    python scripts/governance.py --network hv-anvil cancel 0x3f1c...

Targets are deployment-record keys (`vault`, `option_market` or `market`, `timelock`) or addresses
of those contracts. Arguments are a JSON list; a struct argument may be a JSON object by field
name, and fields left out keep their current on-chain values (read from the matching getter), so
a one-field change is a one-field proposal. The timelock's own operation id is the proposal id.

Proposals are kept in deployments/<name>.governance.json (next to the deployment record; with
HV_DEPLOYMENTS set, next to that file): id, target, function, args, calldata, salt, delay, eta,
status. The chain is the authority: `list` reads each operation's state from the timelock.

Signer: the governor (the timelock's proposer and executor). On development networks it is the
governor recorded at deploy time (an unlocked node account) unless --sender gives another; on
live networks its key comes from HV_GOVERNOR_KEY (never from a file).
Options: --deployment NAME (default: the network id), --delay SECONDS (default: the timelock's
minimum), --salt HEX (default: derived from the time of proposing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ZERO32 = "0x" + "00" * 32
TARGETS = {"vault": "HedgeVault", "option_market": "OptionMarket", "market": "OptionMarket", "timelock": "HedgeTimelock"}
STATES = {0: "unset", 1: "waiting", 2: "ready", 3: "done"}


class GovernanceError(Exception):
    """A proposal cannot be made or executed; the message says why."""


@dataclass
class Proposal:
    id: str
    target: str
    target_key: str
    function: str
    args: list[Any]
    calldata: str
    salt: str
    predecessor: str
    delay: int
    eta: int
    proposed_block: int
    status: str = "pending"  # pending | executed | cancelled


class ProposalBook:
    """deployments/<name>.governance.json: the proposals made from this checkout."""

    def __init__(self, record_path: Path):
        self.path = Path(record_path).with_suffix(".governance.json")
        self.proposals: list[Proposal] = []
        if self.path.exists():
            raw = json.loads(self.path.read_text())
            self.proposals = [Proposal(**p) for p in raw.get("proposals", [])]

    def add(self, proposal: Proposal) -> None:
        self.proposals.append(proposal)
        self.save()

    def get(self, proposal_id: str) -> Proposal:
        matches = [p for p in self.proposals if p.id.lower().startswith(proposal_id.lower())]
        if not matches:
            raise GovernanceError(f"no proposal {proposal_id} in {self.path}")
        if len(matches) > 1:
            raise GovernanceError(f"{proposal_id} matches {len(matches)} proposals: give more of the id")
        return matches[0]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"proposals": [asdict(p) for p in self.proposals]}, indent=2) + "\n")
        tmp.replace(self.path)


class Governance:
    """The deployed contracts, the timelock and the proposal book of one deployment record."""

    def __init__(self, record_path: Path):
        from brownie import HedgeTimelock, HedgeVault, OptionMarket

        self.record_path = Path(record_path)
        if not self.record_path.exists():
            raise GovernanceError(f"deployment record {self.record_path} not found: deploy first (scripts/deploy.py)")
        self.record = json.loads(self.record_path.read_text())
        contracts = self.record.get("contracts", {})
        missing = [k for k in ("vault", "option_market", "timelock") if k not in contracts]
        if missing:
            raise GovernanceError(f"{self.record_path} has no {', '.join(missing)}: redeploy with scripts/deploy.py")
        self.containers = {"HedgeVault": HedgeVault, "OptionMarket": OptionMarket, "HedgeTimelock": HedgeTimelock}
        self.timelock = _at(HedgeTimelock, contracts["timelock"])
        self.book = ProposalBook(self.record_path)

    # ------------------------------------------------------------------ resolution

    def target(self, key_or_address: str) -> tuple[str, Any]:
        contracts = self.record["contracts"]
        if key_or_address in TARGETS:
            key = "option_market" if key_or_address == "market" else key_or_address
            return key, _at(self.containers[TARGETS[key]], contracts[key])
        for key in ("vault", "option_market", "timelock"):
            if contracts[key].lower() == key_or_address.lower():
                return key, _at(self.containers[TARGETS[key]], contracts[key])
        raise GovernanceError(f"unknown target {key_or_address!r}: use vault, market or timelock (or their address)")

    @staticmethod
    def _abi(contract, fn_name: str) -> dict:
        entries = [e for e in contract.abi if e.get("type") == "function" and e["name"] == fn_name]
        if not entries:
            raise GovernanceError(f"{contract._name} has no function {fn_name}")
        if len(entries) > 1:
            raise GovernanceError(f"{contract._name}.{fn_name} is overloaded: not supported")
        return entries[0]

    def _current_struct(self, contract, fn_name: str) -> dict[str, Any] | None:
        """The on-chain value a struct setter would replace: setHedgeParams -> hedgeParams(), etc."""
        getter = fn_name[3].lower() + fn_name[4:] if fn_name.startswith("set") else None
        for name in (getter, "params"):
            if name and hasattr(contract, name):
                entry = [e for e in contract.abi if e.get("type") == "function" and e["name"] == name]
                if entry and not entry[0]["inputs"]:
                    value = getattr(contract, name)()
                    outputs = entry[0]["outputs"]
                    components = outputs[0]["components"] if len(outputs) == 1 and "components" in outputs[0] else outputs
                    return dict(zip((c["name"] for c in components), tuple(value)))
        return None

    def encode_args(self, contract, fn_name: str, args: list[Any]) -> list[Any]:
        """JSON arguments to ABI values: objects for tuple inputs, merged with the current value."""
        inputs = self._abi(contract, fn_name)["inputs"]
        if len(args) != len(inputs):
            raise GovernanceError(f"{contract._name}.{fn_name} takes {len(inputs)} argument(s), got {len(args)}")
        out = []
        for arg, spec in zip(args, inputs):
            if spec["type"] == "tuple" and isinstance(arg, dict):
                names = [c["name"] for c in spec["components"]]
                unknown = set(arg) - set(names)
                if unknown:
                    raise GovernanceError(f"{fn_name}: unknown field(s) {', '.join(sorted(unknown))}; fields: {', '.join(names)}")
                current = self._current_struct(contract, fn_name) if set(arg) != set(names) else {}
                if current is None:
                    raise GovernanceError(f"{fn_name}: give every field ({', '.join(names)})")
                merged = {**current, **arg}
                out.append(tuple(merged[n] for n in names))
            else:
                out.append(arg)
        return out

    # ------------------------------------------------------------------ actions

    def propose(self, target: str, fn_name: str, args: list[Any], sender, delay: int | None = None,
                salt: str | None = None) -> Proposal:
        key, contract = self.target(target)
        values = self.encode_args(contract, fn_name, args)
        try:
            calldata = getattr(contract, fn_name).encode_input(*values)
        except Exception as exc:  # brownie raises several types for bad ABI values
            raise GovernanceError(f"cannot encode {fn_name}{tuple(values)}: {exc}") from None
        min_delay = self.timelock.getMinDelay()
        delay = min_delay if delay is None else int(delay)
        if delay < min_delay:
            raise GovernanceError(f"delay {delay} s is below the timelock's minimum of {min_delay} s")
        salt = salt or "0x" + time.time_ns().to_bytes(32, "big").hex()
        op_id = self.timelock.hashOperation(contract.address, 0, calldata, ZERO32, salt)
        if self.timelock.getOperationState(op_id) != 0:
            raise GovernanceError(f"operation {op_id} already exists on the timelock: use another --salt")
        tx = self.timelock.schedule(contract.address, 0, calldata, ZERO32, salt, delay, {"from": sender})
        proposal = Proposal(
            id=str(op_id), target=contract.address, target_key=key, function=fn_name, args=_jsonable(values),
            calldata=str(calldata), salt=salt, predecessor=ZERO32, delay=delay,
            eta=int(self.timelock.getTimestamp(op_id)), proposed_block=tx.block_number,
        )
        self.book.add(proposal)
        return proposal

    def state(self, proposal: Proposal) -> str:
        return STATES.get(int(self.timelock.getOperationState(proposal.id)), "unknown")

    def listing(self) -> list[dict[str, Any]]:
        rows = []
        for p in self.book.proposals:
            state = self.state(p)
            if state == "done" and p.status == "pending":
                p.status = "executed"  # executed by someone else
            if state == "unset" and p.status == "pending":
                p.status = "cancelled"
            rows.append({**asdict(p), "state": state})
        self.book.save()
        return rows

    def execute(self, proposal_id: str, sender):
        from brownie import chain

        p = self.book.get(proposal_id)
        state = self.state(p)
        if state == "waiting":
            wait = p.eta - chain[-1].timestamp
            raise GovernanceError(f"proposal {p.id[:10]} is not ready: eta {p.eta} (in about {max(wait, 0)} s)")
        if state != "ready":
            raise GovernanceError(f"proposal {p.id[:10]} is {state}, not ready")
        tx = self.timelock.execute(p.target, 0, p.calldata, p.predecessor, p.salt, {"from": sender})
        p.status = "executed"
        self.book.save()
        return tx

    def cancel(self, proposal_id: str, sender):
        p = self.book.get(proposal_id)
        if self.state(p) not in ("waiting", "ready"):
            raise GovernanceError(f"proposal {p.id[:10]} is {self.state(p)}: only pending proposals can be cancelled")
        tx = self.timelock.cancel(p.id, {"from": sender})
        p.status = "cancelled"
        self.book.save()
        return tx


def _at(container, address: str):
    """The contract at `address` with the container's ABI, kept out of brownie's deployment stores.

    `container.at` on a live network writes build/deployments/<chainid>/ (and brownie's database,
    which fails in 1.22 with "TypeError: dict object expected; got Sources"); every later brownie
    connection to that network id then tries to load those addresses and stops with
    ContractNotFound on any other chain, e.g. a fresh node reached through the same hv-rpc id."""
    from brownie import Contract

    return Contract.from_abi(container._name, address, container.abi, persist=False)


def _jsonable(values: Any) -> Any:
    if isinstance(values, (list, tuple)):
        return [_jsonable(v) for v in values]
    if isinstance(values, (bytes, bytearray)):
        return "0x" + bytes(values).hex()
    if isinstance(values, bool) or values is None or isinstance(values, str):
        return values
    if isinstance(values, int):
        return int(values)
    return str(values)


def _signer(gov: Governance, explicit: str | None):
    from brownie import accounts, network

    if network.main.CONFIG.network_type == "development":
        address = explicit or gov.record.get("params", {}).get("roles", {}).get("governor")
        if not address:
            raise GovernanceError("no governor in the deployment record: pass --sender")
        return accounts.at(address, force=True)
    key = os.environ.get("HV_GOVERNOR_KEY")
    if not key:
        raise GovernanceError("HV_GOVERNOR_KEY is not set: a live network needs the governor's private key in the environment")
    return accounts.add(key)


def _format(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no proposals"
    lines = []
    for r in rows:
        lines.append(f"{r['id'][:18]}  {r['state']:<7} {r['status']:<9} eta {r['eta']}  "
                     f"{r['target_key']}.{r['function']}({json.dumps(r['args'])[1:-1]})")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="scripts/governance.py", description=__doc__.splitlines()[0])
    ap.add_argument("--network", help="brownie network id (CLI only)")
    ap.add_argument("--deployment", help="deployment record name (default: the network id) or path to its .json")
    ap.add_argument("--sender", help="governor address (development networks)")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("propose", help="schedule a call on the timelock")
    p.add_argument("target", help="vault, market or timelock, or an address")
    p.add_argument("function", help="function name, e.g. setHedgeParams")
    p.add_argument("args", nargs="?", default="[]", help="JSON list of arguments")
    p.add_argument("--delay", type=int, default=None)
    p.add_argument("--salt", default=None)
    sub.add_parser("list", help="proposals and their state on the timelock")
    e = sub.add_parser("execute", help="execute a ready proposal")
    e.add_argument("id", help="proposal id (a unique prefix will do)")
    c = sub.add_parser("cancel", help="cancel a pending proposal")
    c.add_argument("id")
    return ap


def record_path(deployment: str | None) -> Path:
    from brownie import network

    from scripts.lib.deployment import deployment_path

    if deployment and (deployment.endswith(".json") or "/" in deployment):
        return Path(deployment)
    return deployment_path(deployment or network.show_active())


def run_command(args: argparse.Namespace) -> str:
    """Run one parsed command on the connected network; returns what to print."""
    gov = Governance(record_path(args.deployment))
    if args.command == "list":
        return _format(gov.listing())
    sender = _signer(gov, args.sender)
    if args.command == "propose":
        try:
            call_args = json.loads(args.args)
        except json.JSONDecodeError as exc:
            raise GovernanceError(f"arguments are not JSON ({exc.msg}): {args.args}") from None
        if not isinstance(call_args, list):
            raise GovernanceError("arguments must be a JSON list, e.g. '[5000000]' or '[{\"executionToleranceBps\": 100}]'")
        p = gov.propose(args.target, args.function, call_args, sender, delay=args.delay, salt=args.salt)
        return f"proposed {p.id}\n  {p.target_key}.{p.function} eta {p.eta} (delay {p.delay} s)\n  recorded in {gov.book.path}"
    if args.command == "execute":
        tx = gov.execute(args.id, sender)
        return f"executed {args.id} in block {tx.block_number}"
    tx = gov.cancel(args.id, sender)
    return f"cancelled {args.id} in block {tx.block_number}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.network:
        print("governance: error: --network is required", file=sys.stderr)
        return 2
    os.chdir(ROOT)  # remappings in brownie-config.yaml are relative to the project root
    sys.path.insert(0, str(ROOT))
    from brownie import network, project

    active = project.load(ROOT)
    active.load_config()
    active._add_to_main_namespace()
    network.connect(args.network)
    try:
        print(run_command(args))
        return 0
    except GovernanceError as exc:
        print(f"governance: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if network.is_connected():
            network.disconnect()


if __name__ == "__main__":
    sys.exit(main())
