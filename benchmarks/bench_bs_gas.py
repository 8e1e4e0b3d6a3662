"""Gas benchmark of the BlackScholes library (and one OracleLib read), on an Anvil it starts itself.

    .venv/bin/python benchmarks/bench_bs_gas.py                    # Anvil's default hardfork
    .venv/bin/python benchmarks/bench_bs_gas.py --hardfork shanghai # the compile target's rules
    .venv/bin/python benchmarks/bench_bs_gas.py --markdown out.md   # also write the table

Run from the repository root (the brownie project). Anvil listens on a free loopback port with
--steps-tracing, so execution gas comes from opcode traces. The measurement itself lives in
scripts/bench/bs_gas.py, which also runs as `brownie run scripts/bench/bs_gas.py --network hv-anvil`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench.harness import main  # noqa: E402


def _run(*args):
    from scripts.bench.bs_gas import run

    return run(*args)


if __name__ == "__main__":
    raise SystemExit(main(__doc__.splitlines()[0], _run, steps_tracing=True))
