"""Registry metadata for wallets and marketplaces (issue 14, item 5): ``tokenURI`` = base URI +
decimal id, ERC-7572 ``contractURI``, ERC-4906 events, and the owner who alone may move them.

Every test runs on the backend of ``world``.
"""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from ledger import TokenStatus, errors
from ledger.deploy import DeployParams, collection_uri, token_base_uri
from tests.conftest import World
from tests.contracts.attack_kit import register_image as register_for
from tests.contracts.helpers import (
    BASE_FP,
    NEAR_FP,
    details,
    paid_lock,
    register_esp,
    register_image,
    registration,
)

ALL_TOKENS = 2**256 - 1


def _events(world: World, name: str, receipt) -> list[dict]:
    event = getattr(world.deployment.registry.events, name)()
    return [dict(e["args"]) for e in event.process_receipt(receipt, errors=DISCARD)]


def test_deployment_points_tokens_and_collection_at_the_api(world):
    registry = world.deployment.registry
    register_esp(world)
    token = register_image(world, world.producer)
    assert registry.functions.owner().call() == world.deployer.address
    assert registry.functions.baseURI().call() == world.params.base_uri
    assert registry.functions.tokenURI(token).call() == f"{world.params.base_uri}{token}"
    assert registry.functions.contractURI().call() == world.params.contract_uri
    # Defaults: the API's routes under AIGC_PUBLIC_URL (here unset: `aigc serve`'s address).
    served = DeployParams().served_at("https://aigc.example/")
    assert (
        served.base_uri
        == token_base_uri("https://aigc.example")
        == ("https://aigc.example/v1/tokens/")
    )
    assert (
        served.contract_uri
        == collection_uri("https://aigc.example")
        == ("https://aigc.example/v1/contract")
    )


def test_owner_moves_the_base_uri_and_marketplaces_are_told(world):
    registry = world.deployment.registry
    register_esp(world)
    token = register_image(world, world.producer)
    tx = world.tx(world.deployer)
    receipt = tx.send(registry.functions.setBaseURI("https://mirror.example/t/"))
    assert _events(world, "BatchMetadataUpdate", receipt) == [
        {"_fromTokenId": 0, "_toTokenId": ALL_TOKENS}
    ]
    assert registry.functions.tokenURI(token).call() == f"https://mirror.example/t/{token}"
    receipt = tx.send(registry.functions.setContractURI("https://mirror.example/c.json"))
    assert len(_events(world, "ContractURIUpdated", receipt)) == 1
    assert registry.functions.contractURI().call() == "https://mirror.example/c.json"


@pytest.mark.parametrize("setter", ["setBaseURI", "setContractURI"])
def test_nobody_but_the_owner_moves_the_metadata(world, setter):
    """Attack: a token holder (or anyone) points every token's metadata at a page of its own."""
    registry = world.deployment.registry
    register_esp(world)
    register_image(world, world.producer)
    before = (registry.functions.baseURI().call(), registry.functions.contractURI().call())
    for who in (world.attacker, world.producer, world.esp):
        with pytest.raises(errors.OwnableUnauthorizedAccount) as exc:
            world.tx(who).send(getattr(registry.functions, setter)("https://evil.example/"))
        assert exc.value.account.lower() == who.address.lower()
    assert (registry.functions.baseURI().call(), registry.functions.contractURI().call()) == before


def test_ownership_moves_with_the_metadata_right(world):
    registry = world.deployment.registry
    world.tx(world.deployer).send(registry.functions.transferOwnership(world.buyer.address))
    with pytest.raises(errors.OwnableUnauthorizedAccount):
        world.tx(world.deployer).send(registry.functions.setBaseURI("https://old.example/"))
    world.tx(world.buyer).send(registry.functions.setBaseURI("https://new.example/"))
    assert registry.functions.baseURI().call() == "https://new.example/"


def test_revocation_emits_metadata_update(world):
    """ERC-4906: each change of a token's status tells marketplaces to refresh it."""
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    client = world.registry(world.producer)
    client.challenge(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert client.finalize(original, copy) is True
    assert client.record(copy).status is TokenStatus.REVOKED
    assert _events(world, "MetadataUpdate", client.last_receipt) == [{"_tokenId": copy}]


def test_reclaim_emits_metadata_update(world):
    """A reclaimed token gets another producer, ESP and priority: its metadata changed."""
    register_esp(world)
    producer_lock = paid_lock(world, world.producer, world.esp)
    content = b"the image the producer paid for"
    taken = register_for(
        world, world.attacker, world.attacker.address, content=content, esp=world.esp
    )
    reg = registration(
        world.producer.address, world.esp.address, lock=producer_lock, content=content
    )
    client = world.registry(world.producer)
    client.commit(reg)
    assert client.reclaim(reg, producer_lock, client.sign_attestation(world.esp, reg)) == taken
    assert _events(world, "MetadataUpdate", client.last_receipt) == [{"_tokenId": taken}]


def test_erc4906_is_announced(world):
    registry = world.deployment.registry
    assert registry.functions.supportsInterface("0x49064906").call()


def test_contested_revocation_emits_metadata_update(world):
    register_esp(world)
    original = register_image(world, world.producer)
    copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
    world.registry(world.producer).challenge(original, copy)
    world.registry(world.attacker).contest(original, copy)
    judge = world.registry(world.buyer)
    assert judge.resolve(original, copy) is True
    assert _events(world, "MetadataUpdate", judge.last_receipt) == [{"_tokenId": copy}]
    # Settling pays out but changes no status: no update.
    world.chain.mine(world.params.reward_hold_blocks)
    judge.settle(original, copy)
    assert _events(world, "MetadataUpdate", judge.last_receipt) == []


def test_reinstatement_emits_metadata_update(world):
    """A's win over B is reversed when A is itself revoked (by the earlier Z): B is active again."""
    register_esp(world)
    z = register_for(world, world.buyer, world.buyer.address, fp=BASE_FP, esp=world.esp)
    a = register_for(
        world, world.attacker, world.attacker.address, fp=NEAR_FP, detail=details()["near"]
    )
    b = register_for(world, world.producer, world.producer.address, fp=NEAR_FP)
    winner = world.registry(world.attacker)
    winner.challenge(a, b)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert winner.finalize(a, b) is True
    judge = world.registry(world.buyer)
    judge.challenge(z, a)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert judge.finalize(z, a) is True
    assert _events(world, "MetadataUpdate", judge.last_receipt) == [{"_tokenId": a}]
    settler = world.registry(world.deployer)
    settler.settle(a, b)
    assert settler.record(b).status is TokenStatus.ACTIVE
    assert _events(world, "MetadataUpdate", settler.last_receipt) == [{"_tokenId": b}]


def test_public_url_sets_the_deployed_metadata_locations(monkeypatch):
    monkeypatch.setenv("AIGC_PUBLIC_URL", "https://aigc.example/")
    p = DeployParams()
    assert p.base_uri == "https://aigc.example/v1/tokens/"
    assert p.contract_uri == "https://aigc.example/v1/contract"
    monkeypatch.delenv("AIGC_PUBLIC_URL")
    assert DeployParams().base_uri == "http://127.0.0.1:8000/v1/tokens/"  # `aigc serve`'s default
