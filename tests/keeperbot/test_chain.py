"""keeper.chain against a real Anvil: simulate, sign, journal, send, bump, fail over, reconcile."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from web3 import Web3

from keeper.abi import load_abi
from keeper.chain import (
    GWEI, ChainUnavailable, FeeCapExceeded, FeePolicy, Fees, InsufficientGasFunds, RpcClient, Signer,
    SimulationFailed, reconcile, suggest_fees,
)
from keeper.localchain import ANVIL_KEYS, free_port, rpc_call


def approve_call(stack, spender: str, amount: int) -> tuple[str, str]:
    usd = Web3().eth.contract(abi=load_abi("TestStablecoin"))
    data = usd.encode_abi("approve", [Web3.to_checksum_address(spender), amount])
    return stack.address("usd"), data


def mint_call(stack, to: str, amount: int) -> tuple[str, str]:
    usd = Web3().eth.contract(abi=load_abi("TestStablecoin"))
    return stack.address("usd"), usd.encode_abi("mint", [Web3.to_checksum_address(to), amount])


def test_send_simulates_signs_journals_and_confirms(make_sender, node, stack, w3, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, stack.address("uniswap_router"), 123)
    result = sender.send(to=to, data=data, vault="v")
    assert result.status == "confirmed"
    assert result.replacements == 0
    [tx] = journal.all_txs()
    assert (tx.hash, tx.status, tx.gas_used) == (result.tx_hash, "confirmed", result.gas_used)
    usd = w3.eth.contract(address=stack.address("usd"), abi=load_abi("TestStablecoin"))
    assert usd.functions.allowance(keeper_key.address, stack.address("uniswap_router")).call() == 123


def test_reverting_call_is_refused_before_signing_with_the_decoded_error(make_sender, node, stack, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = mint_call(stack, keeper_key.address, 10**6)  # the keeper is not the stablecoin's owner
    with pytest.raises(SimulationFailed) as err:
        sender.send(to=to, data=data, vault="v")
    assert err.value.reason == f"OwnableUnauthorizedAccount(account={keeper_key.address})"
    assert journal.all_txs() == []


def test_stuck_transaction_is_replaced_with_higher_fees_and_lands_once(make_sender, set_automine, node, stack, w3, journal, keeper_key):
    set_automine(node, False)
    # Mining is off: the sender bumps every 0.3 s until it gives up; 5 s leaves room for the two
    # bumps checked below even when each signing, journal write and broadcast is slow.
    sender = make_sender([node.url], keeper_key, journal, bump_after_seconds=0.3, receipt_timeout_seconds=5.0)
    to, data = approve_call(stack, stack.address("uniswap_router"), 7)
    start_fees = Fees(max_fee=2 * GWEI, priority_fee=1 * GWEI)
    pending = sender.send(to=to, data=data, vault="v", fees=start_fees)
    assert pending.status == "pending" and pending.replacements >= 2
    txs = journal.all_txs()
    # The base fee rises above what the first versions offered: only a bumped one can land.
    rpc_call(node.url, "anvil_setNextBlockBaseFeePerGas", [hex(txs[1].max_fee + 1)])
    rpc_call(node.url, "evm_mine")
    set_automine(node, True)

    report = reconcile(sender.rpc, journal, keeper_key.address)
    assert report.confirmed == 1
    txs = journal.all_txs()
    assert len({t.nonce for t in txs}) == 1  # every version shares one nonce
    landed = [t for t in txs if t.status == "confirmed"]
    assert len(landed) == 1 and landed[0].max_fee > txs[1].max_fee
    assert sorted(t.status for t in txs if t is not landed[0]) == ["replaced"] * (len(txs) - 1)
    fees = [(t.max_fee, t.priority_fee) for t in txs]
    for (f0, p0), (f1, p1) in zip(fees, fees[1:]):
        assert f1 * 1000 >= f0 * 1125 and p1 * 1000 >= p0 * 1125
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_first_url_dead_second_serves_and_failure_is_reported(node, stack, journal, keeper_key):
    dead = f"http://127.0.0.1:{free_port()}"
    errors = []
    # (the dead URL refuses at once, whatever the timeout: it only bounds the live node's answer)
    rpc = RpcClient([dead, node.url], timeout_seconds=30.0, on_error=lambda url, exc: errors.append(url))
    assert rpc.call(lambda w3: w3.eth.chain_id) == 31337
    assert rpc.active_url == node.url
    assert errors == [dead]


def test_all_urls_dead_raises_chain_unavailable():
    rpc = RpcClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout_seconds=0.5)
    with pytest.raises(ChainUnavailable):
        rpc.call(lambda w3: w3.eth.block_number)


def test_crash_between_journal_and_broadcast_is_rebroadcast_once(make_sender, node, stack, w3, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, stack.address("uniswap_router"), 5)
    gas = sender.simulate(to, data)
    record = sender._sign_and_journal(
        to=to, data=data, gas=gas, nonce=sender.next_nonce(), fees=Fees(4 * GWEI, GWEI), vault="v",
        tick_id=None, hedge_nonce=None, chain_id=31337, note=None,
    )  # ... and the process dies here, before broadcasting
    assert w3.eth.get_transaction_count(keeper_key.address) == 0
    assert reconcile(sender.rpc, journal, keeper_key.address).rebroadcast == 1
    rpc_call(node.url, "evm_mine")
    assert reconcile(sender.rpc, journal, keeper_key.address).confirmed == 1
    assert journal.all_txs()[0].hash == record.hash
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_crash_after_broadcast_before_receipt_is_recognised_as_landed(make_sender, node, stack, w3, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, stack.address("uniswap_router"), 9)
    sent = sender.send(to=to, data=data, vault="v", wait=False)  # broadcast; process dies before the receipt
    w3.eth.wait_for_transaction_receipt(sent.tx_hash, timeout=60)  # the node mines it (after answering the broadcast)
    report = reconcile(sender.rpc, journal, keeper_key.address)
    assert (report.confirmed, report.rebroadcast) == (1, 0)
    assert w3.eth.get_transaction_count(keeper_key.address) == 1


def test_nonce_taken_by_another_process_marks_the_journal_entry_dropped(make_sender, node, stack, w3, journal, keeper_key):
    sender = make_sender([node.url], keeper_key, journal)
    to, data = approve_call(stack, stack.address("uniswap_router"), 1)
    nonce = sender.next_nonce()
    sender._sign_and_journal(to=to, data=data, gas=100_000, nonce=nonce, fees=Fees(4 * GWEI, GWEI), vault="v",
                             tick_id=None, hedge_nonce=None, chain_id=31337, note=None)
    # Another process with the same key uses the nonce first.
    other = Account.from_key(ANVIL_KEYS[1]).sign_transaction(
        {"to": keeper_key.address, "value": 0, "gas": 21000, "maxFeePerGas": 4 * GWEI,
         "maxPriorityFeePerGas": GWEI, "nonce": nonce, "chainId": 31337, "type": 2})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(other.raw_transaction))
    assert reconcile(sender.rpc, journal, keeper_key.address).dropped == 1
    assert journal.all_txs()[0].status == "dropped"
    assert sender.next_nonce() == nonce + 1


def test_fees_above_the_cap_are_refused(node, w3):
    rpc_call(node.url, "anvil_setNextBlockBaseFeePerGas", [hex(500 * GWEI)])
    rpc_call(node.url, "evm_mine")
    with pytest.raises(FeeCapExceeded):
        suggest_fees(w3, FeePolicy(max_fee_cap=100 * GWEI))


def test_suggested_fees_cover_the_next_base_fee(w3):
    fees = suggest_fees(w3, FeePolicy())
    next_base = w3.eth.fee_history(1, "latest", [50])["baseFeePerGas"][-1]
    assert fees.max_fee >= next_base + fees.priority_fee


def test_bump_raises_both_fields_by_at_least_an_eighth_and_respects_the_cap():
    f = Fees(max_fee=100, priority_fee=8).bumped(cap=10**9)
    assert f.max_fee >= 113 and f.priority_fee >= 9
    with pytest.raises(FeeCapExceeded):
        Fees(max_fee=100, priority_fee=8).bumped(cap=110)


def test_insufficient_gas_funds_sends_nothing(make_sender, node, stack, journal):
    poor = Signer(Account.create())
    sender = make_sender([node.url], poor, journal)
    to, data = approve_call(stack, stack.address("uniswap_router"), 1)
    with pytest.raises(InsufficientGasFunds):
        sender.send(to=to, data=data, vault="v")
    assert journal.all_txs() == []


def test_keystore_signer_decrypts_and_never_shows_the_key(tmp_path, monkeypatch):
    acct = Account.create()
    path = tmp_path / "keeper.json"
    path.write_text(json.dumps(Account.encrypt(acct.key, "s3cret")))
    monkeypatch.setenv("HV_TEST_PW", "s3cret")
    signer = Signer.from_keystore(path, "HV_TEST_PW")
    assert signer.address == acct.address
    assert acct.key.hex().removeprefix("0x") not in repr(signer) + str(signer)
    monkeypatch.setenv("HV_TEST_PW", "wrong")
    with pytest.raises(ValueError, match="wrong password"):
        Signer.from_keystore(path, "HV_TEST_PW")


def test_env_signer_names_the_missing_variable(monkeypatch):
    monkeypatch.delenv("HV_NOPE", raising=False)
    with pytest.raises(ValueError, match="HV_NOPE"):
        Signer.from_env("HV_NOPE")
