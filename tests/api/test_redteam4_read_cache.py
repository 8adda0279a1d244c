"""Red team 4: the product read cache is bounded in bytes, not only in entries.

Product reads are cached as whole responses keyed by their URL, query string included, until the
indexer next ingests events (on a quiet chain: for good). Anyone may ask for many distinct URLs:
each page of 200 products (``offset`` 0 to 10**9), or any page with a junk parameter. The cache
held up to 10,000 entries whatever their size: here one page of 200 products is ~125 kB, so an
anonymous client's 10,000 distinct URLs made a replica hold ~1.2 GB (the test below: 40 URLs
held 40 pages, 4.98 MB, before the fix). Now a replica's cache holds at most 64 MiB
(``marketplace_api.indexing.READ_CACHE_MAX_BYTES``); beyond, responses are rendered and served
but not kept.
"""

from __future__ import annotations

from marketplace_api.indexing import READ_CACHE_MAX_BYTES
from marketplace_api.models import Product

PRODUCTS = 200


def _products(api) -> None:
    world = api.world
    with api.client.app.state.sessions() as session:
        for i in range(PRODUCTS):
            session.add(
                Product(
                    token_id=f"0x{i + 1:064x}",
                    fingerprint="0x" + "ab" * 32,
                    producer=world.producer.address,
                    owner=world.producer.address,
                    esp=world.esp.address,
                    task_id="0x" + "cd" * 32,
                    model_id="0x" + "ef" * 32,
                    seed=str(i),
                    registered_block=i,
                    detail="0x" + "12" * 100,
                )
            )
        session.commit()


def test_distinct_urls_cannot_grow_the_cache_past_its_bytes(api):
    _products(api)
    cache = api.client.app.state.market.read_cache
    assert cache.max_bytes == READ_CACHE_MAX_BYTES == 64 * 1024 * 1024
    page = len(api.client.get("/v1/products", params={"limit": 200}).content)
    assert page > 100_000  # one page of 200 products: 10,000 such URLs are > 1 GB
    cache.max_bytes = 1_000_000  # scaled down: 40 pages would be ~5 MB
    cache.clear()
    for i in range(40):
        r = api.client.get("/v1/products", params={"limit": 200, "junk": i})
        assert r.status_code == 200 and len(r.json()["items"]) == 200
    held = sum(len(body) for body in cache._entries.values())
    assert held <= 1_000_000, held  # failed before: 4,980,240 bytes held
    assert cache.held_bytes == held
    # what it keeps is served from it; what it could not keep is still served, rendered
    r = api.client.get("/v1/products", params={"limit": 200, "junk": 0})
    assert r.status_code == 200 and len(r.json()["items"]) == 200
    cache.clear()
    assert cache.held_bytes == 0 and not cache._entries
