"""The defender of a resold token that its holder listed in the swap escrow (018fac0, 407c85e):
the Registry lets whoever put the token there (its seller) contest a challenge of it, not its
first producer. The defender named the producer the accused: the producer's defender contested
and reverted (RegistryNotOwner), the seller's never heard of the challenge, and the squatter
won by default. The BatchCourt still answers with the producer (no view of the seller)."""

from __future__ import annotations

from ledger import new_secret
from ledger.clients.registry import DisputeState
from services.provenance.accusations import COURT, REGISTRY, accused_of
from services.provenance.defender import ChainAccusations, Defender
from tests.api.test_defend import squatted


def test_the_seller_of_an_escrowed_resold_token_defends_it(embedded_world, tmp_path):
    world = embedded_world
    squat, victim = squatted(world)
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
    assert accused_of(seller, victim, forum=COURT) == world.producer.address  # the court's view
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
