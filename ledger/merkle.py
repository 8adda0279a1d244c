"""Batch registration's Merkle trees, leaves, commitment and token ids (issue 16).

The one Python definition of what ``contracts/BatchRegistry.sol`` computes and checks; the
service side and the JavaScript SDK mirror it, and ``tests/ledger/test_merkle.py`` pins golden
values so none of them can drift silently.

Trees are OpenZeppelin-style *commutative*: a parent is ``keccak256(min(a, b) || max(a, b))``
(``Hashes.commutativeKeccak256``), so a proof is just the sibling hashes bottom-up and
``MerkleProof.verifyCalldata`` checks it. Leaves are level 0 in index order; each level pairs
(0, 1), (2, 3), ...; an odd last node is carried up unchanged (it adds nothing to a proof); a
one-leaf tree's root is the leaf. Leaves are double-hashed
(``keccak256(keccak256(abi.encode(...)))``) so that no leaf can be read as an inner node.

The items tree (``itemsRoot``) is *ordered* (positional) instead: a parent is
``keccak256(left || right)`` and its verification (:func:`ordered_verify`, ``_checkOpening`` on
chain) walks the leaf's index and the batch's count, so given the root, the count and an index
exactly one leaf verifies. A commutative tree binds no leaf to a position: a producer could commit
many leaves that all declare one index (a leaf in the sibling subtree verifies at the same place)
and, in a dispute, open whichever detail descriptor the detail rule matches. The fingerprint tree
stays commutative: the chain computes ``fpRoot`` itself from the fingerprint list, one leaf per
index by construction.

Every value is 32 bytes (``bytes``); no web3 objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_canonical_address

__all__ = [
    "INDEX_BITS",
    "batch_commitment",
    "fingerprint_leaf",
    "fingerprints_hash",
    "item_leaf",
    "merkle_proof",
    "merkle_proofs",
    "merkle_root",
    "ordered_proof",
    "ordered_proofs",
    "ordered_root",
    "ordered_verify",
    "split_token_id",
    "token_id",
    "verify",
]

# A token id is ``(batch_id << INDEX_BITS) | index``.
INDEX_BITS = 32
_INDEX_MASK = (1 << INDEX_BITS) - 1
# Batch ids stay below 2**64, so token ids stay below 2**96 (the contract's bound).
_MAX_BATCH_ID = (1 << 64) - 1


def is_item_id(token_id: int) -> bool:
    """Whether ``token_id`` names a batch item (a batch id from 1 below 2**64, shifted, with its
    index) rather than a single registration, whose id is its content hash (never that small)."""
    return token_id < (_MAX_BATCH_ID + 1) << INDEX_BITS and token_id >> INDEX_BITS >= 1


def _b32(value: bytes, name: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {value!r}")
    return bytes(value)


def _uint(value: int, name: str, bits: int = 256) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be an unsigned {bits}-bit integer, got {value!r}")
    return value


def _double_hash(encoded: bytes) -> bytes:
    return keccak(keccak(encoded))


def fingerprint_leaf(index: int, fingerprint: bytes) -> bytes:
    """Leaf ``index`` of the fingerprint tree: the double hash of
    ``abi.encode(uint256 index, bytes32 fp)``."""
    return _double_hash(
        abi_encode(
            ["uint256", "bytes32"], [_uint(index, "index"), _b32(fingerprint, "fingerprint")]
        )
    )


def item_leaf(index: int, content_hash: bytes, detail_hash: bytes, seed: int) -> bytes:
    """Leaf ``index`` of the items tree: the double hash of
    ``abi.encode(uint256 index, bytes32 contentHash, bytes32 detailHash, uint256 seed)``."""
    return _double_hash(
        abi_encode(
            ["uint256", "bytes32", "bytes32", "uint256"],
            [
                _uint(index, "index"),
                _b32(content_hash, "content_hash"),
                _b32(detail_hash, "detail_hash"),
                _uint(seed, "seed"),
            ],
        )
    )


Parent = Callable[[bytes, bytes], bytes]


def _parent(a: bytes, b: bytes) -> bytes:
    """The commutative (sorted-pair) parent: the fingerprint tree's."""
    return keccak(a + b) if a <= b else keccak(b + a)


def _ordered_parent(left: bytes, right: bytes) -> bytes:
    """The ordered (positional) parent: the items tree's."""
    return keccak(left + right)


