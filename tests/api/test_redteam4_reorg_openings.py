"""Red team 4: a reorg takes a token's generation opening and refusals with its registration.

On a reorg the catalog deletes the products registered above the common ancestor, and the
indexer re-derives them from the new chain, but a token's generation opening
(``generation_openings``) and the openings refused for it (``generation_refusals``) stayed. A
batch item's token id is ``(batchId << 32) | index``, a position and not an image: after a reorg
another batch's item may hold that id, and its true opening was then refused 409
``opening_exists`` (the old image's opening stood in its place, served to the jurors) or 422
``not_reproduced`` from the memo of the old image's refusals (failed before: both rows survived
the rewind). Now the rewind deletes them with the product.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace_api.models import GenerationOpeningRow, GenerationRefusalRow, Product


def _product(token: str, block: int, world) -> Product:
    return Product(
        token_id=token,
        fingerprint="0x" + "ab" * 32,
        producer=world.producer.address,
        owner=world.producer.address,
        esp=world.esp.address,
        task_id="0x" + "cd" * 32,
        model_id="0x" + "ef" * 32,
        seed="0",
        registered_block=block,
        collection="batch",
    )


def test_a_rewind_drops_the_openings_of_the_products_it_drops(api):
    world = api.world
    kept, dropped = f"0x{(1 << 32) | 0:064x}", f"0x{(2 << 32) | 0:064x}"
    market = api.client.app.state.market
    with api.client.app.state.sessions() as session:
        session.add_all([_product(kept, 5, world), _product(dropped, 20, world)])
        for token in (kept, dropped):
            session.add(GenerationOpeningRow(token_id=token, model_id="m", prompt="p", seed=1))
            session.add(GenerationRefusalRow(token_id=token, opening="aa" * 32, refused_ns=1))
        session.commit()
        market.catalog.rewind(session, 10)
        session.commit()
        openings = set(session.scalars(select(GenerationOpeningRow.token_id)))
        refusals = set(session.scalars(select(GenerationRefusalRow.token_id)))
    assert openings == {kept}  # failed before: the dropped token's opening stayed
    assert refusals == {kept}
