"""Registry (Proof-of-AIGC): commit-reveal, attestation, challenge, bond, ERC-721 and ERC-2981."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from ledger import TokenStatus, errors
from tests.contracts.helpers import (
    BASE_FP,
    FAR_FP,
    NEAR_FP,
    register_esp,
    register_image,
    registration,
)

# The standard interfaces as any wallet or marketplace sees them (not the project's ABI).
STANDARD_ABI = [
    {
        "type": "function",
        "name": "supportsInterface",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "bytes4"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "ownerOf",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}],
        "outputs": [{"name": "", "type": "address"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "o", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "tokenURI",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "type": "function",
        "name": "name",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "type": "function",
        "name": "royaltyInfo",
        "stateMutability": "view",
        "inputs": [{"name": "id", "type": "uint256"}, {"name": "price", "type": "uint256"}],
        "outputs": [{"name": "r", "type": "address"}, {"name": "a", "type": "uint256"}],
    },
]
IERC165, IERC721, IERC721_METADATA, IERC2981 = (
    "0x01ffc9a7",
    "0x80ac58cd",
    "0x5b5e139f",
    "0x2a55205a",
)


def test_commit_then_reveal_mints_the_content_hash_token(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    assert client.contract.functions.commitBlock(reg.commitment).call() > 0
    token = client.reveal(reg, client.sign_attestation(world.esp, reg))
    assert token == reg.token_id == int.from_bytes(reg.content_hash, "big")
    record = client.record(token)
    assert record.fingerprint == BASE_FP and record.producer == world.producer.address
    assert record.esp == world.esp.address and record.status is TokenStatus.ACTIVE
    assert record.bond_held and client.owner_of(token) == world.producer.address
    assert client.contract.functions.commitBlock(reg.commitment).call() == 0  # consumed
    assert world.balance(client.address) == world.params.registration_bond
    event = client.contract.events.Registered().process_receipt(
        client.last_receipt, errors=DISCARD
    )[0]["args"]
    assert event["taskId"] == reg.task_id and event["seed"] == reg.seed


def test_standard_erc721_and_erc2981_queries(world):
    register_esp(world)
    token = register_image(world, world.producer)
    std = world.chain.w3.eth.contract(address=world.deployment.registry.address, abi=STANDARD_ABI)
    for iface in (IERC165, IERC721, IERC721_METADATA, IERC2981):
        assert std.functions.supportsInterface(iface).call(), iface
    assert not std.functions.supportsInterface("0xffffffff").call()
    assert std.functions.ownerOf(token).call() == world.producer.address
    assert std.functions.balanceOf(world.producer.address).call() == 1
    assert std.functions.name().call() == "Proof-of-AIGC"
    assert std.functions.tokenURI(token).call() == f"{world.params.base_uri}{token}"
    receiver, amount = std.functions.royaltyInfo(token, 10**18).call()
    assert receiver == world.producer.address
    assert amount == 10**18 * world.params.royalty_bps // 10_000


def test_royalty_receiver_stays_the_producer_after_resale(world):
    register_esp(world)
    token = register_image(world, world.producer)
    world.registry(world.producer).transfer(world.buyer.address, token)
    world.registry(world.buyer).transfer(world.attacker.address, token)
    receiver, _ = world.registry(world.buyer).royalty_info(token, 1000)
    assert receiver == world.producer.address
    assert world.registry(world.buyer).record(token).producer == world.producer.address


def test_own_metadata_uri_is_kept(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    reg = type(reg)(**{**reg.__dict__, "metadata_uri": "ipfs://meta.json"})
    client = world.registry(world.producer)
    client.commit(reg)
    token = client.reveal(reg, client.sign_attestation(world.esp, reg))
    assert client.contract.functions.tokenURI(token).call() == "ipfs://meta.json"


def test_commit_errors(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    with pytest.raises(errors.RegistryCommitExists):
        client.commit(reg)
    wrong_salt = type(reg)(**{**reg.__dict__, "salt": b"\x01" * 32})
    with pytest.raises(errors.RegistryUnknownCommit):
        client.reveal(wrong_salt, client.sign_attestation(world.esp, wrong_salt))


def test_commit_expires(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    world.chain.mine(world.params.commit_ttl_blocks + 1)
    with pytest.raises(errors.RegistryCommitExpired):
        client.reveal(reg, client.sign_attestation(world.esp, reg))


def test_reveal_needs_the_exact_bond_and_valid_fields(world):
    register_esp(world)
    reg = registration(world.producer.address, world.esp.address)
    client = world.registry(world.producer)
    client.commit(reg)
    sig = client.sign_attestation(world.esp, reg)
    with pytest.raises(errors.RegistryWrongValue) as exc:
        client.reveal(reg, sig, bond=1)
    assert exc.value.required == world.params.registration_bond
    zero_owner = type(reg)(**{**reg.__dict__, "owner": "0x" + "00" * 20})
    with pytest.raises(errors.RegistryInvalidRegistration):
        client.reveal(zero_owner, sig)


def test_upheld_challenge_revokes_pays_and_reports_the_esp(world):
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP)
    client = world.registry(world.producer)
    assert client.fingerprint_distance(BASE_FP, NEAR_FP) == 1
    before = world.balance(world.producer.address)
    assert client.challenge(original, copy) is True
    receipt = client.last_receipt
    spent = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    # deposit back plus the duplicate's bond as reward
    assert world.balance(world.producer.address) == before - spent + world.params.registration_bond
    assert client.record(copy).status is TokenStatus.REVOKED and not client.record(copy).bond_held
    assert world.esps(world.producer).challenges_lost(world.esp.address) == 1
    assert world.balance(client.address) == world.params.registration_bond  # only A's bond left


def test_rejected_challenge_forfeits_the_deposit_to_the_duplicate_owner(world):
    register_esp(world)
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    other = register_image(world, world.buyer, fingerprint=FAR_FP)
    before = world.balance(world.buyer.address)
    assert world.registry(world.producer).challenge(original, other) is False
    assert world.balance(world.buyer.address) == before + world.params.challenge_deposit
    assert world.registry(world.producer).record(other).status is TokenStatus.ACTIVE


def test_challenge_input_errors(world):
    register_esp(world)
    original = register_image(world, world.producer)
    client = world.registry(world.producer)
    with pytest.raises(errors.RegistrySelfChallenge):
        client.challenge(original, original)
    with pytest.raises(errors.RegistryUnknownToken):
        client.challenge(original, 12345)
    with pytest.raises(errors.RegistryWrongValue):
        client.challenge(original, 12345, deposit=0)


def test_bond_release_after_the_lock_period(world):
    register_esp(world)
    token = register_image(world, world.producer)
    client = world.registry(world.buyer)  # anyone may trigger it; the producer is paid
    with pytest.raises(errors.RegistryBondLocked):
        client.release_bond(token)
    world.chain.mine(world.params.bond_lock_blocks)
    before = world.balance(world.producer.address)
    client.release_bond(token)
    assert world.balance(world.producer.address) == before + world.params.registration_bond
    assert world.balance(client.address) == 0
    with pytest.raises(errors.RegistryBondLocked):
        client.release_bond(token)


def test_on_chain_rule_views(world):
    client = world.registry(world.producer)
    assert client.fingerprint_distance(BASE_FP, BASE_FP) == 0
    assert client.fingerprints_match(BASE_FP, NEAR_FP)
    assert not client.fingerprints_match(BASE_FP, FAR_FP)
    view = client.contract.functions.isDegenerateFingerprint
    assert view(b"\x00" * 8 + BASE_FP[8:]).call() and view(b"\xff" * 8 + BASE_FP[8:]).call()
    assert not view(BASE_FP).call()
