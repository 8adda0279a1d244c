"""Contract accounts sign in through the API on the test chain: ERC-1271 (deployed) and
ERC-6492 (counterfactual, deployed by a factory only inside the check's eth_call).

Attacks: a wallet that says yes to anything signs in only as itself; another owner's signature,
domain, chain or a replayed nonce fails; a 6492 wrapper whose factory deploys some other address
fails; nothing is deployed for real by a sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_abi import encode
from eth_account.messages import encode_defunct

from services import siwe

SUFFIX = bytes.fromhex("6492" * 16)


def _text(api, address, *, domain="localhost:8000", chain_id=None, nonce=None) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    return siwe.SiweMessage(
        domain=domain,
        address=address,
        statement=None,
        uri="http://localhost:8000",
        version="1",
        chain_id=api.chain_id if chain_id is None else chain_id,
        nonce=nonce or api.nonce(),
        issued_at=now,
        expiration_time=now + timedelta(minutes=10),
    ).to_text()


def _owner_sig(owner, text) -> bytes:
    return bytes(owner.sign_message(encode_defunct(text=text)).signature)


def _verify(api, text, raw: bytes):
    return api.client.post("/v1/auth/verify", json={"message": text, "signature": "0x" + raw.hex()})


def _factory(api):
    address = api.world.deploy_test_contract("WalletFactory6492")
    return api.world.contract("WalletFactory6492", address)


def _wrap(factory, calldata: str, inner: bytes) -> bytes:
    return (
        encode(["address", "bytes", "bytes"], [factory.address, bytes.fromhex(calldata[2:]), inner])
        + SUFFIX
    )


def test_erc1271_wallet_signs_in_as_itself(api):
    alice = api.world.producer
    wallet = api.world.deploy_test_contract("OwnedWallet1271", alice.address)
    text = _text(api, wallet)
    r = _verify(api, text, _owner_sig(alice, text))
    assert r.status_code == 200, r.text
    assert r.json()["address"] == wallet
    me = api.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.json() == {"address": wallet}
    # A contract has no public key to record (an EOA's is recorded for sealed deliveries).
    assert api.client.get(f"/v1/accounts/{wallet}").status_code == 404
    api.sign_in(alice)
    assert api.client.get(f"/v1/accounts/{alice.address}").status_code == 200
    # The owner's EIP-2098 compact signature is accepted by the wallet too.
    text = _text(api, wallet)
    signed = alice.sign_message(encode_defunct(text=text))
    compact = signed.r.to_bytes(32, "big") + ((signed.v - 27) << 255 | signed.s).to_bytes(32, "big")
    assert _verify(api, text, compact).status_code == 200


def test_erc1271_wallet_refuses_someone_elses_signature(api):
    alice, mallory = api.world.producer, api.world.attacker
    wallet = api.world.deploy_test_contract("OwnedWallet1271", alice.address)
    text = _text(api, wallet)
    r = _verify(api, text, _owner_sig(mallory, text))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
    # The owner's signature over another message does not carry over.
    other = _text(api, wallet)
    r = _verify(api, text, _owner_sig(alice, other))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"


def test_a_yes_to_anything_wallet_signs_in_only_as_itself(api):
    alice = api.world.producer
    yes = api.world.deploy_test_contract("YesWallet1271")
    text = _text(api, yes)
    r = _verify(api, text, b"\x00" * 7)
    assert r.status_code == 200 and r.json()["address"] == yes
    # Its "signature" means nothing for an EOA, nor for a wallet that checks its owner.
    owned = api.world.deploy_test_contract("OwnedWallet1271", alice.address)
    for victim in (alice.address, owned):
        text = _text(api, victim)
        for raw in (b"\x00" * 7, b"\x00" * 65, _owner_sig(api.world.attacker, text)):
            r = _verify(api, text, raw)
            assert r.status_code == 401, (victim, raw.hex(), r.text)
            assert r.json()["error"]["code"] == "siwe_bad_signature"


def test_contract_sign_in_for_another_domain_chain_or_a_used_nonce_fails(api):
    alice = api.world.producer
    wallet = api.world.deploy_test_contract("OwnedWallet1271", alice.address)
    for kwargs, code in (
        ({"domain": "evil.example"}, "siwe_wrong_domain"),
        ({"chain_id": api.chain_id + 1}, "siwe_wrong_chain"),
        ({"nonce": "abcdef0123456789"}, "siwe_nonce_invalid"),
    ):
        text = _text(api, wallet, **kwargs)
        r = _verify(api, text, _owner_sig(alice, text))
        assert r.status_code == 401 and r.json()["error"]["code"] == code, (kwargs, r.text)
    text = _text(api, wallet)
    assert _verify(api, text, _owner_sig(alice, text)).status_code == 200
    again = _verify(api, text, _owner_sig(alice, text))
    assert again.status_code == 401 and again.json()["error"]["code"] == "siwe_nonce_invalid"


def test_erc6492_counterfactual_wallet_signs_in_before_deployment(api):
    alice = api.world.producer
    factory = _factory(api)
    salt = b"\x11" * 32
    wallet = factory.functions.predict(alice.address, salt).call()
    w3 = api.world.chain.w3
    assert w3.eth.get_code(wallet) == b""
    deploy = factory.functions.deploy(alice.address, salt)._encode_transaction_data()
    text = _text(api, wallet)
    r = _verify(api, text, _wrap(factory, deploy, _owner_sig(alice, text)))
    assert r.status_code == 200, r.text
    assert r.json()["address"] == wallet
    assert w3.eth.get_code(wallet) == b"", "a sign-in must not deploy anything"
    # Once deployed, the same kind of wrapped signature still works (the factory is skipped).
    api.world.tx(alice).send(factory.functions.deploy(alice.address, salt))
    assert w3.eth.get_code(wallet) != b""
    text = _text(api, wallet)
    assert _verify(api, text, _wrap(factory, deploy, _owner_sig(alice, text))).status_code == 200


def test_erc6492_wrapper_that_deploys_another_address_fails(api):
    alice, mallory = api.world.producer, api.world.attacker
    factory = _factory(api)
    wallet = factory.functions.predict(alice.address, b"\x11" * 32).call()
    elsewhere = factory.functions.deploy(alice.address, b"\x22" * 32)._encode_transaction_data()
    text = _text(api, wallet)
    r = _verify(api, text, _wrap(factory, elsewhere, _owner_sig(alice, text)))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
    # Nor can a wrapper make an EOA (no code, ever) sign in with a wallet's approval.
    mine = factory.functions.deploy(mallory.address, b"\x33" * 32)._encode_transaction_data()
    text = _text(api, alice.address)
    r = _verify(api, text, _wrap(factory, mine, _owner_sig(mallory, text)))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
    # The right deployment with the wrong owner's inner signature fails too.
    right = factory.functions.deploy(alice.address, b"\x11" * 32)._encode_transaction_data()
    text = _text(api, wallet)
    r = _verify(api, text, _wrap(factory, right, _owner_sig(mallory, text)))
    assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"


def test_a_malformed_6492_wrapper_is_a_401_not_a_500(api):
    alice = api.world.producer
    factory = _factory(api)
    wallet = factory.functions.predict(alice.address, b"\x11" * 32).call()
    for raw in (SUFFIX, b"\x01" * 40 + SUFFIX, encode(["uint256"], [2**255]) + SUFFIX):
        r = _verify(api, _text(api, wallet), raw)
        assert r.status_code == 401 and r.json()["error"]["code"] == "siwe_bad_signature"
