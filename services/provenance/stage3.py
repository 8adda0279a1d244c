"""Stage 3 of a contested challenge: the committee's aligned comparison of the two full images.

Stages 1 (the 32-byte fingerprint, ``challenge``) and 2 (the detail descriptor, ``resolve``)
compare *descriptors*; what still collides after them are distinct drawings that share a layout
(a template with another emblem, a pose of one figure, one flag layout in other colours,
silhouettes of small objects on white). Stage 3 is run off chain by a committee of staked ESPs on
the two content-addressed images themselves, and only for pairs both earlier stages uphold (an
AND: it can only lower the false-match rate). It asks the question a copy answers "yes" to:
*once the later image ``b`` is put back onto the earlier image ``a``'s frame, does it reproduce
``a``'s content pixel by pixel, apart from a bounded overlay?*

The comparison, precisely enough to re-implement (docs/provenance.md, "Wave 2: the third stage"):

1. **Planes.** Both images as RGB (alpha over white), converted to Y, Cb, Cr by Pillow's
   ``YCbCr`` conversion. ``b``'s whole canvas is shrunk to a :data:`GRID` x :data:`GRID` grid by
   Pillow's ``BOX`` filter (the aspect ratio is not kept: a crop or a rotation keeps it
   consistent between the two).
2. **Hypotheses.** ``b`` is undone by each of the 8 dihedral transforms (bit 1 mirrors x, bit 2
   mirrors y, bit 4 transposes). ``a`` is first shrunk (``BOX``) to at most
   :data:`WORKING_SIDE` pixels on its longer side, then cut into the regions of
   :data:`HYPOTHESES`, each shrunk (``BOX``, Pillow's ``resize(box=...)``) to the grid: the
   centred crops of 0, 2.5, 5, 8.5 and 12% a side, crops of 5% and 10% from one side, and the
   whole canvas turned by +-1, 2, 3, 4 degrees (Pillow ``rotate``, bilinear, black corners;
   only the cells that a white canvas turned the same way keeps at >= 250, less one cell, are
   compared).
3. **Smoothing.** Every grid (both roles) is filtered by (1, 2, 1) / 4 along each axis (edges
   repeated), so that a thin line or a half-cell misalignment does not decide the verdict.
4. **Pre-selection.** For every (region, orientation) the Pearson correlation of the two luma
   grids; the :data:`CANDIDATES` best (ties to the lower region, then orientation) are scored.
5. **Tone.** The luma tolerance is ``tol = min(LUMA_TOL, max(LUMA_TOL_MIN, LUMA_REL * c))``
   where ``c`` is the spread of ``a``'s content luma in the region (95th - 5th percentile,
   numpy's linear interpolation). ``b``'s luma is modelled as ``clip(alpha * a + beta, 0,
   255)``: for each ``alpha`` in ``_ALPHAS`` (1.0, 0.9, 1.1, ... 0.6, 1.4, 1.5, nearest to 1
   first), ``beta`` is the median of ``b - alpha * a`` over the compared cells of every other
   row and column where ``b < 250``, and the ``alpha`` whose model is within ``tol`` of ``b``
   at most of those cells wins (ties keep the earlier): brightness and contrast edits,
   clipping included; an inverted or flattened image is no copy. (With :data:`TONE_RGB`, an
   option not deployed, ``clip(alpha * c + beta)`` of each R, G, B channel is tried too, beta
   fitted where no channel of ``b`` reaches 250, and the model with more inliers wins.) When
   both images are colourful over ``a``'s content (RMS of Cb - 128 and Cr - 128 >=
   :data:`COLOURFUL_RMS`), chroma is modelled as ``g * (Cb - 128, Cr - 128)`` (``a``'s chroma
   under the tone model) with one least-squares gain over the compared cells, clamped to
   [0.5, 1.8]; otherwise (a greyscale copy, a grey drawing) chroma is not compared.
6. **Agreement.** A compared cell *agrees* when one of the 9 cells of ``b`` around it (edges
   repeated) has luma within ``tol`` of the model and, when chroma is compared, Cb and
   Cr each within :data:`CHROMA_TOL` of the model.
7. **Content.** ``a``'s background is the median colour of its whole-canvas grid's border (before
   smoothing) when at least 70% of the border lies within (12 luma, 8 chroma) levels of it;
   ``a``'s content in a region is then every compared cell further than that from it (before
   smoothing), grown by one cell; without such a background (photographs, textures), or when
   the content is under 2% of the compared cells, every compared cell is content.
8. **Scores** (x 10,000, integers) of the candidate with the highest ``share``, then the lowest
   ``area``: ``share``, the agreeing share of ``a``'s content, and ``area``, the disagreeing
   share of all compared cells (what an overlay may cover).
9. **Fine detail** of that candidate: ``detail``, the correlation (x 10,000, floored at 0) of
   ``a``'s and ``b``'s luma grids less their Gaussian blur (sigma :data:`DETAIL_SIGMA` cells,
   ``scipy.ndimage.gaussian_filter``, edges repeated) over the compared cells that agree (an
   overlay's edges are not ``a``'s), the best of the 9 one-cell shifts of ``b``; 0 when
   ``a``'s mean squared detail there is under
   :data:`DETAIL_FLAT` (a smooth image has nothing that could confirm a copy).
10. **Verdict.** Match when ``share >= SHARE_MIN``, ``area <= AREA_MAX`` and
    ``detail >= DETAIL_MIN``.

Floating point enters through resampling and the fits; an independent implementation agrees
to within a few points of 10,000 on real images, which the thresholds' margins absorb (a
committee votes on the verdict, not the score).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps
from scipy import ndimage

from services.provenance.errors import DegenerateImageError
from services.provenance.perceptual import MIN_SIDE

__all__ = [
    "AREA_MAX",
    "CANDIDATES",
    "CHROMA_TOL",
    "DETAIL_MIN",
    "GRID",
    "HYPOTHESES",
    "LUMA_REL",
    "LUMA_TOL",
    "LUMA_TOL_MIN",
    "RGB_MARGIN",
    "SHARE_MIN",
    "TONE_RGB",
    "Stage3Features",
    "Stage3Score",
    "stage3_features",
    "stage3_matches",
    "stage3_score",
]

GRID = 64
"""Side of the comparison grid (cells)."""
LUMA_TOL = 20.0
"""Largest luma difference (levels) between ``b`` and the tone model of ``a`` that agrees..."""
LUMA_REL = 0.15
"""... but at most this share of ``a``'s contrast (its content's 5th to 95th luma percentile):
a dark or smooth image is not matched by any other dark or smooth image ..."""
LUMA_TOL_MIN = 5.0
"""... and at least this many levels (noise and JPEG in a flat image)."""
CHROMA_TOL = 16.0
"""Largest chroma difference (levels, each of Cb and Cr) that agrees."""
COLOURFUL_RMS = 6.0
"""Chroma is compared when both images' RMS chroma over ``a``'s content reaches this."""
SHARE_MIN = 9_000
"""Smallest share (x 10,000) of ``a``'s content that ``b`` must reproduce.

