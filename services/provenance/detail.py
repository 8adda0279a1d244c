"""The DETAIL descriptor: stage 2 of a contested challenge (mirrors ``contracts/DetailRule.sol``).

The compact 32-byte fingerprint only makes a challenge admissible; a contested challenge is
decided by this richer descriptor, published in the ``Registered`` event and passed as calldata.
A token is revoked only when both stages match.

Layout (:data:`DETAIL_LENGTH` bytes, every value a signed byte unless stated):

* 4 header bytes: version, number of views (3), luma side (16), chroma side (8);
* for each of the 3 centred nested views (trimming 0%, 7% and 14% from every side): the 16 x 16
  luma thumbnail replaced by its ranks, scaled to -127..127 (tone changes cancel out);
* for each view: 8 x 8 Cb then 8 x 8 Cr, the mean chroma of each cell minus 128.

The rule (integer arithmetic only, so the contract and Python agree exactly; a "score" is a
correlation times 10,000, clamped at 0):

1. orientation: the dihedral transform (of the 8 rotations and mirrorings) of b's full view that
   correlates best with a's full view (first best on ties);
2. views: under that orientation, the (view of a, view of b) pair whose luma correlates best;
3. ``luma``: that pair's correlation; ``interior``: the mean-centred correlation of the central
   8 x 8 luma cells (a match must not be explained by a shared frame); ``chroma``: the cosine of
   the two chroma vectors when both images are colourful, else 10,000 (greyscale copies);
4. match when ``luma >= LUMA_MIN``, ``interior >= INTERIOR_MIN`` and ``chroma >= CHROMA_MIN``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps
from scipy.stats import rankdata

from services.provenance._image import luma_array
from services.provenance.errors import DegenerateImageError, InvalidDetailError
from services.provenance.perceptual import MIN_SIDE

__all__ = [
    "CHROMA_MIN",
    "DETAIL_LENGTH",
    "DETAIL_VERSION",
    "INTERIOR_MIN",
    "LUMA_MIN",
    "DetailScore",
    "detail_descriptor",
    "detail_matches",
    "detail_score",
    "is_valid_detail",
]

DETAIL_VERSION = 1
VIEWS = 3
SIDE = 16
CHROMA_SIDE = 8
_MARGINS = (0.0, 0.07, 0.14)
_HEADER = 4
_LUMA_BYTES = SIDE * SIDE
_CHROMA_BYTES = 2 * CHROMA_SIDE * CHROMA_SIDE
_CHROMA_OFFSET = _HEADER + VIEWS * _LUMA_BYTES
DETAIL_LENGTH: int = _CHROMA_OFFSET + VIEWS * _CHROMA_BYTES
"""Bytes in a detail descriptor (1,156); ``DetailRule.LENGTH`` on chain."""

LUMA_MIN = 8_000
"""Smallest luma correlation (x 10,000) of the best view pair that still matches."""
INTERIOR_MIN = 6_000
"""Smallest mean-centred correlation (x 10,000) of the central 8 x 8 luma cells."""
CHROMA_MIN = 8_000
"""Smallest chroma cosine (x 10,000) when both images are colourful."""
COLOURFUL_ENERGY = CHROMA_SIDE * CHROMA_SIDE * 6 * 6
"""A view is colourful when the sum of its squared chroma values reaches this (RMS 6)."""
INTERIOR_FLAT = 64 * 64 * 4
"""Below this centred energy (n * sum(x^2) - sum(x)^2) the interior counts as flat."""
_WORKING_MAX_SIDE = 256
_SCALE = 10_000


@dataclass(frozen=True, slots=True)
class DetailScore:
    """What the rule thresholds: scores are correlations x 10,000 (``DetailRule.score``)."""

    luma: int
    interior: int
    chroma: int
    orientation: int
    view_a: int
    view_b: int

    @property
    def matches(self) -> bool:
        """True when every score reaches its threshold."""
        return self.luma >= LUMA_MIN and self.interior >= INTERIOR_MIN and self.chroma >= CHROMA_MIN


# ---------------------------------------------------------------------------------------------
# The descriptor


def _planes(image: Image.Image) -> tuple[Image.Image, Image.Image | None, Image.Image | None]:
    """Luma, Cb and Cr planes (chroma None for single-channel images), alpha over white."""
    grey = Image.fromarray(luma_array(image))
    if image.mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return grey, None, None
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        rgb = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    else:
        rgb = image
    _, cb, cr = rgb.convert("RGB").convert("YCbCr").split()
    return grey, cb, cr


def _shrink(plane: Image.Image) -> Image.Image:
    scale = _WORKING_MAX_SIDE / max(plane.size)
    if scale < 1.0:
        size = (max(1, round(plane.width * scale)), max(1, round(plane.height * scale)))
        plane = plane.resize(size, Image.Resampling.BOX)
    return plane


def _cells(plane: Image.Image, margin: float, side: int) -> NDArray[np.float64]:
    w, h = plane.size
    box = (margin * w, margin * h, w - margin * w, h - margin * h)
    view = plane.resize((side, side), Image.Resampling.BOX, box=box)
    return np.asarray(view, dtype=np.float64)


def _rank_bytes(values: NDArray[np.float64]) -> NDArray[np.int8]:
    ranks = rankdata(values.ravel(), method="average")
    n = ranks.size
    scaled = np.rint((ranks - (n + 1) / 2.0) * (254.0 / (n - 1)))
    return np.asarray(np.clip(scaled, -127, 127), dtype=np.int8)


def detail_descriptor(image: Image.Image) -> bytes:
    """The :data:`DETAIL_LENGTH`-byte detail descriptor of a PIL image (deterministic).

    Raises :class:`DegenerateImageError` for images under ``MIN_SIDE`` pixels a side and for
    images whose full view is flat.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"detail_descriptor() needs a PIL.Image.Image, got {type(image).__name__}")
    if image.getexif().get(0x0112, 1) != 1:
        image = ImageOps.exif_transpose(image)
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        reason = f"too small: both sides must be at least {MIN_SIDE} pixels"
        raise DegenerateImageError(reason, width=width, height=height)
    grey, cb, cr = (None if p is None else _shrink(p) for p in _planes(image))
    assert grey is not None
    out = bytearray([DETAIL_VERSION, VIEWS, SIDE, CHROMA_SIDE])
    for margin in _MARGINS:
        cells = _cells(grey, margin, SIDE)
        if float(cells.std()) < 0.5:
            reason = "flat: the luma thumbnail of a view has no structure"
            raise DegenerateImageError(reason, width=width, height=height)
        out += _rank_bytes(cells).tobytes()
    for margin in _MARGINS:
        for plane in (cb, cr):
            if plane is None:
                out += bytes(CHROMA_SIDE * CHROMA_SIDE)
                continue
            chroma = np.clip(np.rint(_cells(plane, margin, CHROMA_SIDE) - 128.0), -127, 127)
            out += chroma.astype(np.int8).tobytes()
    assert len(out) == DETAIL_LENGTH
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# The rule


