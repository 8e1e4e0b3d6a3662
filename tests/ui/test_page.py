"""The web page in a real browser (headless Debian Chromium driven by playwright-core) against
`hv ui` and a real Anvil. An injected EIP-1193 wallet backed by an Anvil account connects,
deposits, buys an option, sees it and withdraws, each step checked on chain inside e2e.mjs; the
errors a user can meet are shown in plain words. Afterwards the chain is checked once more from
Python, independently of the script."""

from __future__ import annotations

WAD = 10**18


def by_name(steps: list[dict]) -> dict[str, dict]:
    return {s["step"].split(":")[0]: s for s in steps}


def test_depositor_and_buyer_flow_through_an_injected_wallet(chain, serve_ui, run_browser, ui_output, capsys):
    url = serve_ui(chain.deployment.path)  # no --rpc: every read goes through the wallet, as with MetaMask alone

    steps = by_name(run_browser("flow", url, chain))

    assert list(steps) == [
        "open the page", "connect the wallet", "deposit 1,000 USDC",
        f"buy 4 of call series #{chain.call_id} with a max-premium guard; the position is on chain and on the page",
        "no keeper yet", "withdraw everything (max)", "after expiry",
        "everything the page loaded came from its own server; no script errors",
    ]
    deposit = steps["deposit 1,000 USDC"]
    assert int(deposit["shares"]) > 0
    screenshot = ui_output / "after-deposit.png"
    assert deposit["screenshot"] == str(screenshot)
    assert screenshot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\n[ui] screenshot after the deposit: {screenshot}")

    hedge = steps["no keeper yet"]
    assert hedge["limits"].startswith("dust ±0.100 WETH (nothing to hedge inside) · hard band ±5.000 WETH"), hedge
    assert "200.000 of 200.000 WETH to trade" in hedge["budget"]
    assert hedge["hedgeNow"] == "the keeper may trade toward zero when its policy wants to"
    assert hedge["by"] == "keeper" and int(hedge["rebalances"]) == 1

    m = chain.market
    assert m.vault.functions.balanceOf(chain.user).call() == 0
    assert m.market.functions.balanceOf(chain.user, chain.call_id).call() == 4 * WAD
    assert m.hedge_nonce() == 1  # the keeper's one trade, shown in the page's history
    expired = int(steps["after expiry"]["series"])
    assert m.market.functions.balanceOf(chain.user, expired).call() == 0  # redeemed
    assert m.market.functions.settledSeries(expired).call()[2]


def test_errors_a_user_can_meet_are_shown_in_plain_words(chain, serve_ui, run_browser):
    url = serve_ui(chain.deployment.path, rpc_url=chain.node.url)  # reads before connecting
    steps = by_name(run_browser("errors", url, chain))

    assert "Ethereum mainnet (chain 1)" in steps["wrong network"]["banner"]
    assert steps["rejected signature"]["shown"] == "You rejected the request in your wallet: nothing was sent."
    assert steps["insufficient balance"]["shown"].startswith("Not enough USDC: you have 5,000,000.00 USDC")
    assert steps["margin full"]["decoded"].startswith("reverted: MarginInsufficient(")
    assert "paused by its guardian" in steps["vault paused by the guardian"]["banner"]
    assert "oracle is stale" in steps["stale oracle"]["banner"]

    m = chain.market
    assert m.usd.functions.allowance(chain.user, m.vault.address).call() == 0  # the rejected approval
    assert m.market.functions.balanceOf(chain.user, chain.call_id).call() == 0  # the refused buy
    assert m.vault.functions.paused().call()
