"""The on-chain market scenario behind `hv demo` and `hv scenario`.

A local Anvil with the deployed stack, a price path from the market models in `keeper.sim`,
scripted market participants (oracle, arbitrageur, option buyers, lister, depositors), the real
keeper as its own process, and a report whose P&L attribution closes exactly on the vault's NAV.

    config.py      one validated ScenarioConfig (TOML file < flags), the demo's defaults
    paths.py       the price and implied-vol path from the config (pure, seeded)
    flow.py        pre-drawn buy attempts and the listing ladder (pure, seeded)
    blocks.py      one block per step: queue transactions, simulate on `pending`, mine
    actors.py      the participants, each a function that queues its transactions
    keeperproc.py  `hv keeper run` as a subprocess, and the wait for it to act
    runner.py      the step loop: observations, events, outcomes
    accounting.py  exact P&L attribution from events and balances
    report.py      summary JSON, the terminal table, the report folder
    charts.py      PNG charts (matplotlib, imported lazily: an optional extra)
"""
