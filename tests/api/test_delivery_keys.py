"""Delivery keys over REST: registration with a proof of possession, and deliveries sealed to them.

The attacks: a proof by another key, for another chain or another domain, or a key with a typo,
is refused (422 ``bad_delivery_key_proof`` / ``bad_delivery_key``); a delivery sealed to the
producer's delivery key does not open for a competitor, with the preimage alone, with the
account key, or with a delivery key derived for another chain or domain; the key-commitment
fraud proof still convicts an ESP that seals other bytes than it attested.
"""

from __future__ import annotations

import secrets
from types import SimpleNamespace

import pytest
from eth_account.messages import encode_defunct

from ledger import LockTerms
from services import esp_worker
from services.exchange import SealError, delivery_key, key_commitment, open_sealed
from services.exchange.delivery_keys import (
    delivery_key_message,
    derive_delivery_key,
    prove_possession,
    registration_message,
)
from services.exchange.sealing import (
    compressed,
    public_key_bytes,
    recipient_sealing_key,
    sealed_recipient,
)
from services.market_client import MarketClient, MarketError
from services.producer import DeliveryMismatch, ProducerSession
from tests.api.conftest import sign, siwe_text
from tests.api.test_generation_flow import PRICE, _claimed, _fp, parties  # noqa: F401

DOMAIN = "localhost:8000"  # ApiSettings.siwe_domain in the api fixture


def _derive(account, *, chain_id, domain=DOMAIN):
    message = delivery_key_message(account=account.address, chain_id=chain_id, domain=domain)
    signature = bytes(account.sign_message(encode_defunct(text=message)).signature)
    return derive_delivery_key(signature, account=account.address, chain_id=chain_id, domain=domain)


def _put(api, headers, public: bytes, proof: bytes):
    return api.client.put(
        "/v1/accounts/me/delivery-key",
        headers=headers,
        json={"public_key": "0x" + public.hex(), "proof": "0x" + proof.hex()},
    )


def test_register_and_read_a_delivery_key(api):
    producer = api.world.producer
    headers = api.sign_in(producer)
    got = api.client.get(f"/v1/accounts/{producer.address.lower()}/delivery-key")
    assert got.status_code == 200, got.text
    expected_message = delivery_key_message(
        account=producer.address, chain_id=api.chain_id, domain=DOMAIN
    )
    assert got.json() == {
        "address": producer.address,
        "delivery_key": None,
        "chain_id": api.chain_id,
        "domain": DOMAIN,
        "message": expected_message,
    }
    key = _derive(producer, chain_id=api.chain_id)
    proof = prove_possession(key, account=producer.address, chain_id=api.chain_id, domain=DOMAIN)
    uncompressed = public_key_bytes(key.secret)  # either encoding is accepted, stored compressed
    r = _put(api, headers, uncompressed, proof)
    assert r.status_code == 200, r.text
    assert r.json()["delivery_key"] == "0x" + key.public.hex()
    api.sign_in(producer)  # signing in again keeps it
    got = api.client.get(f"/v1/accounts/{producer.address}/delivery-key").json()
    assert got["delivery_key"] == "0x" + key.public.hex()