Measured (docs/provenance.md, "Wave 2: the third stage"): with :data:`AREA_MAX` 1,200, the
31,240 distinct pairs stages 1-2 uphold on the wave-2 corpus fall to 2,718 (3.7e-5 per pair)
while 0.996 of the copies they uphold are kept; 9,400 gives 1,740 but text copies fall to 0.70.
"""
DETAIL_MIN = 0
"""Smallest correlation (x 10,000) of the two images' fine detail (see ``_detail``)."""
DETAIL_SIGMA = 2.0
"""Gaussian blur (cells) taken away from a grid to leave its fine detail."""
DETAIL_FLAT = 1.0
"""Mean squared fine detail (levels^2) under which ``a`` has none to confirm: no match."""
AREA_MAX = 1_200
"""Largest share (x 10,000) of the compared grid where ``b`` may disagree (an overlay)."""
CANDIDATES = 4
"""(orientation, region) hypotheses scored in full after the correlation pre-selection."""

_SCALE = 10_000
_BG_LUMA = 12.0
_BG_CHROMA = 8.0
_BG_BORDER_SHARE = 0.7
_MIN_CONTENT = 0.02
TONE_RGB = False
"""Also try a tone model per R, G, B channel (the best of it and the luma model wins; see
``_tone``). Measured, not deployed (docs/provenance.md, "Recall on the plagiarist's edits"):
brightened copies 0.784 -> 0.804 of the recall sample, but 2,744 false matches against 2,718."""
RGB_MARGIN = 0.0
"""Share of the fitted cells by which the R, G, B model must beat the luma model (measured at
0.02 and 0.05: fewer brightened copies kept, no fewer false matches than the luma model)."""
_RGB_FREE_MIN = 0.1
"""The R, G, B model is fitted only when at least this share of the fitted cells has no channel
of ``b`` clipped (a saturated drawing has too few to fit it on)."""
_ALPHAS = (1.0, 0.9, 1.1, 0.8, 1.2, 0.7, 1.3, 0.6, 1.4, 1.5)
"""Tone gains tried, nearest to 1 first (ties keep the earlier)."""
_GAIN = (0.5, 1.8)
_SAT = (5.0, 250.0)
WORKING_SIDE = 2 * GRID
"""``a`` is shrunk to at most this many pixels on its longer side before its regions are cut."""