@cache
def _orientation(side: int, o: int) -> NDArray[np.intp]:
    """Index into b (row-major side x side) compared with a's cell (y, x) under orientation o.

    Bit 4 transposes, bit 1 mirrors x, bit 2 mirrors y (DetailRule._source).
    """
    idx = np.empty(side * side, dtype=np.intp)
    for y in range(side):
        for x in range(side):
            yy, xx = (x, y) if o & 4 else (y, x)
            if o & 1:
                xx = side - 1 - xx
            if o & 2:
                yy = side - 1 - yy
            idx[y * side + x] = yy * side + xx
    return idx


@cache
def _interior() -> NDArray[np.intp]:
    q = SIDE // 4
    return np.array([y * SIDE + x for y in range(q, SIDE - q) for x in range(q, SIDE - q)])


def _check(d: bytes, name: str) -> NDArray[np.int64]:
    if not isinstance(d, bytes | bytearray | memoryview):
        raise InvalidDetailError(d, f"{name} must be bytes, got {type(d).__name__}")
    raw = bytes(d)
    if len(raw) != DETAIL_LENGTH:
        raise InvalidDetailError(raw, f"{name} has {len(raw)} bytes, expected {DETAIL_LENGTH}")
    return np.frombuffer(raw, dtype=np.int8).astype(np.int64)


