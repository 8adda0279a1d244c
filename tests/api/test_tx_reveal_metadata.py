"""``POST /v1/tx/registry/reveal``: only the registrant may pass a metadata URI.

The Registry requires ``msg.sender == lock.sender`` for a reveal with a non-empty metadata URI
(the URI is bound by neither the commitment nor the attestation) and refuses anyone else's with
a bare revert, which would read as a 502 chain error; the API answers 422 first."""

from __future__ import annotations

from tests.contracts.helpers import details

ZERO = "0x" + "00" * 20


def _body(world, metadata_uri: str) -> dict:
    return {
        "content_hash": "0x" + "11" * 32,
        "fingerprint": "0x" + "22" * 32,
        "detail": "0x" + details()["base"].hex(),
        "salt": "0x" + "33" * 32,
        "lock": {
            "sender": world.producer.address,
            "receiver": world.esp.address,
            "asset": "ETHER",
            "token": ZERO,
            "amount": "1000",
            "hashlock": "0x" + "44" * 32,
            "timelock": world.chain.timestamp() + 3600,
        },
        "model_id": "0x" + "55" * 32,
        "seed": "7",
        "metadata_uri": metadata_uri,
        "attestation": "0x" + "66" * 65,
    }


def test_a_relayer_building_a_reveal_with_a_metadata_uri_is_refused(api):
    world = api.world
    headers = api.sign_in(world.attacker)
    r = api.client.post(
        "/v1/tx/registry/reveal", json=_body(world, "https://phishing.example"), headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "metadata_uri_not_registrant"
    # the producer's own wallet passes this check (the contract then refuses the made-up lock)
    headers = api.sign_in(world.producer)
    r = api.client.post("/v1/tx/registry/reveal", json=_body(world, "ipfs://own"), headers=headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] != "metadata_uri_not_registrant"
