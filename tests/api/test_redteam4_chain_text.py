"""Red team 4: a registration's on-chain text cannot stop the indexer.

A registration's metadata URI is a string its registrant passes to the Registry (the API's
reveal route checks nothing when the registrant calls the contract itself), and the catalog
copied it into the products table. PostgreSQL refuses a NUL in text: indexing the block that
holds ``Registered`` with a URI of ``"ipfs://x\\x00y"`` raised ``psycopg.DataError``, the
indexer's transaction rolled back, and every later poll failed on the same block (failed
before: ``DataError`` out of the poll, no product). One registration's gas stopped the market's
index for everyone. Now a NUL in on-chain text is stored as U+FFFD; the rest of the URI is kept.
"""

from __future__ import annotations

from PIL import Image

from ledger import LockTerms, Registration
from services.content import canonical_hash
from services.provenance import fingerprint
from services.provenance.detail import detail_descriptor
from tests.contracts.helpers import paid_lock, register_esp


def uri_registration(world, metadata_uri: str, colours) -> tuple[Registration, LockTerms]:
    """The producer's paid registration of a striped picture (``colours``: background and
    stripes) whose metadata URI is ``metadata_uri``, with its fee lock (the ESP registered)."""
    register_esp(world)
    img = Image.new("RGB", (64, 64), colours[0])
    for x in range(0, 64, 8):
        img.paste(colours[1], (x, x // 2, x + 6, x // 2 + 9))
    lock = paid_lock(world, world.producer, world.esp)
    reg = Registration(
        content_hash=canonical_hash(img),
        fingerprint=fingerprint(img).to_bytes32(),
        detail=detail_descriptor(img),
        owner=world.producer.address,
        esp=world.esp.address,
        task_id=lock.id,
        model_id=b"\x01" * 32,
        seed=1,
        metadata_uri=metadata_uri,
    )
    return reg, lock


def test_a_nul_in_a_metadata_uri_is_indexed_not_fatal(api):
    world = api.world
    reg, lock = uri_registration(world, "ipfs://x\x00y", ((200, 30, 30), (20, 20, 220)))
    client = world.registry(world.producer)
    client.commit(reg)
    token = client.reveal(reg, lock, client.sign_attestation(world.esp, reg))
    api.index()  # failed before on PostgreSQL: psycopg.DataError (NUL in text)
    r = api.client.get(f"/v1/products/{token}")
    assert r.status_code == 200, r.text
    api.index()  # and the next poll goes on
