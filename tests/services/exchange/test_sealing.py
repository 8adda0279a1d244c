"""Sealed delivery: both sides derive the key; the preimage alone or a third party opens nothing."""

from __future__ import annotations

import secrets

import pytest

from ledger.accounts import dev_accounts
from services.exchange import (
    SealError,
    delivery_key,
    key_commitment,
    open_sealed,
    public_key_bytes,
    seal,
)


@pytest.fixture
def parties():
    esp, producer, eve = dev_accounts(3)
    return esp.key, producer.key, eve.key


def test_both_sides_derive_the_same_key_and_open(parties):
    esp, producer, _ = parties
    s, task = secrets.token_bytes(32), secrets.token_bytes(32)
    k_esp = delivery_key(
        own_private=esp, peer_public=public_key_bytes(producer), preimage=s, task_id=task
    )
    k_prod = delivery_key(
        own_private=producer, peer_public=public_key_bytes(esp), preimage=s, task_id=task
    )
    assert k_esp == k_prod
    sealed = seal(b"image bytes", key=k_esp, task_id=task)
    assert open_sealed(sealed, key=k_prod, task_id=task) == b"image bytes"


def test_the_public_preimage_alone_or_a_third_party_opens_nothing(parties):
    esp, producer, eve = parties
    s, task = secrets.token_bytes(32), secrets.token_bytes(32)
    key = delivery_key(
        own_private=esp, peer_public=public_key_bytes(producer), preimage=s, task_id=task
    )
    sealed = seal(b"secret picture", key=key, task_id=task)
    eve_key = delivery_key(
        own_private=eve, peer_public=public_key_bytes(esp), preimage=s, task_id=task
    )
    with pytest.raises(SealError):
        open_sealed(sealed, key=eve_key, task_id=task)
    wrong_s = delivery_key(
        own_private=producer,
        peer_public=public_key_bytes(esp),
        preimage=secrets.token_bytes(32),
        task_id=task,
    )
    with pytest.raises(SealError):
        open_sealed(sealed, key=wrong_s, task_id=task)
    with pytest.raises(SealError):
        open_sealed(sealed[:-1] + bytes([sealed[-1] ^ 1]), key=key, task_id=task)
    with pytest.raises(SealError):
        open_sealed(sealed, key=key, task_id=secrets.token_bytes(32))  # bound to the task


def test_key_commitment_binds_the_key():
    a, b = secrets.token_bytes(32), secrets.token_bytes(32)
    assert key_commitment(a) != key_commitment(b) and len(key_commitment(a)) == 32


def test_bad_inputs_name_the_problem(parties):
    esp, producer, _ = parties
    with pytest.raises(ValueError, match="32 bytes"):
        delivery_key(
            own_private=esp,
            peer_public=public_key_bytes(producer),
            preimage=b"x",
            task_id=b"y" * 32,
        )
    with pytest.raises(ValueError, match="secp256k1"):
        delivery_key(
            own_private=esp,
            peer_public=b"\x04" + b"\x01" * 64,
            preimage=b"x" * 32,
            task_id=b"y" * 32,
        )
