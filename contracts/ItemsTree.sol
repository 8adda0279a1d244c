// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ItemsTree: the walk of a batch's ordered (positional) items tree
/// @notice One home for the rule that the BatchRegistry (`contest`, `resolve`) and the BatchCourt
/// (`resolve`) both apply to a batch item's opening. The index picks each sibling's side and
/// the levels where the node is carried up without one (the last node of an odd level), and
/// every proof step must be used, so given the root, the count and the index exactly one leaf
/// verifies. (A commutative tree would let a producer commit many leaves for one index and open,
/// in a dispute, whichever detail the detail rule matches.)
library ItemsTree {
    /// @dev The root `proof` (siblings bottom-up) leads `leaf`, at `index` of `size` leaves, to;
    /// `ok` is false when the index is out of range or the proof has too few or too many steps.
    function rootOf(bytes32 leaf, uint256 index, uint256 size, bytes32[] calldata proof)
        internal
        pure
        returns (bytes32 node, bool ok)
    {
        if (index >= size) return (node, false);
        node = leaf;
        uint256 k;
        while (size > 1) {
            if (index & 1 == 0 && index == size - 1) {
                // carried up: no sibling at this level
            } else if (k == proof.length) {
                return (node, false);
            } else if (index & 1 == 0) {
                node = keccak256(abi.encodePacked(node, proof[k++]));
            } else {
                node = keccak256(abi.encodePacked(proof[k++], node));
            }
            index >>= 1;
            size = (size + 1) >> 1;
        }
        ok = k == proof.length;
    }
}
