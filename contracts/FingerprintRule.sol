// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FingerprintRule: the one near-duplicate rule, on chain.
/// @notice A fingerprint is 32 bytes read as four 64-bit words (word 0 = most significant). The
/// distance of two fingerprints is the smallest Hamming distance over the 16 (word of a, word of
/// b) pairs; two images match when that distance is at most the threshold the Registry was
/// deployed with. `services.provenance` implements the same rule off chain and a test requires
/// both to give identical verdicts.
library FingerprintRule {
    uint256 private constant _M1 = 0x5555555555555555;
    uint256 private constant _M2 = 0x3333333333333333;
    uint256 private constant _M4 = 0x0f0f0f0f0f0f0f0f;
    uint256 private constant _H01 = 0x0101010101010101;
    uint256 private constant _WORD = 0xffffffffffffffff;

    /// @notice Smallest Hamming distance over the 16 word pairs of `a` and `b` (0..64).
    function distance(bytes32 a, bytes32 b) internal pure returns (uint256 best) {
        best = 64;
        uint256 ua = uint256(a);
        uint256 ub = uint256(b);
        for (uint256 i = 0; i < 4; ++i) {
            uint256 wa = (ua >> (64 * i)) & _WORD;
            for (uint256 j = 0; j < 4; ++j) {
                uint256 d = _popcount64(wa ^ ((ub >> (64 * j)) & _WORD));
                if (d < best) best = d;
            }
        }
    }

    /// @notice True when `a` and `b` are near-duplicates: distance(a, b) <= threshold.
    function matches(bytes32 a, bytes32 b, uint256 threshold) internal pure returns (bool) {
        return distance(a, b) <= threshold;
    }

    /// @notice True for fingerprints no real image produces: a word that is all zeros or all ones
    /// (a flat or blank image hashes that way).
    function isDegenerate(bytes32 fp) internal pure returns (bool) {
        uint256 u = uint256(fp);
        for (uint256 i = 0; i < 4; ++i) {
            uint256 w = (u >> (64 * i)) & _WORD;
            if (w == 0 || w == _WORD) return true;
        }
        return false;
    }

    /// @dev SWAR popcount of a 64-bit value. Every intermediate stays below 2**64 * 0x01.., i.e.
    /// far below 2**256, so the arithmetic cannot overflow.
    function _popcount64(uint256 x) private pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & _M1);
            x = (x & _M2) + ((x >> 2) & _M2);
            x = (x + (x >> 4)) & _M4;
            return ((x * _H01) & _WORD) >> 56;
        }
    }
}