Box = tuple[float, float, float, float]


def _hypotheses() -> tuple[tuple[Box, float], ...]:
    """(region of ``a`` as (left, top, right, bottom) fractions, rotation in degrees)."""
    out: list[tuple[Box, float]] = [
        ((m, m, 1.0 - m, 1.0 - m), 0.0) for m in (0.0, 0.025, 0.05, 0.085, 0.12)
    ]
    for t in (0.05, 0.10):
        out += [
            ((t, 0.0, 1.0, 1.0), 0.0),
            ((0.0, 0.0, 1.0 - t, 1.0), 0.0),
            ((0.0, t, 1.0, 1.0), 0.0),
            ((0.0, 0.0, 1.0, 1.0 - t), 0.0),
        ]
    out += [((0.0, 0.0, 1.0, 1.0), float(d)) for d in (-4, -3, -2, -1, 1, 2, 3, 4)]
    return tuple(out)


HYPOTHESES: tuple[tuple[Box, float], ...] = _hypotheses()
"""The regions of ``a`` a copy may show: 13 crops and 8 small rotations of the whole canvas."""
ORIENTATIONS = 8
"""Dihedral transforms undone on ``b``: bit 1 mirrors x, bit 2 mirrors y, bit 4 transposes."""


@dataclass(frozen=True, slots=True)
class Stage3Score:
    """What stage 3 thresholds (shares x 10,000) and the hypothesis that gave it."""

    share: int
    area: int
    colour: bool
    orientation: int
    hypothesis: int
    alpha: int
    detail: int = 0

    @property
    def matches(self) -> bool:
        """True when ``b`` reproduces enough of ``a``'s content, disagrees over little and
        reproduces ``a``'s fine detail."""
        return self.share >= SHARE_MIN and self.area <= AREA_MAX and self.detail >= DETAIL_MIN


@dataclass(frozen=True, slots=True)
class Stage3Features:
    """An image prepared for stage 3 in both roles (computed once, compared many times).

    ``regions``: (hypotheses, 3, GRID, GRID) Y/Cb/Cr of the image sampled in every region (the
    role of ``a``); ``valid``: (hypotheses, GRID, GRID) the compared points; ``content``:
    (hypotheses, GRID, GRID) ``a``'s content; ``turned``: (8, 3, GRID, GRID) the grid under
    each dihedral transform undone, edges repeated one cell around (``padded``; the role of ``b``).
    """

    regions: NDArray[np.float32] | None
    valid: NDArray[np.bool_] | None
    content: NDArray[np.bool_] | None
    padded: NDArray[np.float32]

    @property
    def turned(self) -> NDArray[np.float32]:
        """(8, 3, GRID, GRID): the image's grid under each dihedral transform undone."""
        return self.padded[:, :, 1:-1, 1:-1]


def _rgb(image: Image.Image) -> Image.Image:
    if image.getexif().get(0x0112, 1) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255,) * 4), rgba).convert("RGB")
    return image.convert("RGB")


def _grid(image: Image.Image) -> NDArray[np.float64]:
    """(3, GRID, GRID) Y, Cb, Cr of the whole canvas, BOX-shrunk, integer-valued."""
    small = image.convert("YCbCr").resize((GRID, GRID), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64).transpose(2, 0, 1).copy()


def _smooth(grid: NDArray[np.float64]) -> NDArray[np.float64]:
    """The (1, 2, 1) / 4 binomial filter along both axes of every plane (edges repeated)."""
    out = ndimage.correlate1d(grid, [1.0, 2.0, 1.0], axis=-1, mode="nearest") / 4.0
    out = ndimage.correlate1d(out, [1.0, 2.0, 1.0], axis=-2, mode="nearest") / 4.0
    return np.asarray(out, dtype=np.float64)


def _working(image: Image.Image) -> Image.Image:
    """The RGB image shrunk (BOX) to at most :data:`WORKING_SIDE` pixels on its longer side."""
    scale = WORKING_SIDE / max(image.size)
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return image


