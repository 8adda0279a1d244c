// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title DetailRule: stage 2 of a contested challenge, the detail-descriptor comparison.
/// @notice The compact 32-byte fingerprint (FingerprintRule) only makes a challenge admissible;
/// a contested challenge is decided by this rule over the two images' detail descriptors, which
/// the Registry receives as calldata and checks against the keccak256 it stored. A token is
/// revoked only when both stages match. `services/provenance/detail.py` implements the same rule
/// off chain and a test requires identical scores on many pairs.
///
/// Layout (LENGTH = 1,116 bytes): 4 header bytes (version 3, 7 luma views, luma side 16, chroma
/// side 6); 7 luma views of 16 x 16 cells at 4 bits a cell (two a byte, the even cell in the high
/// nibble), a cell's value being 2q - 15 for its rank level q in 0..15 (cells ranked after
/// rounding their mean luma down to a multiple of 4) (views: centred with 0%,
/// 6% and 12% trimmed from every side, then 10% trimmed from the left, right, top or bottom
/// alone); then for each centred view 6 x 6 Cb and 6 x 6 Cr as signed bytes (mean chroma - 128).
///
/// Rule (scores are correlations x 10,000, clamped at 0; integer arithmetic only):
/// 1. orientations: the two dihedral transforms of b's full view (of 8) whose luma cosine with
///    a's full view is highest (the lower index on ties);
/// 2. under those two (best first), the (view i of a, view j of b) pair with the highest luma
///    cosine among the centred pairs (i, j < 3) and the full view against a one-side-trimmed
///    view either way ((0, j >= 3), (i >= 3, 0)), the first in (orientation, i, j) order on ties;
/// 3. `luma` = that cosine; `interior` = the mean-centred correlation of the pair's central
///    8 x 8 cells (10,000 if either is flat); `chroma` = the cosine of the pair's
///    chroma (the full views' for a one-side-trimmed pair) when both are colourful, else 10,000;
/// 4. match when luma >= LUMA_MIN, interior >= INTERIOR_MIN and chroma >= CHROMA_MIN.
library DetailRule {
    /// @notice Bytes in a detail descriptor.
    uint256 internal constant LENGTH = 1116;
    /// @notice Smallest luma cosine (x 10,000) of the best view pair that still matches.
    uint256 internal constant LUMA_MIN = 8000;
    /// @notice Smallest centred correlation (x 10,000) of the central luma cells.
    uint256 internal constant INTERIOR_MIN = 6000;
    /// @notice Smallest chroma cosine (x 10,000) when both images are colourful.
    uint256 internal constant CHROMA_MIN = 8000;

    uint256 private constant _VERSION = 3;
    uint256 private constant _VIEWS = 7;
    uint256 private constant _CENTRED = 3;
    uint256 private constant _SIDE = 16;
    uint256 private constant _CHROMA_SIDE = 6;
    uint256 private constant _CHROMA_BYTES = 72;
    uint256 private constant _HEADER = 4;
    uint256 private constant _LUMA_BYTES = 128;
    uint256 private constant _CHROMA_OFFSET = 900; // _HEADER + _VIEWS * _LUMA_BYTES
    uint256 private constant _SCALE = 10_000;
    int256 private constant _COLOURFUL_ENERGY = 2592; // 72 chroma values x RMS 6 squared
    int256 private constant _INTERIOR_FLAT = 4096; // 64 x 64 x variance 1 (centred energy)

    /// @notice The scores the rule thresholds, and where they were found.
    struct Score {
        uint256 luma;
        uint256 interior;
        uint256 chroma;
        uint256 orientation;
        uint256 viewA;
        uint256 viewB;
    }

    /// @notice True when descriptors `a` and `b` show the same image (both must be LENGTH long).
    function matches(bytes memory a, bytes memory b) internal pure returns (bool) {
        if (a.length != LENGTH || b.length != LENGTH) return false;
        Score memory s = score(a, b);
        return s.luma >= LUMA_MIN && s.interior >= INTERIOR_MIN && s.chroma >= CHROMA_MIN;
    }

    /// @notice True for a descriptor a real image produces: LENGTH bytes, the version-3 header
    /// and a full view whose cells are not all equal.
    function isValid(bytes memory d) internal pure returns (bool) {
        if (d.length != LENGTH) return false;
        if (
            uint8(d[0]) != _VERSION || uint8(d[1]) != _VIEWS || uint8(d[2]) != _SIDE
                || uint8(d[3]) != _CHROMA_SIDE
        ) return false;
        bytes1 first = d[_HEADER];
        for (uint256 k = _HEADER + 1; k < _HEADER + _LUMA_BYTES; ++k) {
            if (d[k] != first) return true;
        }
        return (uint8(first) >> 4) != (uint8(first) & 15);
    }

    /// @notice The scores of `a` against `b` (see the header); all zero unless both are LENGTH
    /// bytes long.
    function score(bytes memory a, bytes memory b) internal pure returns (Score memory s) {
        if (a.length != LENGTH || b.length != LENGTH) return s;
        uint256[14] memory energy; // sums of squares of a's views, then b's (any orientation)
        bytes memory la = _unpack(a, energy, 0);
        bytes memory lb = _unpack(b, energy, _VIEWS);
        (uint256 o1, uint256 o2) = _orientations(la, lb, energy[0], energy[_VIEWS]);
        _bestPair(la, lb, energy, o1, s, true);
        _bestPair(la, lb, energy, o2, s, false);
        s.interior = _interior(la, lb, s);
        (uint256 ci, uint256 cj) = s.viewA < _CENTRED && s.viewB < _CENTRED ? (s.viewA, s.viewB) : (0, 0);
        s.chroma = _chroma(a, _CHROMA_OFFSET + ci * _CHROMA_BYTES, b, _CHROMA_OFFSET + cj * _CHROMA_BYTES, s.orientation);
    }

    /// @dev Under orientation `o`, keeps in `s` the compared view pair with the highest luma
    /// cosine if it beats `s.luma` (or unconditionally for the first pair when `fresh`).
    function _bestPair(
        bytes memory la,
        bytes memory lb,
        uint256[14] memory energy,
        uint256 o,
        Score memory s,
        bool fresh
    ) private pure {
        for (uint256 i = 0; i < _VIEWS; ++i) {
            for (uint256 j = 0; j < _VIEWS; ++j) {
                if (!_compared(i, j)) continue;
                uint256 c = _ratio(_dot(la, i, lb, j, o), energy[i], energy[_VIEWS + j]);
                if (fresh || c > s.luma) {
                    (s.luma, s.orientation, s.viewA, s.viewB) = (c, o, i, j);
                    fresh = false;
                }
            }
        }
    }

    /// @dev The two orientations of b's full view with the highest cosine against a's, best
    /// first (the lower index on ties).
    function _orientations(bytes memory la, bytes memory lb, uint256 ea, uint256 eb)
        private
        pure
        returns (uint256 o1, uint256 o2)
    {
        (uint256 s1, uint256 s2) = (0, 0);
        (o1, o2) = (8, 8); // 8 = not yet set
        for (uint256 o = 0; o < 8; ++o) {
            uint256 c = _ratio(_dot(la, 0, lb, 0, o), ea, eb);
            if (o1 == 8 || c > s1) {
                (o2, s2) = (o1, s1);
                (o1, s1) = (o, c);
            } else if (o2 == 8 || c > s2) {
                (o2, s2) = (o, c);
            }
        }
    }

    /// @dev Whether the view pair (i, j) is compared: centred pairs, and the full view against
    /// a one-side-trimmed view in either order.
    function _compared(uint256 i, uint256 j) private pure returns (bool) {
        return (i < _CENTRED && j < _CENTRED) || (i == 0 && j >= _CENTRED) || (j == 0 && i >= _CENTRED);
    }

    /// @dev The 7 luma views of a descriptor, one signed byte (2q - 15) a cell, 256 cells a view;
    /// writes each view's sum of squares to energy[first + view].
    function _unpack(bytes memory d, uint256[14] memory energy, uint256 first)
        private
        pure
        returns (bytes memory cells)
    {
        cells = new bytes(_VIEWS * 256);
        // Reads the 896 packed bytes after the header (inside `d`, whose length was checked) and
        // writes 1,792 bytes inside `cells`; 2q - 15 is in -15..15 and mstore8 keeps its low
        // byte, i.e. its int8 encoding. A view's sum of squares is at most 256 * 225: no overflow.
        assembly ("memory-safe") {
            let src := add(add(d, 32), 4)
            let dst := add(cells, 32)
            let sum := 0
            for { let k := 0 } lt(k, 896) { k := add(k, 1) } {
                let packed := byte(0, mload(add(src, k)))
                let hi := sub(shl(1, shr(4, packed)), 15)
                let lo := sub(shl(1, and(packed, 15)), 15)
                mstore8(add(dst, shl(1, k)), hi)
                mstore8(add(dst, add(shl(1, k), 1)), lo)
                sum := add(sum, add(mul(hi, hi), mul(lo, lo)))
                if eq(and(k, 127), 127) {
                    mstore(add(energy, shl(5, add(first, shr(7, k)))), sum)
                    sum := 0
                }
            }
        }
    }

    /// @dev Sum over the 256 cells of view `i` of unpacked `x` times the cell of view `j` of
    /// unpacked `y` it faces under orientation `o` (see _source).
    function _dot(bytes memory x, uint256 i, bytes memory y, uint256 j, uint256 o) private pure returns (int256) {
        (uint256 start, int256 stepX, int256 stepY) = _steps(_SIDE, o);
        return _walk(_pointer(x, i * 256), _pointer(y, j * 256 + start), stepX, stepY);
    }

    /// @dev The hot loop of the rule (42 walks of 256 cells per comparison), hence assembly: the
    /// same walk in Solidity cost about 1,200 gas per product (5.3M gas per `matches` in the
    /// first version). Reads x's cells in order from `pa` and y's from `row`, stepping `stepX`
    /// per cell and `stepY` per row.
    function _walk(uint256 pa, uint256 row, int256 stepX, int256 stepY) private pure returns (int256 dot) {
        // Values are in -15..15: a product is below 2**8 in magnitude and 256 of them are
        // summed, so the sum cannot overflow; adding a negative step to a pointer wraps exactly
        // as two's complement subtraction and stays inside the 256-byte view.
        assembly ("memory-safe") {
            for { let y := 0 } lt(y, 16) { y := add(y, 1) } {
                let pb := row
                for { let x := 0 } lt(x, 16) { x := add(x, 1) } {
                    dot := add(dot, mul(signextend(0, byte(0, mload(pa))), signextend(0, byte(0, mload(pb)))))
                    pa := add(pa, 1)
                    pb := add(pb, stepX)
                }
                row := add(row, stepY)
            }
        }
    }

    /// @dev Mean-centred correlation of the central 8 x 8 cells of the chosen unpacked views.
    function _interior(bytes memory la, bytes memory lb, Score memory s) private pure returns (uint256) {
        // sums[0..4] = sum a, sum b, sum ab, sum aa, sum bb (a memory array: too many locals
        // for the stack otherwise).
        int256[5] memory sums;
        uint256 offA = s.viewA * 256;
        uint256 offB = s.viewB * 256;
        uint256 o = s.orientation;
        for (uint256 y = 4; y < 12; ++y) {
            for (uint256 x = 4; x < 12; ++x) {
                int256 va = int8(uint8(la[offA + y * _SIDE + x]));
                int256 vb = int8(uint8(lb[offB + _source(_SIDE, o, y, x)]));
                // Values in -15..15 over 64 cells: every sum stays below 2**15 in magnitude.
                unchecked {
                    sums[0] += va;
                    sums[1] += vb;
                    sums[2] += va * vb;
                    sums[3] += va * va;
                    sums[4] += vb * vb;
                }
            }
        }
        int256 cov = 64 * sums[2] - sums[0] * sums[1];
        int256 ea = 64 * sums[3] - sums[0] * sums[0];
        int256 eb = 64 * sums[4] - sums[1] * sums[1];
        if (ea < _INTERIOR_FLAT || eb < _INTERIOR_FLAT) return _SCALE;
        if (cov <= 0) return 0;
        return (uint256(cov) * _SCALE) / Math.sqrt(uint256(ea) * uint256(eb));
    }

    /// @dev Cosine of the chroma blocks (Cb then Cr) at offA in `a` and offB in `b` under `o`, or
    /// _SCALE unless both are colourful.
    function _chroma(bytes memory a, uint256 offA, bytes memory b, uint256 offB, uint256 o)
        private
        pure
        returns (uint256)
    {
        (uint256 start, int256 stepX, int256 stepY) = _steps(_CHROMA_SIDE, o);
        int256 dot;
        int256 ea;
        int256 eb;
        for (uint256 c = 0; c < 2; ++c) {
            uint256 pa = _pointer(a, offA + c * 36);
            uint256 pb = _pointer(b, offB + c * 36 + start);
            (int256 d, int256 x, int256 y) = _walkBytes(pa, pb, stepX, stepY);
            // Each sum is below 2**21 in magnitude: adding two cannot overflow.
            unchecked {
                dot += d;
                ea += x;
                eb += y;
            }
        }
        if (ea < _COLOURFUL_ENERGY || eb < _COLOURFUL_ENERGY) return _SCALE;
        return _ratio(dot, uint256(ea), uint256(eb));
    }

    /// @dev Sums of a*b, a*a and b*b over 6 x 6 signed bytes: a's read in order from `pa`, b's
    /// from `row`, stepping `stepX` per cell and `stepY` per row.
    function _walkBytes(uint256 pa, uint256 row, int256 stepX, int256 stepY)
        private
        pure
        returns (int256 dot, int256 ea, int256 eb)
    {
        // Values are sign-extended bytes (-128..127): a product is at most 2**14 in magnitude and
        // 36 of them are summed, so no sum can overflow; adding a negative step to a pointer
        // wraps exactly as two's complement subtraction and stays inside the 36-byte block.
        assembly ("memory-safe") {
            for { let y := 0 } lt(y, 6) { y := add(y, 1) } {
                let pb := row
                for { let x := 0 } lt(x, 6) { x := add(x, 1) } {
                    let va := signextend(0, byte(0, mload(pa)))
                    let vb := signextend(0, byte(0, mload(pb)))
                    dot := add(dot, mul(va, vb))
                    ea := add(ea, mul(va, va))
                    eb := add(eb, mul(vb, vb))
                    pa := add(pa, 1)
                    pb := add(pb, stepX)
                }
                row := add(row, stepY)
            }
        }
    }

    /// @dev dot / sqrt(ea * eb) x 10,000, or 0 when dot <= 0 or an energy is 0.
    function _ratio(int256 dot, uint256 ea, uint256 eb) private pure returns (uint256) {
        if (dot <= 0) return 0;
        uint256 root = Math.sqrt(ea * eb);
        if (root == 0) return 0;
        return (uint256(dot) * _SCALE) / root;
    }

    /// @dev _source(side, o, y, x) as start + y * stepY + x * stepX, with signed steps.
    function _steps(uint256 side, uint256 o) private pure returns (uint256 start, int256 stepX, int256 stepY) {
        uint256 last = side - 1;
        start = ((o & 2) != 0 ? last * side : 0) + ((o & 1) != 0 ? last : 0);
        int256 alongRows = (o & 2) != 0 ? -int256(side) : int256(side);
        int256 alongCols = (o & 1) != 0 ? -1 : int256(1);
        (stepX, stepY) = (o & 4) != 0 ? (alongRows, alongCols) : (alongCols, alongRows);
    }

    /// @dev Row-major index in b of the cell compared with a's cell (y, x) under orientation `o`:
    /// bit 4 transposes, then bit 1 mirrors x and bit 2 mirrors y.
    function _source(uint256 side, uint256 o, uint256 y, uint256 x) private pure returns (uint256) {
        (uint256 yy, uint256 xx) = (o & 4) != 0 ? (x, y) : (y, x);
        if ((o & 1) != 0) xx = side - 1 - xx;
        if ((o & 2) != 0) yy = side - 1 - yy;
        return yy * side + xx;
    }

    /// @dev Memory address of byte `k` of `d`.
    function _pointer(bytes memory d, uint256 k) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(add(d, 32), k)
        }
    }
}