def test_a_registration_without_the_matching_proof_is_refused(api):
    producer, other = api.world.producer, api.world.buyer
    headers = api.sign_in(producer)
    key = _derive(producer, chain_id=api.chain_id)
    where = {"account": producer.address, "chain_id": api.chain_id, "domain": DOMAIN}
    text = registration_message(public_key=key.public, **where)
    by_account_key = bytes(producer.sign_message(encode_defunct(text=text)).signature)
    other_key = _derive(other, chain_id=api.chain_id)
    typo = bytes.fromhex("02" + "00" * 31 + "01")  # a valid point, not the proven one
    refused = {
        "signed by the account, not the delivery key": (key.public, by_account_key),
        "someone else's key and proof": (
            other_key.public,
            prove_possession(
                other_key, account=other.address, chain_id=api.chain_id, domain=DOMAIN
            ),
        ),
        "a proof for another chain": (
            key.public,
            prove_possession(key, account=producer.address, chain_id=1, domain=DOMAIN),
        ),
        "a proof for another domain": (
            key.public,
            prove_possession(
                key, account=producer.address, chain_id=api.chain_id, domain="evil.io"
            ),
        ),
        "a typo in the key": (typo, prove_possession(key, **where)),
        "a malformed proof": (key.public, b"\x00" * 65),
    }
    for why, (public, proof) in refused.items():
        r = _put(api, headers, public, proof)
        assert r.status_code == 422, why
        assert r.json()["error"]["code"] == "bad_delivery_key_proof", why
    r = _put(api, headers, bytes.fromhex("02" + "00" * 31 + "05"), prove_possession(key, **where))
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_delivery_key"  # off curve
    r = api.client.put(
        "/v1/accounts/me/delivery-key",
        json={"public_key": "0x" + key.public.hex(), "proof": "0x" + "11" * 65},
    )
    assert r.status_code == 401
    r = api.client.get(f"/v1/accounts/{producer.address}/delivery-key").json()
    assert r["delivery_key"] is None  # nothing half-written
    assert api.client.get("/v1/accounts/0x" + "ab" * 20 + "/delivery-key").status_code == 404


def test_a_delivery_sealed_to_the_delivery_key_opens_only_with_it(api, parties):  # noqa: F811
    worker, producer = parties
    key = producer.use_delivery_key()
    assert producer.use_delivery_key() == key  # deterministic signer: nothing to re-register
    task, claimed = _claimed(api, worker, producer, "a violet triangle", seed=11)
    sealed = producer.client.get_bytes(f"/v1/tasks/{task['id']}/sealed")
    assert sealed_recipient(sealed) == key.public  # the delivery names the key it is sealed to
    image, _ = producer.collect(claimed)
    assert image.size == (64, 64)

    preimage = producer.htlc.revealed_preimage(LockTerms.from_json(claimed["lock"]))
    task_id = bytes.fromhex(task["id"][2:])
    esp_public = public_key_bytes(bytes(api.world.esp.key))

    def opens(secret: bytes) -> bool:
        k = recipient_sealing_key(
            recipient_private=secret, esp_public=esp_public, preimage=preimage, task_id=task_id
        )
        try:
            open_sealed(sealed, key=k, task_id=task_id)
        except SealError:
            return False
        return True

    producer_account = api.world.producer
    competitor = api.world.buyer
    assert not opens(_derive(competitor, chain_id=api.chain_id).secret)
    assert not opens(_derive(producer_account, chain_id=1).secret)  # registered elsewhere
    assert not opens(_derive(producer_account, chain_id=api.chain_id, domain="evil.io").secret)
    assert not opens(bytes(producer_account.key))  # the account key is not the recipient
    v1 = delivery_key(
        own_private=bytes(producer_account.key),
        peer_public=esp_public,
        preimage=preimage,
        task_id=task_id,
    )
    with pytest.raises(SealError):  # nor does the old construction, preimage and all
        open_sealed(sealed, key=v1, task_id=task_id)
    assert opens(key.secret)
    # the competitor's own client, with the leaked sealed bytes and the on-chain preimage
    eve = MarketClient(api.client, competitor)
    eve.sign_in()
    eve_session = ProducerSession(
        eve, producer.htlc, producer.registry, producer.esps, fingerprint=_fp
    )
    eve_session.use_delivery_key()
    eve.get_bytes = producer.client.get_bytes  # pretend the sealed bytes leaked
    with pytest.raises(DeliveryMismatch, match="names recipient key"):
        eve_session.collect(claimed)