@lru_cache(maxsize=1024)
def _inside(size: tuple[int, int], degrees: float) -> NDArray[np.bool_]:
    """Grid cells wholly inside the canvas after a rotation, less one cell around the rest."""
    inside = Image.new("L", size, 255).rotate(degrees, Image.Resampling.BILINEAR)
    cells = np.asarray(inside.resize((GRID, GRID), Image.Resampling.BOX))
    out = np.asarray(ndimage.binary_erosion(cells >= 250, iterations=1, border_value=1), bool)
    out.setflags(write=False)
    return out


def _regions(rgb: Image.Image) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(hypotheses, 3, G, G) Y/Cb/Cr of every region of ``rgb``, and the compared points."""
    work = _working(rgb)
    w, h = work.size
    regions = np.empty((len(HYPOTHESES), 3, GRID, GRID))
    valid = np.ones((len(HYPOTHESES), GRID, GRID), dtype=bool)
    for k, ((left, top, right, bottom), degrees) in enumerate(HYPOTHESES):
        if degrees:
            turned = work.rotate(degrees, Image.Resampling.BILINEAR)
            regions[k] = _grid(turned)
            valid[k] = _inside(work.size, degrees)
        else:
            box = (left * w, top * h, right * w, bottom * h)
            small = work.convert("YCbCr").resize((GRID, GRID), Image.Resampling.BOX, box=box)
            regions[k] = np.asarray(small, dtype=np.float64).transpose(2, 0, 1)
    return regions, valid


def _dihedral(grid: NDArray[np.float64], o: int) -> NDArray[np.float64]:
    """Undo orientation ``o`` (same bit meaning as ``detail._orientation``) on (3, G, G)."""
    out = grid
    if o & 2:
        out = out[:, ::-1, :]
    if o & 1:
        out = out[:, :, ::-1]
    if o & 4:
        out = out.transpose(0, 2, 1)
    return np.ascontiguousarray(out)


def _background(grid: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """The uniform background colour of a grid (Y, Cb, Cr), or None."""
    ring = np.concatenate(
        [grid[:, 0, :], grid[:, -1, :], grid[:, 1:-1, 0], grid[:, 1:-1, -1]], axis=1
    )
    colour = np.median(ring, axis=1)
    near = (np.abs(ring[0] - colour[0]) <= _BG_LUMA) & (
        np.abs(ring[1:] - colour[1:, None]) <= _BG_CHROMA
    ).all(axis=0)
    return colour if float(near.mean()) >= _BG_BORDER_SHARE else None


def stage3_features(image: Image.Image, *, earlier: bool = True) -> Stage3Features:
    """Prepare ``image`` for :func:`stage3_score`; deterministic. ``earlier=False`` prepares it
    for the role of ``b`` only (the later image; about 20 times cheaper).

    Raises :class:`DegenerateImageError` for images under ``MIN_SIDE`` pixels a side.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"stage3_features() needs a PIL.Image.Image, got {type(image).__name__}")
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        reason = f"too small: both sides must be at least {MIN_SIDE} pixels"
        raise DegenerateImageError(reason, width=width, height=height)
    rgb = _rgb(image)
    grid = _grid(rgb)
    smooth = _smooth(grid)
    turned = np.stack([_dihedral(smooth, o) for o in range(ORIENTATIONS)]).astype(np.float32)
    padded = np.pad(turned, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    if not earlier:
        return Stage3Features(None, None, None, padded)
    raw, valid = _regions(rgb)
    regions = _smooth(raw)
    background = _background(grid)
    if background is None:
        content = np.ones_like(valid)
    else:
        away = (np.abs(raw[:, 0] - background[0]) > _BG_LUMA) | (
            np.abs(raw[:, 1:] - background[None, 1:, None, None]) > _BG_CHROMA
        ).any(axis=1)
        grown = ndimage.binary_dilation(away, structure=np.ones((1, 3, 3), dtype=bool))
        content = grown & valid
        few = content.sum(axis=(1, 2)) < _MIN_CONTENT * valid.sum(axis=(1, 2))
        content[few] = valid[few]
    return Stage3Features(regions.astype(np.float32), valid, content, padded)


def _to_rgb(ycc: NDArray[np.floating]) -> NDArray[np.float64]:
    """(3, ...) R, G, B of (3, ...) Y, Cb, Cr (the inverse of Pillow's full-range conversion)."""
    y, cb, cr = ycc[0].astype(np.float64), ycc[1] - 128.0, ycc[2] - 128.0
    return np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb])


