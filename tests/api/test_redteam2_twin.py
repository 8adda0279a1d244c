"""Red team, round 2: selling the second registration of an image before its manifest is out.

One producer holds one image twice under one ESP: a batch item (the batch revealed first, its
manifest kept private) and a single registered afterwards with the delivery's own attestation.
The BatchCourt revokes the single on anyone's request (``revokeDuplicateImage``, proven with the
item's manifest entry), and pays the asker ``challengeReward``. The marketplace refused to sell
that single only once the manifest was published: before, it listed it, a buyer paid, and the
producer could then have the buyer's token revoked (and be paid for asking). The batch item's
fingerprint is public from its reveal, the same bytes give the same fingerprint, so the single
is held back while a same-ESP batch item with its fingerprint has no published manifest.
"""

from __future__ import annotations

import pytest

from services.market_client import MarketClient, MarketError
from tests.api.test_batch_duplicate_image import _bob_registers_a_batched_image_alone
from tests.api.test_batch_trades import _list
from tests.api.test_batches import Scene, _publish_manifest_of, scene  # noqa: F401 -- fixture
from tests.contracts.helpers import past_reclaim


def test_the_single_twin_of_an_unpublished_batch_item_is_neither_listed_nor_bought(
    api,
    scene: Scene,  # noqa: F811
):
    world = api.world
    item, single = _bob_registers_a_batched_image_alone(api, scene)
    with pytest.raises(MarketError) as exc:
        _list(api, world.producer, single, collection=world.deployment.registry.address)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert str(item) in exc.value.message
    assert api.client.get("/v1/listings").json()["items"] == []
    # Published, the manifest proves it: still refused, now as the proven second registration.
    _publish_manifest_of(api, scene)
    with pytest.raises(MarketError) as exc:
        _list(api, world.producer, single, collection=world.deployment.registry.address, nonce=2)
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")


def test_a_listed_single_is_not_bought_once_an_unpublished_twin_appears(api, scene):  # noqa: F811
    """The batch item's twin registered after the listing: the buyer's request is refused."""
    world = api.world
    item, single = _bob_registers_a_batched_image_alone(api, scene)
    buyer = MarketClient(api.client, world.buyer)
    # the listing row as an older API wrote it, before the twin was known
    from marketplace_api.models import Listing
    from marketplace_api.types import token_hex
    from services.exchange import ListingState

    with api.client.app.state.sessions() as session:
        row = Listing(
            token_id=token_hex(single),
            collection="registry",
            seller=world.producer.address,
            price="1000",
            expiry=world.chain.timestamp() + 86400,
            nonce="7",
            signature="0x" + "11" * 65,
            status=ListingState.OPEN,
        )
        session.add(row)
        session.commit()
        listing_id = row.id
    with pytest.raises(MarketError) as exc:
        buyer.post("/v1/trades", json={"listing_id": listing_id})
    assert (exc.value.status, exc.value.code) == (409, "token_not_tradable")
    assert str(item) in exc.value.message


def test_the_batch_item_itself_still_trades(api, scene):  # noqa: F811
    world = api.world
    item, _single = _bob_registers_a_batched_image_alone(api, scene)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    assert _list(api, world.producer, item)["status"] == "open"
