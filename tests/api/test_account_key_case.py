"""``GET /v1/accounts/{address}`` (the public key a sealed delivery needs) takes an address in
any case, as ``/v1/accounts/{address}/delivery-key`` and the product filters do: a lowercase
address (what many wallets and explorers print) answered a misleading 404 "has never signed
in" for an account that had."""

from __future__ import annotations


def test_an_account_key_is_found_whatever_the_case_of_the_address(api):
    world = api.world
    api.sign_in(world.producer)
    address = world.producer.address
    found = api.client.get(f"/v1/accounts/{address}")
    assert found.status_code == 200, found.text
    for spelled in (address.lower(), "0x" + address[2:].upper()):
        r = api.client.get(f"/v1/accounts/{spelled}")
        assert r.status_code == 200, r.text
        assert r.json() == found.json()
    assert api.client.get(f"/v1/accounts/0x{'ab' * 20}").status_code == 404