def _to_ycc(rgb: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, ...) Y, Cb, Cr of (3, ...) R, G, B (Pillow's full-range ``YCbCr`` matrix)."""
    r, g, b = rgb
    return np.stack([
        0.299 * r + 0.587 * g + 0.114 * b,
        128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    ])  # fmt: skip


def _tone(a: NDArray[np.float32], alpha: float, beta: float, rgb: bool) -> NDArray[np.floating]:
    """(3, ...) Y, Cb, Cr of ``a`` (3, ...) under a tone model: ``clip(alpha * c + beta)`` of
    each R, G, B channel ``c`` when ``rgb`` (Pillow's brightness and contrast edits clip each
    channel: a saturated red stays at 255 in R and gains luma only through G and B), else of
    the luma alone (chroma unchanged)."""
    if rgb:
        return _to_ycc(np.clip(alpha * _to_rgb(a) + beta, 0.0, 255.0))
    out = a.copy()
    out[0] = np.clip(np.float32(alpha) * a[0] + np.float32(beta), 0.0, 255.0)
    return out


def _fit_tone(
    fa: NDArray[np.float32], fb: NDArray[np.float32], tol: float
) -> tuple[float, float, bool]:
    """``alpha``, ``beta`` and the kind (``rgb``) of the tone model (module doc, step 5), fitted
    on the compared points given, (3, n) Y/Cb/Cr (every other cell of each axis)."""
    luma_free = fb[0] < _SAT[1]
    if int(luma_free.sum()) < 8:
        luma_free = np.ones_like(luma_free)
    # Where none of b's channels is clipped, b's luma is exactly alpha * a's + beta.
    rgb_free = (_to_rgb(fb) < _SAT[1]).all(axis=0)
    kinds = [(False, luma_free)]
    if TONE_RGB and int(rgb_free.sum()) >= max(8, _RGB_FREE_MIN * rgb_free.size):
        kinds.append((True, rgb_free))
    best = {False: (-1, 1.0, 0.0), True: (-1, 1.0, 0.0)}
    for alpha in _ALPHAS:
        for rgb, free in kinds:
            beta = float(np.median(fb[0][free] - np.float32(alpha) * fa[0][free]))
            model = _tone(fa, alpha, beta, rgb)[0]
            inliers = int(np.count_nonzero(np.abs(fb[0] - model) <= tol))
            if inliers > best[rgb][0]:
                best[rgb] = (inliers, alpha, beta)
    # The R, G, B model only where it explains clearly more cells than the luma model.
    rgb = best[True][0] > best[False][0] + RGB_MARGIN * fb.shape[1]
    _, alpha, beta = best[rgb]
    return alpha, beta, rgb


def _score_one(
    fa: Stage3Features, fb: Stage3Features, o: int, h: int
) -> tuple[int, int, int, bool, int, NDArray[np.bool_]]:
    """(agreeing content points, share, area, colour compared, alpha x 1000, agreeing compared
    cells) of one hypothesis."""
    assert fa.regions is not None and fa.valid is not None and fa.content is not None
    a = fa.regions[h]
    padded = fb.padded[o]  # (3, G + 2, G + 2)
    b = padded[:, 1:-1, 1:-1]
    valid, content = fa.valid[h], fa.content[h]
    n_content = int(content.sum())
    low, high = np.percentile(a[0][content], (5, 95)) if n_content else (0.0, 0.0)
    tol = min(LUMA_TOL, max(LUMA_TOL_MIN, LUMA_REL * float(high - low)))
    half = valid[::2, ::2]
    alpha, beta, rgb = _fit_tone(a[:, ::2, ::2][:, half], b[:, ::2, ::2][:, half], tol)
    toned = _tone(a, alpha, beta, rgb)
    model = toned[0]
    ca, cb = a[1:] - 128.0, b[1:] - 128.0
    rms_a = math.sqrt(float(np.square(ca[:, content]).sum()) / (2 * max(1, n_content)))
    rms_b = math.sqrt(float(np.square(cb[:, content]).sum()) / (2 * max(1, n_content)))
    colour = rms_a >= COLOURFUL_RMS and rms_b >= COLOURFUL_RMS
    target = None
    if colour:
        ca = toned[1:] - 128.0  # a's chroma under the tone model (unchanged for a luma model)
        xa, xb = ca[:, valid], cb[:, valid]
        energy = float(np.square(xa).sum())
        gain = float((xa * xb).sum()) / energy if energy > 0 else 1.0
        gain = min(max(gain, _GAIN[0]), _GAIN[1])
        target = np.float32(gain) * ca + 128.0
    agree = np.zeros((GRID, GRID), dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            near = padded[:, dy : dy + GRID, dx : dx + GRID]
            ok = np.abs(near[0] - model) <= tol
            if target is not None:
                ok &= np.abs(near[1] - target[0]) <= CHROMA_TOL
                ok &= np.abs(near[2] - target[1]) <= CHROMA_TOL
            agree |= ok
    n_valid = int(valid.sum())
    hits = int(np.count_nonzero(agree & content))
    share = hits * _SCALE // max(1, n_content)
    area = int(np.count_nonzero(~agree & valid)) * _SCALE // max(1, n_valid)
    return hits, share, area, colour, round(alpha * 1000), agree & valid


def _detail(
    fa: Stage3Features, fb: Stage3Features, o: int, h: int, valid: NDArray[np.bool_]
) -> int:
    """Correlation (x 10,000, at least 0) of the two luma grids' fine detail (the grid less its
    Gaussian blur of sigma :data:`DETAIL_SIGMA` cells) over the ``valid`` cells (the agreeing
    ones: an overlay's sharp edges are not ``a``'s), the best of the 9 one-cell shifts of ``b``;
    0 when ``a``'s detail energy there is under :data:`DETAIL_FLAT`."""
    assert fa.regions is not None
    a = fa.regions[h, 0].astype(np.float64)
    b = fb.padded[o, 0].astype(np.float64)
    if not valid.any():
        return 0
    ha = (a - ndimage.gaussian_filter(a, DETAIL_SIGMA, mode="nearest"))[valid]
    hb = b - ndimage.gaussian_filter(b, DETAIL_SIGMA, mode="nearest")
    ea = float(ha @ ha)
    if ea < DETAIL_FLAT * ha.size:
        return 0
    best = 0
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            x = hb[dy : dy + GRID, dx : dx + GRID][valid]
            eb = float(x @ x)
            if eb > 0:
                best = max(best, int(float(ha @ x) * _SCALE // math.sqrt(ea * eb)))
    return best


def stage3_score(a: Image.Image | Stage3Features, b: Image.Image | Stage3Features) -> Stage3Score:
    """Stage 3's scores of the later image ``b`` against the earlier image ``a``.

    Either argument may be a PIL image or its :func:`stage3_features`. See the module doc.
    """
    fa = a if isinstance(a, Stage3Features) else stage3_features(a)
    fb = b if isinstance(b, Stage3Features) else stage3_features(b, earlier=False)
    if fa.regions is None:
        raise ValueError("a's features were prepared with earlier=False")
    ya = fa.regions[:, 0].reshape(len(HYPOTHESES), -1).astype(np.float64)
    yb = fb.turned[:, 0].reshape(ORIENTATIONS, -1).astype(np.float64)
    ya = ya - ya.mean(axis=1, keepdims=True)
    yb = yb - yb.mean(axis=1, keepdims=True)
    na = np.sqrt((ya * ya).sum(axis=1)) + 1e-9
    nb = np.sqrt((yb * yb).sum(axis=1)) + 1e-9
    corr = (ya @ yb.T) / (na[:, None] * nb[None, :])  # (hypotheses, orientations)
    flat = np.round(corr.ravel() * 1e6)
    order = sorted(range(flat.size), key=lambda k: (-flat[k], k))[:CANDIDATES]
    best: tuple[int, int] | None = None
    chosen = Stage3Score(0, _SCALE, False, 0, 0, 1000)
    chosen_agree = np.zeros((GRID, GRID), dtype=bool)
    for k in order:
        h, o = divmod(k, ORIENTATIONS)
        _, share, area, colour, alpha, agree = _score_one(fa, fb, o, h)
        key = (share, -area)
        if best is None or key > best:
            best = key
            chosen, chosen_agree = Stage3Score(share, area, colour, o, h, alpha), agree
    detail = _detail(fa, fb, chosen.orientation, chosen.hypothesis, chosen_agree)
    return replace(chosen, detail=detail)


def stage3_matches(a: Image.Image | Stage3Features, b: Image.Image | Stage3Features) -> bool:
    """True when stage 3 upholds the challenge of ``b`` (later) by ``a`` (earlier)."""
    return stage3_score(a, b).matches