def _next_level(level: list[bytes], parent: Parent) -> list[bytes]:
    up = [parent(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        up.append(level[-1])  # an odd last node is carried up unchanged
    return up


def _leaves(leaves: Sequence[bytes]) -> list[bytes]:
    if not leaves:
        raise ValueError("leaves must not be empty")
    return [_b32(leaf, f"leaves[{i}]") for i, leaf in enumerate(leaves)]


def _root(leaves: Sequence[bytes], parent: Parent) -> bytes:
    level = _leaves(leaves)
    while len(level) > 1:
        level = _next_level(level, parent)
    return level[0]


def _proofs(leaves: Sequence[bytes], parent: Parent) -> list[list[bytes]]:
    """Every leaf's sibling hashes, bottom-up, from one pass over the tree (a tree rebuilt per
    proof took minutes at 2,048 leaves)."""
    level = _leaves(leaves)
    proofs: list[list[bytes]] = [[] for _ in level]
    positions = list(range(len(level)))  # each leaf's node index at the current level
    while len(level) > 1:
        for leaf, position in enumerate(positions):
            sibling = position ^ 1
            if sibling < len(level):  # else: carried up, no step
                proofs[leaf].append(level[sibling])
        level = _next_level(level, parent)
        positions = [position // 2 for position in positions]
    return proofs


def _proof(leaves: Sequence[bytes], index: int, parent: Parent) -> list[bytes]:
    level = _leaves(leaves)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(level):
        raise ValueError(f"index must be in 0..{len(level) - 1}, got {index!r}")
    return _proofs(level, parent)[index]


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root of the commutative tree over ``leaves`` (one leaf: the leaf itself)."""
    return _root(leaves, _parent)


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes, bottom-up, that prove ``leaves[index]`` against :func:`merkle_root`."""
    return _proof(leaves, index, _parent)


def merkle_proofs(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every leaf's :func:`merkle_proof`, from one pass over the tree."""
    return _proofs(leaves, _parent)


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """Whether ``proof`` leads from ``leaf`` to ``root`` (``MerkleProof.verify``)."""
    node = _b32(leaf, "leaf")
    for i, sibling in enumerate(proof):
        node = _parent(node, _b32(sibling, f"proof[{i}]"))
    return node == _b32(root, "root")


def ordered_root(leaves: Sequence[bytes]) -> bytes:
    """The root of the ordered (positional) tree over ``leaves``: the items root."""
    return _root(leaves, _ordered_parent)


def ordered_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes, bottom-up, that prove ``leaves[index]`` against :func:`ordered_root`."""
    return _proof(leaves, index, _ordered_parent)


def ordered_proofs(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every leaf's :func:`ordered_proof`, from one pass over the tree."""
    return _proofs(leaves, _ordered_parent)


def ordered_verify(
    proof: Sequence[bytes], root: bytes, leaf: bytes, index: int, count: int
) -> bool:
    """Whether ``proof`` leads from ``leaf`` at position ``index`` of a ``count``-leaf ordered
    tree to ``root`` (what ``BatchRegistry._checkOpening`` checks): the index picks, level by
    level, the side of each sibling and the levels where the node is carried up without one;
    every proof step must be used. Given the root, the count and the index, one leaf verifies."""
    node = _b32(leaf, "leaf")
    root = _b32(root, "root")
    steps = [_b32(sibling, f"proof[{i}]") for i, sibling in enumerate(proof)]
    if not isinstance(index, int) or not isinstance(count, int) or not 0 <= index < count:
        return False
    k = 0
    size = count
    while size > 1:
        if index % 2 == 0 and index == size - 1:
            pass  # carried up: no sibling
        elif k >= len(steps):
            return False
        elif index % 2 == 0:
            node = _ordered_parent(node, steps[k])
            k += 1
        else:
            node = _ordered_parent(steps[k], node)
            k += 1
        index >>= 1
        size = (size + 1) >> 1
    return k == len(steps) and node == root


def fingerprints_hash(fingerprints: Sequence[bytes]) -> bytes:
    """``keccak256(abi.encodePacked(bytes32[] fingerprints))``: what a commitment binds."""
    return keccak(b"".join(_b32(fp, f"fingerprints[{i}]") for i, fp in enumerate(fingerprints)))


def batch_commitment(
    *, items_root: bytes, fingerprints_hash: bytes, count: int, owner: str | bytes, salt: bytes
) -> bytes:
    """What ``BatchRegistry.commit`` records (``commitmentFor`` on chain): ``keccak256(abi.encode(
    itemsRoot, fingerprintsHash, uint256 count, address owner, bytes32 salt))``."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "uint256", "address", "bytes32"],
            [
                _b32(items_root, "items_root"),
                _b32(fingerprints_hash, "fingerprints_hash"),
                _uint(count, "count"),
                to_canonical_address(owner),
                _b32(salt, "salt"),
            ],
        )
    )


def token_id(batch_id: int, index: int) -> int:
    """The token id of item ``index`` of batch ``batch_id``: ``(batch_id << 32) | index``."""
    if not isinstance(batch_id, int) or not 1 <= batch_id <= _MAX_BATCH_ID:
        raise ValueError(f"batch_id must be in 1..2**64-1, got {batch_id!r}")
    return (batch_id << INDEX_BITS) | _uint(index, "index", INDEX_BITS)


def split_token_id(tid: int) -> tuple[int, int]:
    """``(batch_id, index)`` of a batch token id (inverse of :func:`token_id`)."""
    _uint(tid, "tid")
    batch_id, index = tid >> INDEX_BITS, tid & _INDEX_MASK
    if not 1 <= batch_id <= _MAX_BATCH_ID:
        raise ValueError(f"tid is not a batch token id: {tid!r}")
    return batch_id, index
