"""ledger.merkle: golden values (the contract, the services and the JS SDK must agree on them),
tree shape (odd nodes carried up), proofs for every leaf, the ordered items tree's one leaf per
index, and refusal of malformed input."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger.merkle import (
    batch_commitment,
    fingerprint_leaf,
    fingerprints_hash,
    is_item_id,
    item_leaf,
    merkle_proof,
    merkle_root,
    ordered_proof,
    ordered_proofs,
    ordered_root,
    ordered_verify,
    split_token_id,
    token_id,
    verify,
)

FP = bytes(range(32))
DETAIL = bytes(range(1, 33))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def test_golden_leaves_and_hashes() -> None:
    # Pinned: a library upgrade must not shift them (BatchRegistry's views return the same; see
    # tests/contracts/test_batch_registry.py).
    assert (
        fingerprint_leaf(0, FP).hex()
        == "506776d4a076a038dcfd1e5b1a45918c08d763d431dd42ac4bafbd0c624c1b43"
    )
    assert (
        item_leaf(3, FP, DETAIL, 42).hex()
        == "88cf78608fda57b4a8c0bf849a88a143174fb8a578b4153a405d80cac461ce7e"
    )
    fps = [bytes([i + 1]) * 32 for i in range(3)]
    assert (
        fingerprints_hash(fps).hex()
        == "0918b65016ec47e1613e6629a797fb3685353e3b8101d0e5250ab52e53f27b88"
    )
    assert fingerprints_hash(fps) == keccak(b"".join(fps))
    commitment = batch_commitment(
        items_root=b"\x01" * 32,
        fingerprints_hash=bytes(32),
        count=3,
        owner="0x" + "ab" * 20,
        salt=b"\x07" * 32,
    )
    assert commitment.hex() == "9e446deec6f27dddda4e640ca59dcc50e9b354aa8fa21925b8237300138447ad"


def test_leaf_is_double_hash_of_abi_encoding() -> None:
    encoded = (0).to_bytes(32, "big") + FP
    assert fingerprint_leaf(0, FP) == keccak(keccak(encoded))
    encoded = (3).to_bytes(32, "big") + FP + DETAIL + (42).to_bytes(32, "big")
    assert item_leaf(3, FP, DETAIL, 42) == keccak(keccak(encoded))


def test_root_shape_carries_odd_node_up() -> None:
    leaves = [fingerprint_leaf(i, bytes([i + 1]) * 32) for i in range(5)]
    # level 1: (0,1), (2,3), 4 carried; level 2: (01, 23), 4 carried; root: (0123, 4)
    expected = _pair(_pair(_pair(leaves[0], leaves[1]), _pair(leaves[2], leaves[3])), leaves[4])
    assert merkle_root(leaves) == expected
    assert (
        merkle_root(leaves).hex()
        == "79b59c980e3f0ed9d7c714a068eeaeecf63a9c72c677c106a249afb41d6fa6a8"
    )
    assert merkle_root(leaves[:1]) == leaves[0]
    assert merkle_proof(leaves, 4) == [
        _pair(_pair(leaves[0], leaves[1]), _pair(leaves[2], leaves[3]))
    ]
    assert merkle_proof(leaves[:1], 0) == []


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 100])
def test_every_leaf_proves_and_no_other(n: int) -> None:
    leaves = [item_leaf(i, bytes([i % 256]) * 32, DETAIL, i) for i in range(n)]
    root = merkle_root(leaves)
    for i in range(n):
        proof = merkle_proof(leaves, i)
        assert len(proof) <= max(1, (n - 1).bit_length())
        assert verify(proof, root, leaves[i])
        assert not verify(proof, root, item_leaf(i, b"\xff" * 32, DETAIL, i))
        if proof:
            tampered = [bytes(32), *proof[1:]]
            assert not verify(tampered, root, leaves[i])


def test_ordered_root_shape_and_golden() -> None:
    leaves = [item_leaf(i, bytes([i + 1]) * 32, DETAIL, i) for i in range(5)]

    def h(a: bytes, b: bytes) -> bytes:
        return keccak(a + b)  # ordered: left then right, never sorted

    expected = h(h(h(leaves[0], leaves[1]), h(leaves[2], leaves[3])), leaves[4])
    assert ordered_root(leaves) == expected
    assert (
        ordered_root(leaves).hex()
        == "2856484cd947361c383faac62c6dc29a82b090d4c5eaba834c7b3e3fcd822759"
    )
    assert ordered_root(leaves[:1]) == leaves[0]
    assert ordered_proof(leaves, 4) == [h(h(leaves[0], leaves[1]), h(leaves[2], leaves[3]))]
    assert ordered_proof(leaves, 1) == [leaves[0], h(leaves[2], leaves[3]), leaves[4]]
    assert ordered_proof(leaves[:1], 0) == []


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 100])
def test_ordered_every_leaf_proves_at_its_index_only(n: int) -> None:
    leaves = [item_leaf(i, bytes([i % 256]) * 32, DETAIL, i) for i in range(n)]
    root = ordered_root(leaves)
    proofs = ordered_proofs(leaves)
    assert proofs == [ordered_proof(leaves, i) for i in range(n)]
    for i in range(n):
        proof = proofs[i]
        assert ordered_verify(proof, root, leaves[i], i, n)
        for j in {0, i - 1, i + 1, n - 1, n} - {i}:
            assert not ordered_verify(proof, root, leaves[i], j, n)  # another position
        assert not ordered_verify([*proof, leaves[0]], root, leaves[i], i, n)  # unused step
        if proof:
            assert not ordered_verify(proof[:-1], root, leaves[i], i, n)  # missing step


def test_ordered_tree_has_one_leaf_per_index() -> None:
    """The attack the ordered tree stops: extra leaves that declare an index already taken.
    In a commutative tree each extra leaf proves (its sibling subtree verifies at the same
    place); in the ordered one, given root, count and index, only the real leaf does."""
    count = 3
    real = [item_leaf(i, bytes([i + 1]) * 32, DETAIL, i) for i in range(count)]
    decoys = [item_leaf(1, b"\x09" * 32, keccak(bytes([k])), 7) for k in range(5)]
    tree = [*real, *decoys]
    c_root = merkle_root(tree)
    assert all(
        verify(merkle_proof(tree, count + k), c_root, d) for k, d in enumerate(decoys)
    )  # the commutative tree proves every decoy
    o_root = ordered_root(tree)
    for position, leaf in enumerate(tree):
        for proof in (ordered_proof(tree, position), merkle_proof(tree, position)):
            assert not ordered_verify(proof, o_root, leaf, 1, count)
    honest = ordered_root(real)
    assert ordered_verify(ordered_proof(real, 1), honest, real[1], 1, count)
    for k, d in enumerate(decoys):
        assert not ordered_verify(ordered_proof([*real, *decoys], count + k), honest, d, 1, count)


def test_token_ids() -> None:
    assert token_id(1, 0) == 1 << 32
    assert token_id(2, 999) == (2 << 32) | 999
    assert split_token_id(token_id(7, 5)) == (7, 5)
    assert token_id(2**64 - 1, 2**32 - 1) < 2**96
    for bad in [(0, 0), (1, -1), (1, 2**32), (2**64, 0)]:
        with pytest.raises(ValueError):
            token_id(*bad)
    with pytest.raises(ValueError, match="not a batch token id"):
        split_token_id(5)  # batch 0 does not exist
    with pytest.raises(ValueError, match="not a batch token id"):
        split_token_id(int.from_bytes(keccak(b"x"), "big"))  # a single Registry id (content hash)


def test_malformed_input_refused() -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        fingerprint_leaf(0, b"short")
    with pytest.raises(ValueError, match="index"):
        fingerprint_leaf(-1, FP)
    with pytest.raises(ValueError, match="empty"):
        merkle_root([])
    with pytest.raises(ValueError, match="index"):
        merkle_proof([FP], 1)
    with pytest.raises(ValueError, match="proof"):
        verify([b"x"], FP, FP)
    with pytest.raises(ValueError, match="empty"):
        ordered_root([])
    with pytest.raises(ValueError, match="index"):
        ordered_proof([FP], 1)
    with pytest.raises(ValueError, match="proof"):
        ordered_verify([b"x"], FP, FP, 0, 1)
    assert not ordered_verify([], FP, FP, 1, 1)  # index >= count
    assert not ordered_verify([], FP, FP, 0, 0)
    with pytest.raises(ValueError, match="seed"):
        item_leaf(0, FP, FP, 2**256)


def test_item_ids_are_told_from_single_token_ids_at_both_bounds():
    """One rule for the API's routes and the CLI (a batch item's claim or a single's): batch ids
    run from 1 below 2**64, so item ids lie in [2**32, 2**96); a content hash is never there."""
    assert is_item_id(token_id(1, 0))
    assert is_item_id(token_id(2**64 - 1, 2**32 - 1))
    assert not is_item_id(2**32 - 1)  # batch id 0: none is ever registered
    assert not is_item_id(2**96)
    assert not is_item_id(int.from_bytes(bytes.fromhex("c6a8faaee2b48d83" * 4), "big"))
