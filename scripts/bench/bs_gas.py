"""Gas of one Black-Scholes price+delta evaluation, and of one checked oracle read.

    brownie run scripts/bench/bs_gas.py --network hv-anvil     # on a node brownie launches
    python benchmarks/bench_bs_gas.py                          # starts its own Anvil on a free port

Three numbers per point, from three angles:
- library gas: gasleft() read just before and after the internal library call inside the harness,
  minus the cost of the two reads themselves: what the vault pays per evaluation;
- tx gas_used: `callPriceDelta` sent as a transaction (21,000 intrinsic + calldata + dispatch + ABI
  + the library), next to `baseline`, the same calldata without the library call;
- execution gas from the node's opcode trace (needs Anvil's --steps-tracing), for both transactions.
  Their difference is the honest "tx minus bare call" cost: the gas_used difference is not, because
  on Prague and later (EIP-7623) a transaction's gas is floored at 21,000 + 10 gas per calldata token
  and the cheap baseline transaction sits on that floor.
"""

from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18
DAY = 86_400
YEAR = 365 * DAY
HOUR = 3_600


@dataclass(frozen=True)
class Point:
    name: str
    spot: float
    strike: float
    t_seconds: int
    vol: float
    rate: float

    def args(self) -> tuple[int, int, int, int, int]:
        return (round(self.spot * WAD), round(self.strike * WAD), self.t_seconds, round(self.vol * WAD), round(self.rate * WAD))


POINTS = (
    Point("ATM, 30 d, vol 80%, r 5%", 3000, 3000, 30 * DAY, 0.80, 0.05),
    Point("ITM call, 7 d, vol 50%", 3000, 2500, 7 * DAY, 0.50, 0.0),
    Point("OTM call, 1 y, vol 120%, r 10%", 3000, 4500, YEAR, 1.20, 0.10),
    Point("ATM, 1 h, vol 5% (short T, low vol)", 3000, 3000, HOUR, 0.05, 0.0),
    Point("ATM, 2 y, vol 300% (long T, high vol)", 3000, 3000, 2 * YEAR, 3.00, 0.05),
    Point("deep OTM call S/K = 0.2, 7 d, vol 30%", 3000, 15000, 7 * DAY, 0.30, 0.0),
    Point("deep ITM call S/K = 5, 90 d, vol 60%", 3000, 600, 90 * DAY, 0.60, 0.05),
    Point("expiry T = 0", 3000, 2900, 0, 0.80, 0.05),
    Point("zero vol, 30 d", 3000, 2900, 30 * DAY, 0.0, 0.05),
)


def _execution_gas(web3, txid: str) -> int | None:
    """Gas spent executing opcodes (no intrinsic or calldata cost), from a struct-log trace."""
    reply = web3.provider.make_request(
        "debug_traceTransaction", [txid, {"disableStack": True, "disableMemory": True, "disableStorage": True}]
    )
    logs = (reply.get("result") or {}).get("structLogs") or []
    if not logs:
        return None
    return int(logs[0]["gas"]) - int(logs[-1]["gas"]) + int(logs[-1].get("gasCost", 0))


def measure_black_scholes(harness, sender, web3) -> list[dict]:
    rows = []
    for p in POINTS:
        args = p.args()
        _, _, call_gas = harness.gasCallPriceDelta(*args)
        _, _, put_gas = harness.gasPutPriceDelta(*args)
        greeks_gas = harness.gasGreeks(args, True)
        _, delta_gas = harness.gasDelta(args, True)
        tx = harness.callPriceDelta.transact(*args, {"from": sender})
        base = harness.baseline.transact(*args, {"from": sender})
        exec_tx, exec_base = _execution_gas(web3, tx.txid), _execution_gas(web3, base.txid)
        rows.append(
            {
                "point": p.name,
                "library_call": int(call_gas),
                "library_put": int(put_gas),
                "library_greeks": int(greeks_gas),
                "library_delta": int(delta_gas),
                "tx_gas_used": int(tx.gas_used),
                "baseline_gas_used": int(base.gas_used),
                "tx_exec": exec_tx,
                "baseline_exec": exec_base,
            }
        )
    return rows


def measure_oracle(oracle_harness, price_feed, sequencer_feed, sender, chain) -> dict:
    """OracleLib.read gas (gasleft() around the call, inside one eth_call: the feeds are cold)."""
    up_since = chain[-1].timestamp - 2 * HOUR
    sequencer_feed.updateRoundData(2, 0, up_since, up_since, {"from": sender})
    price_feed.updateAnswer(3000 * 10**8, {"from": sender})
    config = (price_feed.address, HOUR, 0, 2**256 - 1)
    no_sequencer = ("0x" + "00" * 20, 0)
    return {
        "read": int(oracle_harness.gasRead(config, no_sequencer)),
        "read_with_sequencer": int(oracle_harness.gasRead(config, (sequencer_feed.address, HOUR))),
    }


def render(rows: list[dict], oracle: dict | None = None) -> str:
    def fmt(v):
        return "n/a" if v is None else f"{v:,}"

    lines = [
        "| point | library: call price+delta | library: put price+delta | library: call delta alone "
        "| library: greeks (price, delta, gamma, vega) "
        "| tx gas_used (callPriceDelta) | tx gas_used (baseline) | execution gas: tx | execution gas: baseline "
        "| execution: tx - baseline |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        diff = None if r["tx_exec"] is None or r["baseline_exec"] is None else r["tx_exec"] - r["baseline_exec"]
        lines.append(
            f"| {r['point']} | {fmt(r['library_call'])} | {fmt(r['library_put'])} | {fmt(r['library_delta'])} "
            f"| {fmt(r['library_greeks'])} "
            f"| {fmt(r['tx_gas_used'])} | {fmt(r['baseline_gas_used'])} | {fmt(r['tx_exec'])} "
            f"| {fmt(r['baseline_exec'])} | {fmt(diff)} |"
        )
    worst = max(max(r["library_call"], r["library_put"]) for r in rows)
    lines.append("")
    lines.append(f"max library gas for one price+delta: {worst:,} (target <= 10,000)")
    if oracle:
        lines.append("")
        lines.append("| OracleLib | gas |")
        lines.append("|---|--:|")
        lines.append(f"| read (cold feed: latestRoundData + decimals) | {oracle['read']:,} |")
        lines.append(f"| read with sequencer check (two cold feeds) | {oracle['read_with_sequencer']:,} |")
    return "\n".join(lines)


def run(project_like, accounts, web3, chain) -> str:
    sender = accounts[0]
    harness = project_like.BlackScholesHarness.deploy({"from": sender})
    rows = measure_black_scholes(harness, sender, web3)
    oracle_harness = project_like.OracleHarness.deploy({"from": sender})
    price_feed = project_like.TestFeed.deploy(8, 3000 * 10**8, {"from": sender})
    sequencer_feed = project_like.TestFeed.deploy(0, 0, {"from": sender})
    oracle = measure_oracle(oracle_harness, price_feed, sequencer_feed, sender, chain)
    return render(rows, oracle)


def main() -> None:
    """`brownie run scripts/bench/bs_gas.py`: the contract containers live in the brownie namespace."""
    import brownie
    from brownie import accounts, chain, web3

    table = run(brownie, accounts, web3, chain)
    if any(s.endswith("| n/a |") for s in table.splitlines()):
        table += "\n\n(execution gas needs a node started with --steps-tracing: use benchmarks/bench_bs_gas.py)"
    print(table)
