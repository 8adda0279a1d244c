"""The defender of a resold token that its holder listed in the swap escrow (018fac0, 407c85e):
the Registry lets whoever put the token there (its seller) contest a challenge of it, not its
first producer. The defender named the producer the accused: the producer's defender contested
and reverted (RegistryNotOwner), the seller's never heard of the challenge, and the squatter
won by default. The BatchCourt still answers with the producer (no view of the seller)."""

from __future__ import annotations

import pytest

from ledger import new_secret
from ledger.clients.registry import DisputeState
from services.provenance.accusations import COURT, REGISTRY, accused_of
from services.provenance.defender import ChainAccusations, Defender
from tests.api.test_defend import squatted
from tests.contracts.helpers import past_reclaim


def test_the_seller_of_an_escrowed_resold_token_defends_it(embedded_world, tmp_path):
    world = embedded_world
    squat, victim = squatted(world)
    past_reclaim(world)  # a fresh token does not move, sold or escrowed (RegistryTokenReclaimable)
    world.registry(world.producer).transfer(world.buyer.address, victim)  # sold once
    seller = world.registry(world.buyer)
    seller.approve(world.deployment.htlc.address, victim)  # the buyer lists it
    world.htlc(world.buyer).lock_erc721(
        seller.address,
        world.accounts[7].address,
        token_id=victim,
        hashlock=new_secret()[1],
        timelock=world.chain.timestamp() + 3600,
    )
    assert seller.owner_of(victim) == world.deployment.htlc.address
    assert accused_of(seller, victim, forum=REGISTRY) == world.buyer.address
    assert accused_of(seller, victim, forum=COURT) == world.buyer.address  # escrowerOf, too
    world.registry(world.attacker).challenge(squat, victim)

    producer = world.registry(world.producer)
    sent = world.chain.w3.eth.get_transaction_count(world.producer.address)
    theirs = Defender(
        producer,
        ChainAccusations(producer, world.producer.address),
        state_path=tmp_path / "producer.json",
    )
    assert not any("contest" in line for line in theirs.step())  # not its challenge now
    assert world.chain.w3.eth.get_transaction_count(world.producer.address) == sent

    mine = Defender(
        seller, ChainAccusations(seller, world.buyer.address), state_path=tmp_path / "seller.json"
    )
    log = mine.step()
    assert any("decided: rejected, the token stays" in line for line in log), log
    assert seller.dispute(squat, victim).state is DisputeState.REJECTED
    assert seller.dispute(squat, victim).contester == world.buyer.address


def test_the_seller_of_an_escrowed_resold_batch_item_is_its_accused(embedded_world):
    """The BatchRegistry's forum (407c85e): the seller who listed a resold item hears of its
    challenge, not the batch's owner who sold it (whose contest reverts BatchNotOwner)."""
    from ledger import errors
    from ledger.clients.batch_registry import BatchRegistryClient
    from services.provenance.accusations import BATCH
    from tests.contracts.test_attacks_batch import _challenge, _contest, _original_and_copy
    from tests.contracts.test_registry import details

    world = embedded_world
    original, pa, item, pb = _original_and_copy(world, copy_detail=details()["near"])
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    BatchRegistryClient(world.deployment, world.tx(world.attacker)).transfer(
        world.buyer.address, item
    )  # sold once
    seller = BatchRegistryClient(world.deployment, world.tx(world.buyer))
    seller._send(seller.contract.functions.approve(world.deployment.htlc.address, item))
    world.htlc(world.buyer).lock_erc721(
        world.deployment.batch_registry.address,
        world.accounts[7].address,
        token_id=item,
        hashlock=new_secret()[1],
        timelock=world.chain.timestamp() + 3600,
    )
    _challenge(world, original, pa, item, pb)
    registry = world.registry(world.buyer)
    assert accused_of(registry, item, batched=True) == world.buyer.address

    def heard(who):
        found, _, _ = ChainAccusations(registry, who.address).poll(0)
        return [(a.original, a.duplicate, a.forum) for a in found]

    assert heard(world.attacker) == []  # the batch's owner sold it
    with pytest.raises(errors.BatchNotOwner):
        _contest(world, original, item, pb)
    assert heard(world.buyer) == [(original, item, BATCH)]
    _contest(world, original, item, pb, who=world.buyer)
    assert seller.dispute(original, item).contester == world.buyer.address