def test_the_fraud_proof_convicts_an_esp_sealing_other_bytes_to_a_delivery_key(
    api,
    parties,  # noqa: F811
    monkeypatch,
):
    worker, producer = parties
    producer.use_delivery_key()
    task = producer.post("a grey hexagon", seed=12, max_price=PRICE)
    worker.step()
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    honest = esp_worker.seal_to
    monkeypatch.setattr(
        esp_worker,
        "seal_to",
        lambda data, **kw: honest(b"junk" + data[4:], **kw),  # attests one image, seals another
    )
    worker.step()
    monkeypatch.undo()
    worker.step()
    api.index()
    claimed = producer.task(task["id"])
    with pytest.raises(DeliveryMismatch) as exc:
        producer.collect(claimed)
    assert "0x" + key_commitment(exc.value.key).hex() == claimed["delivery"]["key_commitment"]
    proven = producer.report_fraud(exc.value)
    assert proven["status"] == "fraud_proven"


def test_an_honest_delivery_to_a_delivery_key_cannot_be_framed(api, parties):  # noqa: F811
    worker, producer = parties
    key = producer.use_delivery_key()
    task, claimed = _claimed(api, worker, producer, "a white ring", seed=13)
    producer.collect(claimed)
    real = recipient_sealing_key(
        recipient_private=key.secret,
        esp_public=compressed(public_key_bytes(bytes(api.world.esp.key))),
        preimage=producer.htlc.revealed_preimage(LockTerms.from_json(claimed["lock"])),
        task_id=bytes.fromhex(task["id"][2:]),
    )
    with pytest.raises(MarketError) as exc:
        producer.client.post(f"/v1/tasks/{task['id']}/fraud", json={"key": "0x" + real.hex()})
    assert exc.value.code == "no_fraud"


def test_a_signer_that_is_not_deterministic_is_detected_and_re_registered(api, parties):  # noqa: F811
    _, producer = parties
    account = producer.client.account

    def unstable(text: str) -> bytes:  # like a contract wallet's signature with a fresh salt
        signature = bytes(account.sign_message(encode_defunct(text=text)).signature)
        return signature + secrets.token_bytes(8)

    first = producer.use_delivery_key(unstable)
    second = producer.use_delivery_key(unstable)
    assert first.public != second.public  # derived again, it differs from the registered key
    got = api.client.get(f"/v1/accounts/{account.address}/delivery-key").json()
    assert got["delivery_key"] == "0x" + second.public.hex()  # so the client re-registered
    stable = producer.use_delivery_key()  # a deterministic wallet: the same key every time
    assert producer.use_delivery_key().public == stable.public


def _contract_account(api, owner):
    """An ERC-1271 wallet owned by ``owner``, signed in (it has no public key of its own)."""
    wallet = api.world.deploy_test_contract("OwnedWallet1271", owner.address)
    text = siwe_text(SimpleNamespace(address=wallet), nonce=api.nonce(), chain_id=api.chain_id)
    r = api.client.post("/v1/auth/verify", json={"message": text, "signature": sign(owner, text)})
    assert r.status_code == 200, r.text
    return wallet, {"Authorization": f"Bearer {r.json()['token']}"}


def _derive_for(owner, wallet, *, chain_id, domain=DOMAIN):
    """The delivery key of ``wallet``: derived from its owner's signature over the wallet's
    message (what the wallet's signer produces; an ERC-1271 wallet validates the same bytes)."""
    message = delivery_key_message(account=wallet, chain_id=chain_id, domain=domain)
    signature = bytes(owner.sign_message(encode_defunct(text=message)).signature)
    return derive_delivery_key(signature, account=wallet, chain_id=chain_id, domain=domain)


