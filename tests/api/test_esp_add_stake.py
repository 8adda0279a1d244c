"""``POST /v1/tx/esp/add-stake``: the API builds ``EspRegistry.addStake`` for any wallet, as the
other ``/v1/tx/esp/*`` routes do (``tests/contracts/test_esp_add_stake.py`` holds the contract).

Attacks: an ESP that deregistered cannot buy its way back into service past its exit (409
``EspNotRegistered``, nothing to sign), nor can an address that never registered; a slashed-out
ESP short of the minimum stays out (409 ``EspStakeTooLow``). Bad amounts are 422 before the
chain: zero or 2**128 and more (``validation_error``), a stake that would pass 128 bits
(``stake_too_large``: the Registry stores ``uint128(stake)``, which would wrap it), more than
the caller's balance (``insufficient_funds``).
"""

from __future__ import annotations

from tests.api._trading import sign_and_relay
from tests.contracts.helpers import ESP_STAKE, register_esp
from tests.contracts.test_esp_add_stake import EXTRA, _slashed_out

ROUTE = "/v1/tx/esp/add-stake"


def _post(api, account, amount):
    return api.client.post(ROUTE, json={"amount": amount}, headers=api.sign_in(account))


def _code(r) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_an_esp_tops_up_through_the_api(api):
    world = api.world
    register_esp(world)
    r = _post(api, world.esp, str(EXTRA))
    assert r.status_code == 200, r.text
    tx = r.json()
    assert tx["to"] == world.deployment.esp_registry.address and int(tx["value"]) == EXTRA
    out = sign_and_relay(api, world.esp, tx)
    assert out["status"] == 1 and [e["event"] for e in out["events"]] == ["EspStakeAdded"]
    info = world.esps(world.buyer).esp_info(world.esp.address)
    assert (info.stake, info.active) == (ESP_STAKE + EXTRA, True)


def test_a_stranger_and_an_exiting_esp_are_refused_before_signing(api):
    world = api.world
    assert _code(_post(api, world.buyer, "1")) == (409, "EspNotRegistered")
    register_esp(world)
    world.esps(world.esp).deregister()  # exiting: its unbonding and exit delay run their course
    assert _code(_post(api, world.esp, str(ESP_STAKE))) == (409, "EspNotRegistered")
    assert not world.esps(world.buyer).is_active(world.esp.address)


def test_a_slashed_out_esp_comes_back_only_at_the_minimum(api):
    world = api.world
    _slashed_out(world)  # EXTRA left, under half the minimum: out of service
    short = _post(api, world.esp, str(ESP_STAKE - EXTRA - 1))
    assert _code(short) == (409, "EspStakeTooLow")
    r = _post(api, world.esp, str(ESP_STAKE - EXTRA))
    assert r.status_code == 200, r.text
    assert sign_and_relay(api, world.esp, r.json())["status"] == 1
    info = world.esps(world.buyer).esp_info(world.esp.address)
    assert (info.stake, info.active) == (ESP_STAKE, True)


def test_bad_amounts_are_422_with_stable_codes(api):
    world = api.world
    register_esp(world)
    for amount in ("0", 0, str(2**128), "-1", "one"):
        assert _code(_post(api, world.esp, amount)) == (422, "validation_error"), amount
    too_large = _post(api, world.esp, str(2**128 - ESP_STAKE))  # the stake would wrap
    assert _code(too_large) == (422, "stake_too_large")
    balance = world.chain.w3.eth.get_balance(world.esp.address)
    assert _code(_post(api, world.esp, str(balance + 1))) == (422, "insufficient_funds")
    assert world.esps(world.buyer).esp_info(world.esp.address).stake == ESP_STAKE
    r = api.client.post(ROUTE, json={"amount": "1"})  # not signed in
    assert r.status_code == 401
