"""docs/delivery-vectors.json is what the Python implementation computes, byte for byte.

The JavaScript tests (js/sdk/test/delivery.test.js) load the same file. To regenerate it after a
deliberate change of the spec (and of docs/delivery.md): ``.venv/bin/python -m
tests.services.test_delivery_vectors``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from PIL import Image

from services.content import canonical_hash
from services.exchange import delivery_key, key_commitment, open_sealed, public_key_bytes, seal
from services.exchange.delivery_keys import (
    INFO,
    N,
    delivery_key_message,
    derive_delivery_key,
    prove_possession,
    registration_message,
    verify_registration,
)
from services.exchange.sealing import (
    compressed,
    esp_sealing_key,
    recipient_sealing_key,
    seal_to,
)

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "delivery-vectors.json"
# anvil's well-known dev keys 0 (the ESP) and 1 (the producer's account): public test keys only.
ESP = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
PRODUCER = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _sign(private: bytes, text: str) -> bytes:
    return bytes(Account.sign_message(encode_defunct(text=text), private).signature)


def _high_s(sig: bytes) -> bytes:
    """The same signature with s replaced by n - s and v flipped (what some signers emit)."""
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (N - s).to_bytes(32, "big") + bytes([55 - sig[64]])


def build_vectors() -> dict[str, Any]:
    account = Account.from_key(PRODUCER).address
    keys = []
    for chain_id, domain in ((31337, "localhost:8000"), (1, "market.example.org")):
        message = delivery_key_message(account=account, chain_id=chain_id, domain=domain)
        sig = _sign(PRODUCER, message)
        salt = bytes(defunct_hash_message(text=message))
        okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=salt, info=INFO).derive(sig[:64])
        key = derive_delivery_key(sig, account=account, chain_id=chain_id, domain=domain)
        proof = prove_possession(key, account=account, chain_id=chain_id, domain=domain)
        keys.append(
            {
                "account_private_key": _hex(PRODUCER),
                "account": account,
                "chain_id": chain_id,
                "domain": domain,
                "message": message,
                "eip191_hash": _hex(salt),
                "signature": _hex(sig),
                "equivalent_signatures": [
                    _hex(sig[:64] + bytes([sig[64] - 27])),  # v as 0/1
                    _hex(_high_s(sig)),  # high s
                    _hex(sig[:32] + bytes([sig[32] | (sig[64] - 27) << 7]) + sig[33:64]),  # 2098
                ],
                "ikm": _hex(sig[:64]),
                "okm": _hex(okm),
                "delivery_secret": _hex(key.secret),
                "delivery_public": _hex(key.public),
                "registration_message": registration_message(
                    account=account, chain_id=chain_id, domain=domain, public_key=key.public
                ),
                "registration_proof": _hex(proof),
            }
        )
    recipient = bytes.fromhex(keys[0]["delivery_secret"][2:])
    preimage = hashlib.sha256(b"aigc vector preimage").digest()
    task_id = hashlib.sha256(b"aigc vector task").digest()
    nonce = bytes(range(12))
    plaintext = b"\x89PNG\r\n\x1a\n not really a PNG: any bytes are sealed as they are"
    esp_pub = compressed(public_key_bytes(ESP))
    rec_pub = compressed(public_key_bytes(recipient))
    key = esp_sealing_key(
        esp_private=ESP, recipient_public=rec_pub, preimage=preimage, task_id=task_id
    )
    assert key == recipient_sealing_key(
        recipient_private=recipient, esp_public=esp_pub, preimage=preimage, task_id=task_id
    )
    shared = ec.derive_private_key(int.from_bytes(ESP, "big"), ec.SECP256K1()).exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), rec_pub)
    )
    sealed = seal_to(plaintext, key=key, task_id=task_id, recipient_public=rec_pub, nonce=nonce)
    v1_key = delivery_key(
        own_private=ESP, peer_public=public_key_bytes(PRODUCER), preimage=preimage, task_id=task_id
    )
    v1_sealed = nonce + seal_with_nonce_v1(plaintext, v1_key, task_id, nonce)
    image = Image.new("RGB", (3, 2))
    image.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255), (1, 2, 3), (250, 251, 252), (0, 0, 0)])
    return {
        "spec": "docs/delivery.md",
        "delivery_key": keys,
        "seal_v2": {
            "esp_private_key": _hex(ESP),
            "esp_public": _hex(esp_pub),
            "recipient_private_key": _hex(recipient),
            "recipient_public": _hex(rec_pub),
            "preimage": _hex(preimage),
            "task_id": _hex(task_id),
            "shared_x": _hex(shared),
            "hkdf_ikm": _hex(shared + preimage),
            "hkdf_info": _hex(b"aigc/sealed-delivery/v2" + esp_pub + rec_pub),
            "key": _hex(key),
            "key_commitment": _hex(key_commitment(key)),
            "nonce": _hex(nonce),
            "aad": _hex(b"\x02" + rec_pub + task_id),
            "plaintext": _hex(plaintext),
            "sealed": _hex(sealed),
        },
        "seal_v1": {
            "esp_private_key": _hex(ESP),
            "producer_account_public": _hex(public_key_bytes(PRODUCER)),
            "preimage": _hex(preimage),
            "task_id": _hex(task_id),
            "key": _hex(v1_key),
            "plaintext": _hex(plaintext),
            "sealed": _hex(v1_sealed),
        },
        "content_hash": {
            "width": 3,
            "height": 2,
            "rgb": _hex(image.tobytes()),
            "hash": _hex(canonical_hash(image)),
        },
    }


def seal_with_nonce_v1(plaintext: bytes, key: bytes, task_id: bytes, nonce: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key).encrypt(nonce, plaintext, task_id)


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


def test_the_committed_vectors_are_what_the_code_computes(vectors):
    assert vectors == build_vectors()


def test_equivalent_signature_encodings_derive_the_same_key(vectors):
    for v in vectors["delivery_key"]:
        for sig in v["equivalent_signatures"]:
            key = derive_delivery_key(
                bytes.fromhex(sig[2:]),
                account=v["account"],
                chain_id=v["chain_id"],
                domain=v["domain"],
            )
            assert "0x" + key.secret.hex() == v["delivery_secret"]


def test_the_vectors_open_and_verify(vectors):
    v2, v1 = vectors["seal_v2"], vectors["seal_v1"]
    b = lambda s: bytes.fromhex(s[2:])  # noqa: E731
    assert open_sealed(b(v2["sealed"]), key=b(v2["key"]), task_id=b(v2["task_id"])) == b(
        v2["plaintext"]
    )
    assert open_sealed(b(v1["sealed"]), key=b(v1["key"]), task_id=b(v1["task_id"])) == b(
        v1["plaintext"]
    )
    for v in vectors["delivery_key"]:
        verify_registration(
            b(v["delivery_public"]),
            b(v["registration_proof"]),
            account=v["account"],
            chain_id=v["chain_id"],
            domain=v["domain"],
        )


def test_v1_sealing_still_round_trips():
    key, task = b"k" * 32, b"t" * 32
    assert open_sealed(seal(b"old", key=key, task_id=task), key=key, task_id=task) == b"old"


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build_vectors(), indent=2) + "\n")
    print(f"wrote {VECTORS}")


def test_the_scalar_is_the_okm_reduced_mod_n(vectors):
    for v in vectors["delivery_key"]:
        secret = int(v["okm"], 16) % N
        assert secret == int(v["delivery_secret"], 16)
        assert (
            compressed(public_key_bytes(secret.to_bytes(32, "big"))).hex()
            == v["delivery_public"][2:]
        )


def test_a_zero_scalar_or_a_malformed_signature_is_refused(vectors, monkeypatch):
    from services.exchange import delivery_keys

    v = vectors["delivery_key"][0]
    where = {"account": v["account"], "chain_id": v["chain_id"], "domain": v["domain"]}
    for bad in (bytes(65), b"\x01" * 32 + N.to_bytes(32, "big") + b"\x1b", b""):
        with pytest.raises(delivery_keys.DeliveryKeyError):
            derive_delivery_key(bad, **where)

    class ZeroHkdf:
        def __init__(self, **_: Any):
            pass

        def derive(self, _: bytes) -> bytes:
            return (5 * N).to_bytes(48, "big")  # a multiple of n reduces to 0

    monkeypatch.setattr(delivery_keys, "HKDF", ZeroHkdf)
    with pytest.raises(delivery_keys.DeliveryKeyError, match="zero scalar"):
        derive_delivery_key(bytes.fromhex(v["signature"][2:]), **where)


def test_messages_refuse_a_domain_that_could_forge_lines():
    with pytest.raises(ValueError, match="domain"):
        delivery_key_message(account="0x" + "11" * 20, chain_id=1, domain="a.org\nChain ID: 5")
    with pytest.raises(ValueError, match="chain_id"):
        delivery_key_message(account="0x" + "11" * 20, chain_id=0, domain="a.org")
