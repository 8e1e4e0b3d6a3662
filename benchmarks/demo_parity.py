"""The on-chain demo over several seeds against the backtester's replay of the same paths.

    .venv/bin/python benchmarks/demo_parity.py [--seeds 1,2,3,4,5] [--reports DIR]

Runs `hv demo --seeds ...` (three arms per seed, each on its own Anvil) unless `--reports` names a
folder of finished reports, then, per seed and keeper arm, replays the recorded path through the
backtester's decision and cost model (keeper/sim/chain_replay.py) and prints:

* default vs fixed band on chain: trading cost (pool fees + price impact + gas) and the std of the
  NAV-per-share change per step;
* per arm: the backtester's predicted trading cost against the chain's, and the steps where the two
  decided differently (trade vs hold), each listed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.policy import build_policy  # noqa: E402
from keeper.sim.chain_replay import ReplaySettings, load_rows, replay  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_demo(seeds: str, out: Path) -> None:
    subprocess.run([str(ROOT / ".venv/bin/hv"), "demo", "--seeds", seeds, "--out", str(out)], check=True, cwd=ROOT)


def arm_policy(summary: dict, arm: str):
    cfg = summary["config"]
    if arm == "fixed_band":
        spec = cfg["fixed_band"]
    else:
        spec = cfg["keeper"]
    return build_policy(spec["policy"], spec.get("policy_params") or {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--reports", type=Path, help="Finished demo reports (one folder per seed) instead of running them.")
    args = ap.parse_args()
    out = args.reports or Path("reports/parity")
    if args.reports is None:
        run_demo(args.seeds, out)
    dirs = sorted(p for p in out.glob("*seed*") if (p / "steps.jsonl").exists())
    print("| seed | arm | chain trading cost USD | backtester USD | gap | chain rebalances | backtester | mismatched steps |")
    print("|---|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    chain_rows = []
    for d in dirs:
        summary = json.loads((d / "summary.json").read_text())
        seed = summary["config"]["seed"]
        comp = summary.get("comparison") or {}
        chain_rows.append((seed, comp))
        for arm in ("fixed_band", "default"):
            policy = arm_policy(summary, arm)
            # The keeper's own policy parameters as the run resolved them (the arm's keeper.toml).
            settings = ReplaySettings(gas_price_gwei=float(summary["config"]["market"]["gas_price_gwei"]))
            res = replay(load_rows(d, arm), policy, settings).summary()
            totals.setdefault(arm, [0.0, 0.0])
            totals[arm][0] += res["chain_cost_usd"]
            totals[arm][1] += res["sim_cost_usd"]
            mism = ", ".join(f"{s}{'' if ph == 'step' else ' (close)'}: {who} only" for s, ph, who in res["mismatched_steps"])
            print(f"| {seed} | {arm} | {res['chain_cost_usd']:,.2f} | {res['sim_cost_usd']:,.2f} | "
                  f"{100 * res['cost_gap']:+.1f} % | {res['chain_rebalances']} | {res['sim_rebalances']} | {mism or 'none'} |")
    for arm, (chain, sim) in totals.items():
        print(f"| all | {arm} | {chain:,.2f} | {sim:,.2f} | {100 * (sim / chain - 1):+.1f} % | | | |")
    print()
    print("| seed | trading cost default / fixed (USD) | ratio | NAV/share std default / fixed (bps) | ratio |")
    print("|---|---|---|---|---|")
    sums, squares = [0.0, 0.0], [0.0, 0.0]
    for seed, comp in chain_rows:
        d, f = comp["arms"]["default"], comp["arms"]["fixed_band"]
        dc, fc = d["trading_cost"]["total_usd"], f["trading_cost"]["total_usd"]
        ds, fs = d["nav_per_share_step_std_bps"], f["nav_per_share_step_std_bps"]
        sums[0] += dc
        sums[1] += fc
        squares[0] += ds * ds
        squares[1] += fs * fs
        print(f"| {seed} | {dc:,.2f} / {fc:,.2f} | {dc / fc:.3f} | {ds:.2f} / {fs:.2f} | {ds / fs:.3f} |")
    if chain_rows:
        n = len(chain_rows)
        dr, fr = (squares[0] / n) ** 0.5, (squares[1] / n) ** 0.5
        print(f"| all (costs summed, std root mean square) | {sums[0]:,.2f} / {sums[1]:,.2f} | {sums[0] / sums[1]:.3f} "
              f"| {dr:.2f} / {fr:.2f} | {dr / fr:.3f} |")


if __name__ == "__main__":
    main()