def test_a_contract_account_registers_a_delivery_key(api):
    owner = api.world.producer
    wallet, headers = _contract_account(api, owner)
    # Signed in, but without a key record: no delivery key and no account key yet.
    assert api.client.get(f"/v1/accounts/{wallet}/delivery-key").status_code == 404
    key = _derive_for(owner, wallet, chain_id=api.chain_id)
    proof = prove_possession(key, account=wallet, chain_id=api.chain_id, domain=DOMAIN)
    r = _put(api, headers, key.public, proof)
    assert r.status_code == 200, r.text
    assert r.json()["address"] == wallet and r.json()["delivery_key"] == "0x" + key.public.hex()
    got = api.client.get(f"/v1/accounts/{wallet.lower()}/delivery-key")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "address": wallet,
        "delivery_key": "0x" + key.public.hex(),
        "chain_id": api.chain_id,
        "domain": DOMAIN,
        "message": delivery_key_message(account=wallet, chain_id=api.chain_id, domain=DOMAIN),
    }
    # It has still no account key: an ESP asking for one gets a clear 409, never a 500.
    r = api.client.get(f"/v1/accounts/{wallet}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_account_key", r.text
    # Replacing the key works as for any account.
    again = _derive_for(owner, wallet, chain_id=api.chain_id, domain="other.example")
    proof = prove_possession(again, account=wallet, chain_id=api.chain_id, domain=DOMAIN)
    assert _put(api, headers, again.public, proof).status_code == 200
    got = api.client.get(f"/v1/accounts/{wallet}/delivery-key").json()
    assert got["delivery_key"] == "0x" + again.public.hex()


def test_a_contract_account_key_needs_its_own_proof_and_leaves_no_record_when_refused(api):
    """The proof binds the key to the wallet's address: a proof made for the owner's EOA, or a
    key that does not match its proof, is a 422 and writes no key record."""
    owner = api.world.producer
    wallet, headers = _contract_account(api, owner)
    key = _derive_for(owner, wallet, chain_id=api.chain_id)
    for_owner = prove_possession(key, account=owner.address, chain_id=api.chain_id, domain=DOMAIN)
    other = _derive(api.world.attacker, chain_id=api.chain_id)
    wrong_key = prove_possession(other, account=wallet, chain_id=api.chain_id, domain=DOMAIN)
    for proof in (for_owner, wrong_key):
        r = _put(api, headers, key.public, proof)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "bad_delivery_key_proof"
    assert api.client.get(f"/v1/accounts/{wallet}/delivery-key").status_code == 404
    assert api.client.get(f"/v1/accounts/{wallet}").status_code == 404


def test_a_contract_producer_without_a_delivery_key_is_a_409_for_the_esp(api):
    """A contract account that posts a task has neither key until it registers one: the ESP's
    request for the account key is a 409 ``no_account_key`` (the worker retries later)."""
    from tests.contracts.helpers import register_esp

    register_esp(api.world)
    owner = api.world.producer
    wallet, headers = _contract_account(api, owner)
    r = api.client.post(
        "/v1/tasks",
        json={"prompt": "a red circle", "seed": 1, "max_price": str(PRICE)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = api.client.get(f"/v1/accounts/{wallet}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_account_key", r.text
    assert api.client.get(f"/v1/accounts/{wallet}/delivery-key").status_code == 404


def test_a_first_registration_racing_another_one_updates_the_row_not_a_500(api):
    """Two first registrations of one contract account at once: the one that loses the insert
    updates the row the other made (the key it proved wins), never a 500."""
    from sqlalchemy import event, insert
    from sqlalchemy.orm import Session

    from marketplace_api.models import AccountKey

    owner = api.world.producer
    wallet, headers = _contract_account(api, owner)
    engine = api.client.app.state.engine
    raced = []

    def concurrent_insert(session, flush_context, instances):
        if raced or not any(isinstance(o, AccountKey) for o in session.new):
            return
        raced.append(True)  # the other request's row lands first, in its own transaction
        with engine.begin() as conn:
            conn.execute(insert(AccountKey).values(address=wallet, delivery_key="0x02" + "11" * 32))

    event.listen(Session, "before_flush", concurrent_insert)
    try:
        key = _derive_for(owner, wallet, chain_id=api.chain_id)
        proof = prove_possession(key, account=wallet, chain_id=api.chain_id, domain=DOMAIN)
        r = _put(api, headers, key.public, proof)
    finally:
        event.remove(Session, "before_flush", concurrent_insert)
    assert raced, "the race did not happen"
    assert r.status_code == 200, r.text
    got = api.client.get(f"/v1/accounts/{wallet}/delivery-key").json()
    assert got["delivery_key"] == "0x" + key.public.hex()
