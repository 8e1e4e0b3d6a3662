"""The on-chain market scenario behind `hv demo` and `hv scenario`.

Per hedging arm (no keeper, the fixed-band keeper, the default keeper) a local Anvil with the
deployed stack; on each, the same price path from the market models in `keeper.sim`, the same
scripted participants (oracle, arbitrageur, option buyers, lister, depositors), the real keeper as
its own process, and a report whose P&L attribution closes exactly on each arm's NAV.

    config.py      one validated ScenarioConfig (TOML file < flags), the demo's defaults
    paths.py       the price and implied-vol path from the config (pure, seeded)
    flow.py        pre-drawn buy attempts and the listing ladder (pure, seeded)
    blocks.py      one block per step: queue transactions, simulate on `pending`, mine
    actors.py      the participants, each a function that queues its transactions
    keeperproc.py  `hv keeper run` as a subprocess, and the wait for it to act
    runner.py      the step loop: observations, events, outcomes
    accounting.py  exact P&L attribution from events and balances
    session.py     the arms, in parallel on their own chains, and the report folder
    report.py      summaries, the per-step record, the comparison, the terminal tables
    charts.py      PNG charts (matplotlib, imported lazily: an optional extra)
"""
