"""Small builders the contract tests share (ESP registration, locks, image registration)."""

from __future__ import annotations

import hashlib
import secrets

from eth_account.signers.local import LocalAccount

from ledger import LockTerms, Registration, new_secret
from tests.conftest import World

ESP_STAKE = 10**17
FEE = 10**15

# Four distinct, non-degenerate 64-bit words; "near" differs from BASE_FP by one bit per word.
BASE_FP = bytes.fromhex("0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0")
NEAR_FP = bytes.fromhex("0123456789abcdeefedcba98765432110f1e2d3c4b5a69798796a5b4c3d2e1f1")
FAR_FP = bytes.fromhex("aaaaaaaaaaaaaaaa5555555555555555a5a5a5a5a5a5a5a55a5a5a5a5a5a5a5a")


def register_esp(world: World, esp: LocalAccount | None = None) -> LocalAccount:
    esp = esp or world.esp
    world.esps(esp).register(f"http://{esp.address[:10]}.example", price=FEE, stake=ESP_STAKE)
    return esp


def lock_fee(
    world: World,
    *,
    sender: LocalAccount | None = None,
    receiver: str | None = None,
    amount: int = FEE,
    duration: int = 3600,
) -> tuple[LockTerms, bytes]:
    """A generation-fee lock (Ether) from ``sender`` (producer) to ``receiver`` (ESP)."""
    sender = sender or world.producer
    preimage, hashlock = new_secret()
    lock = world.htlc(sender).lock_ether(
        receiver or world.esp.address,
        amount=amount,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + duration,
    )
    return lock, preimage


def registration(
    owner: str, esp: str, *, fingerprint: bytes = BASE_FP, content: bytes | None = None
) -> Registration:
    content = content if content is not None else secrets.token_bytes(64)
    return Registration(
        content_hash=hashlib.sha256(content).digest(),
        fingerprint=fingerprint,
        owner=owner,
        esp=esp,
        task_id=secrets.token_bytes(32),
        model_id=hashlib.sha256(b"bundled").digest(),
        seed=7,
    )


def register_image(
    world: World,
    owner: LocalAccount,
    *,
    esp: LocalAccount | None = None,
    fingerprint: bytes = BASE_FP,
    content: bytes | None = None,
) -> int:
    """Commit, mine, reveal with the ESP's attestation; returns the token id."""
    esp = esp or world.esp
    reg = registration(owner.address, esp.address, fingerprint=fingerprint, content=content)
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, client.sign_attestation(esp, reg))
