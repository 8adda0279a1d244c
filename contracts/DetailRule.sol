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
/// Layout (LENGTH bytes, every value a signed byte unless stated): 4 header bytes (version 1,
/// 3 views, luma side 16, chroma side 8); for each of 3 centred nested views the 16 x 16 luma
/// ranks (-127..127, row-major); then for each view 8 x 8 Cb and 8 x 8 Cr (mean chroma - 128).
///
/// Rule (scores are correlations x 10,000, clamped at 0; integer arithmetic only):
/// 1. orientation: the dihedral transform of b's full view (of 8) whose luma cosine with a's
///    full view is highest (the first on ties);
/// 2. under it, the (view of a, view of b) pair with the highest luma cosine (a's view outer);
/// 3. `luma` = that cosine; `interior` = the mean-centred correlation of the central 8 x 8 luma
///    cells (10,000 if both are flat, 0 if one is); `chroma` = the cosine of the two views'
///    chroma vectors when both are colourful, else 10,000;
/// 4. match when luma >= LUMA_MIN, interior >= INTERIOR_MIN and chroma >= CHROMA_MIN.
library DetailRule {
    /// @notice Bytes in a detail descriptor.
    uint256 internal constant LENGTH = 1156;
    /// @notice Smallest luma cosine (x 10,000) of the best view pair that still matches.
    uint256 internal constant LUMA_MIN = 8000;
    /// @notice Smallest centred correlation (x 10,000) of the central luma cells.
    uint256 internal constant INTERIOR_MIN = 6000;
    /// @notice Smallest chroma cosine (x 10,000) when both images are colourful.
    uint256 internal constant CHROMA_MIN = 8000;

    uint256 private constant _VERSION = 1;
    uint256 private constant _VIEWS = 3;
    uint256 private constant _SIDE = 16;
    uint256 private constant _CHROMA_SIDE = 8;
    uint256 private constant _HEADER = 4;
    uint256 private constant _LUMA_BYTES = 256;
    uint256 private constant _CHROMA_BYTES = 128;
    uint256 private constant _CHROMA_OFFSET = 772; // _HEADER + _VIEWS * _LUMA_BYTES
    uint256 private constant _SCALE = 10_000;
    int256 private constant _COLOURFUL_ENERGY = 2304; // 64 cells x RMS chroma 6 squared
    int256 private constant _INTERIOR_FLAT = 16_384; // 64 x 64 x 4 (centred energy)

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

    /// @notice True for a descriptor a real image produces: LENGTH bytes, the version-1 header
    /// and a full view with structure (not all zeros).
    function isValid(bytes memory d) internal pure returns (bool) {
        if (d.length != LENGTH) return false;
        if (
            uint8(d[0]) != _VERSION || uint8(d[1]) != _VIEWS || uint8(d[2]) != _SIDE
                || uint8(d[3]) != _CHROMA_SIDE
        ) return false;
        for (uint256 k = _HEADER; k < _HEADER + _LUMA_BYTES; ++k) {
            if (d[k] != 0) return true;
        }
        return false;
    }

    /// @notice The scores of `a` against `b` (see the header); all zero unless both are LENGTH
    /// bytes long.
    function score(bytes memory a, bytes memory b) internal pure returns (Score memory s) {
        if (a.length != LENGTH || b.length != LENGTH) return s;
        uint256 best;
        for (uint256 o = 0; o < 8; ++o) {
            uint256 c = _lumaCosine(a, 0, b, 0, o);
            if (o == 0 || c > best) {
                best = c;
                s.orientation = o;
            }
        }
        bool first = true;
        for (uint256 i = 0; i < _VIEWS; ++i) {
            for (uint256 j = 0; j < _VIEWS; ++j) {
                uint256 c = _lumaCosine(a, i, b, j, s.orientation);
                if (first || c > s.luma) {
                    s.luma = c;
                    s.viewA = i;
                    s.viewB = j;
                    first = false;
                }
            }
        }
        s.interior = _interior(a, b, s);
        s.chroma = _chroma(a, b, s);
    }

    /// @dev Cosine (x 10,000, clamped at 0) of a's luma view `i` and b's view `j` under `o`.
    function _lumaCosine(bytes memory a, uint256 i, bytes memory b, uint256 j, uint256 o)
        private
        pure
        returns (uint256)
    {
        (int256 dot, int256 ea, int256 eb) =
            _products(a, _HEADER + i * _LUMA_BYTES, b, _HEADER + j * _LUMA_BYTES, _SIDE, o);
        return _ratio(dot, ea, eb);
    }

    /// @dev Sums of a*b, a*a and b*b over a side x side block of signed bytes starting at offA
    /// in `a` and offB in `b`, b's cell (y, x) read from _source(side, o, y, x). Offsets are
    /// inside both arrays (callers check the lengths first).
    function _products(bytes memory a, uint256 offA, bytes memory b, uint256 offB, uint256 side, uint256 o)
        private
        pure
        returns (int256, int256, int256)
    {
        (uint256 start, int256 stepX, int256 stepY) = _steps(side, o);
        return _walk(_pointer(a, offA), _pointer(b, offB + start), side, stepX, stepY);
    }

    /// @dev _source(side, o, y, x) as start + y * stepY + x * stepX, with signed steps.
    function _steps(uint256 side, uint256 o) private pure returns (uint256 start, int256 stepX, int256 stepY) {
        uint256 last = side - 1;
        start = ((o & 2) != 0 ? last * side : 0) + ((o & 1) != 0 ? last : 0);
        int256 alongRows = (o & 2) != 0 ? -int256(side) : int256(side);
        int256 alongCols = (o & 1) != 0 ? -1 : int256(1);
        (stepX, stepY) = (o & 4) != 0 ? (alongRows, alongCols) : (alongCols, alongRows);
    }

    /// @dev Memory address of byte `k` of `d`.
    function _pointer(bytes memory d, uint256 k) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(add(d, 32), k)
        }
    }

    /// @dev The hot loop of the rule (about 4,500 products per comparison), hence assembly: the
    /// same walk in Solidity cost about 1,200 gas per product (5.3M gas per `matches`). Reads a's
    /// bytes from memory pointer `pa` in row-major order and b's from `row`, stepping `stepX`
    /// per cell and `stepY` per row.
    function _walk(uint256 pa, uint256 row, uint256 side, int256 stepX, int256 stepY)
        private
        pure
        returns (int256 dot, int256 ea, int256 eb)
    {
        // Values are sign-extended bytes (-128..127): a product is at most 2**14 in magnitude and
        // at most 256 of them are summed, so no sum can overflow; adding a negative step to a
        // pointer wraps exactly as two's complement subtraction.
        assembly ("memory-safe") {
            for { let y := 0 } lt(y, side) { y := add(y, 1) } {
                let pb := row
                for { let x := 0 } lt(x, side) { x := add(x, 1) } {
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

    /// @dev Mean-centred correlation of the central 8 x 8 luma cells of the chosen views.
    function _interior(bytes memory a, bytes memory b, Score memory s) private pure returns (uint256) {
        // sums[0..4] = sum a, sum b, sum ab, sum aa, sum bb (a memory array: too many locals
        // for the stack otherwise).
        int256[5] memory sums;
        uint256 offA = _HEADER + s.viewA * _LUMA_BYTES;
        uint256 offB = _HEADER + s.viewB * _LUMA_BYTES;
        uint256 o = s.orientation;
        for (uint256 y = 4; y < 12; ++y) {
            for (uint256 x = 4; x < 12; ++x) {
                int256 va = _at(a, offA + y * _SIDE + x);
                int256 vb = _at(b, offB + _source(_SIDE, o, y, x));
                // Values in -128..127 over 64 cells: every sum stays below 2**21 in magnitude.
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
        if (ea < _INTERIOR_FLAT && eb < _INTERIOR_FLAT) return _SCALE;
        if (ea < _INTERIOR_FLAT || eb < _INTERIOR_FLAT || cov <= 0) return 0;
        return (uint256(cov) * _SCALE) / Math.sqrt(uint256(ea) * uint256(eb));
    }

    /// @dev Cosine of the chosen views' chroma (Cb then Cr), or _SCALE unless both are colourful.
    function _chroma(bytes memory a, bytes memory b, Score memory s) private pure returns (uint256) {
        uint256 offA = _CHROMA_OFFSET + s.viewA * _CHROMA_BYTES;
        uint256 offB = _CHROMA_OFFSET + s.viewB * _CHROMA_BYTES;
        (int256 dot, int256 ea, int256 eb) = _products(a, offA, b, offB, _CHROMA_SIDE, s.orientation);
        (int256 dot2, int256 ea2, int256 eb2) =
            _products(a, offA + 64, b, offB + 64, _CHROMA_SIDE, s.orientation);
        // Each of the six sums is below 2**21 in magnitude: the additions cannot overflow.
        unchecked {
            dot += dot2;
            ea += ea2;
            eb += eb2;
        }
        if (ea < _COLOURFUL_ENERGY || eb < _COLOURFUL_ENERGY) return _SCALE;
        return _ratio(dot, ea, eb);
    }

    /// @dev dot / sqrt(ea * eb) x 10,000, or 0 when dot <= 0 or an energy is 0.
    function _ratio(int256 dot, int256 ea, int256 eb) private pure returns (uint256) {
        if (dot <= 0) return 0;
        uint256 root = Math.sqrt(uint256(ea) * uint256(eb));
        if (root == 0) return 0;
        return (uint256(dot) * _SCALE) / root;
    }

    /// @dev Row-major index in b of the cell compared with a's cell (y, x) under orientation `o`:
    /// bit 4 transposes, then bit 1 mirrors x and bit 2 mirrors y.
    function _source(uint256 side, uint256 o, uint256 y, uint256 x) private pure returns (uint256) {
        (uint256 yy, uint256 xx) = (o & 4) != 0 ? (x, y) : (y, x);
        if ((o & 1) != 0) xx = side - 1 - xx;
        if ((o & 2) != 0) yy = side - 1 - yy;
        return yy * side + xx;
    }

    /// @dev The signed byte at `k`.
    function _at(bytes memory d, uint256 k) private pure returns (int256) {
        return int256(int8(uint8(d[k])));
    }
}
