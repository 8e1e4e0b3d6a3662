def test_chain(accounts, chain):
    assert chain.id == 31337
    assert accounts[0].balance() > 0