def _cosine(a: NDArray[np.int64], b: NDArray[np.int64]) -> int:
    dot = int(a @ b)
    root = math.isqrt(int(a @ a) * int(b @ b))
    if dot <= 0 or root == 0:
        return 0
    return dot * _SCALE // root


def _centred(a: NDArray[np.int64], b: NDArray[np.int64]) -> tuple[int, int, int]:
    n, sa, sb = a.size, int(a.sum()), int(b.sum())
    cov = n * int(a @ b) - sa * sb
    return cov, n * int(a @ a) - sa * sa, n * int(b @ b) - sb * sb


def _luma(v: NDArray[np.int64], view: int) -> NDArray[np.int64]:
    return v[_HEADER + view * _LUMA_BYTES : _HEADER + (view + 1) * _LUMA_BYTES]


def _chroma(v: NDArray[np.int64], view: int) -> NDArray[np.int64]:
    start = _CHROMA_OFFSET + view * _CHROMA_BYTES
    return v[start : start + _CHROMA_BYTES]


def detail_score(a: bytes, b: bytes) -> DetailScore:
    """The scores the rule thresholds (``DetailRule.score``); see the module docstring."""
    va, vb = _check(a, "a"), _check(b, "b")
    full_a, full_b = _luma(va, 0), _luma(vb, 0)
    best_o, best = 0, -1
    for o in range(8):
        s = _cosine(full_a, full_b[_orientation(SIDE, o)])
        if s > best:
            best_o, best = o, s
    perm = _orientation(SIDE, best_o)
    luma, view_a, view_b = -1, 0, 0
    for i in range(VIEWS):
        for j in range(VIEWS):
            s = _cosine(_luma(va, i), _luma(vb, j)[perm])
            if s > luma:
                luma, view_a, view_b = s, i, j
    inner = _interior()
    la, lb = _luma(va, view_a)[inner], _luma(vb, view_b)[perm][inner]
    cov, ea, eb = _centred(la, lb)
    if ea < INTERIOR_FLAT and eb < INTERIOR_FLAT:
        interior = _SCALE
    elif ea < INTERIOR_FLAT or eb < INTERIOR_FLAT or cov <= 0:
        interior = 0
    else:
        interior = cov * _SCALE // math.isqrt(ea * eb)
    cperm = _orientation(CHROMA_SIDE, best_o)
    cells = CHROMA_SIDE * CHROMA_SIDE
    ca, cb_ = _chroma(va, view_a), _chroma(vb, view_b)
    cb_ = np.concatenate([cb_[:cells][cperm], cb_[cells:][cperm]])
    if int(ca @ ca) < COLOURFUL_ENERGY or int(cb_ @ cb_) < COLOURFUL_ENERGY:
        chroma = _SCALE
    else:
        chroma = _cosine(ca, cb_)
    return DetailScore(luma, interior, chroma, best_o, view_a, view_b)


def detail_matches(a: bytes, b: bytes) -> bool:
    """True when the detail descriptors ``a`` and ``b`` match (``DetailRule.matches``)."""
    return detail_score(a, b).matches


def is_valid_detail(d: bytes) -> bool:
    """``DetailRule.isValid``: the right length and header, and a full view with structure."""
    if not isinstance(d, bytes | bytearray | memoryview) or len(d) != DETAIL_LENGTH:
        return False
    raw = bytes(d)
    if raw[:_HEADER] != bytes([DETAIL_VERSION, VIEWS, SIDE, CHROMA_SIDE]):
        return False
    full = np.frombuffer(raw, dtype=np.int8)[_HEADER : _HEADER + _LUMA_BYTES].astype(np.int64)
    return int(full @ full) > 0
