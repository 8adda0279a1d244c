"""services.batch.layout: token order, roots and proofs (all proofs from one pass over each tree,
equal to ledger.merkle's one-at-a-time proofs)."""

from __future__ import annotations

import hashlib

import pytest

from ledger import merkle
from services.batch import BatchItem, BatchLayout


def _h(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"{tag}{i}".encode()).digest()


@pytest.mark.parametrize("n", [*range(1, 18), 31, 32, 33, 63, 64, 65, 100])
def test_all_proofs_at_once_equal_each_proof_alone(n):
    leaves = [_h("leaf", i) for i in range(n)]
    root = merkle.merkle_root(leaves)
    proofs = merkle.merkle_proofs(leaves)
    assert proofs == [merkle.merkle_proof(leaves, i) for i in range(n)]
    assert all(merkle.verify(p, root, leaf) for p, leaf in zip(proofs, leaves, strict=True))
    o_root, o_proofs = merkle.ordered_root(leaves), merkle.ordered_proofs(leaves)
    assert o_proofs == [merkle.ordered_proof(leaves, i) for i in range(n)]
    assert all(
        merkle.ordered_verify(p, o_root, leaf, i, n)
        for i, (p, leaf) in enumerate(zip(o_proofs, leaves, strict=True))
    )


def test_a_layout_orders_by_fingerprint_and_proves_every_item():
    items = [BatchItem(_h("c", i), _h("fp", i), _h("d", i), i) for i in range(7)]
    layout = BatchLayout.of(items)
    assert layout.fingerprints == sorted(it.fingerprint for it in items)
    for i, it in enumerate(layout.items):
        leaf = merkle.item_leaf(i, it.content_hash, it.detail_hash, it.seed)
        assert merkle.ordered_verify(layout.item_proof(i), layout.items_root, leaf, i, 7)
        assert layout.item_proof(i) == merkle.ordered_proof(layout.item_leaves, i)
        fp_leaf = merkle.fingerprint_leaf(i, it.fingerprint)
        assert merkle.verify(layout.fingerprint_proof(i), layout.fp_root, fp_leaf)
        assert layout.index_of(it.content_hash) == i
