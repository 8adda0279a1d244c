"""From pixels to a :class:`Fingerprint`: four 64-bit DCT-sign words from four nested views.

Why this design (figures in docs/provenance.md):

* **Four nested views.** Word k hashes the centred region left after trimming ``_MARGINS[k]`` of
  the width and height from every side (0%, 5%, 10%, 15%). The rule compares every word of one
  fingerprint with every word of the other, so a copy cropped by about 10% per side lands next to
  the original's 10%-margin view, and a scaled or shifted one next to some neighbour.
* **Dihedral canonicalisation.** Flipping a view top-bottom negates exactly the DCT coefficients
  of odd vertical frequency, mirroring it left-right those of odd horizontal frequency, and a
  transposition swaps the two frequency axes (a 90-degree turn is a transposition and a flip).
  Each view is put in the orientation where its lowest significant coefficient of odd horizontal
  (even vertical) frequency is positive, likewise for the transposed keys, and where its
  horizontal frequencies carry more energy than its vertical ones, so an image and any of its 8
  rotations and mirrorings hash (almost) identically without spending words on orientation.
* **Rank transform.** Each 32x32 view is replaced by the ranks of its pixels, so any monotonic
  tone change (brightness, contrast, gamma, greyscale conversion of a colour image) cancels out
  and large flat areas or overlaid text weigh by area, not by intensity.
* **Corner window.** A raised-cosine window fades the four corners, where logos and watermarks
  sit and where small rotations leave black triangles.
* **Bits.** The signs of the 64 lowest-frequency DCT coefficients (DC and the two first-order
  orientation coefficients excluded), most significant bit first.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps
from scipy.fft import dctn
from scipy.stats import rankdata

from services.provenance._image import luma_array
from services.provenance.errors import DegenerateImageError
from services.provenance.rule import Fingerprint

__all__ = ["MIN_SIDE", "fingerprint", "view_box", "view_coefficients"]

MIN_SIDE = 32
"""Images with a side shorter than this many pixels are refused as too small."""

_VIEW_SIDE = 32
_WORKING_MAX_SIDE = 384
Trims = tuple[float, float, float, float]
"""A view: the share of the width or height trimmed from the left, top, right and bottom."""

_VIEWS: tuple[Trims, Trims, Trims, Trims] = (
    (0.0, 0.0, 0.0, 0.0),
    (0.05, 0.05, 0.05, 0.05),
    (0.10, 0.10, 0.10, 0.10),
    (0.15, 0.15, 0.15, 0.15),
)
_CORNER_FADE = 0.2
_FLAT_STD = 1.5
_BLANK_TOLERANCE = 4
_BLANK_FRACTION = 0.97
# Coefficients (u, v) of odd horizontal and even vertical frequency, tried in turn to fix a
# view's left-right orientation; their transposes (v, u) fix its top-bottom orientation.
_ORIENTATION_KEYS = ((1, 0), (1, 2), (3, 0), (3, 2), (1, 4), (5, 0))
_TRANSPOSE_BAND = 8


@cache
def _selection() -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(v, u) indices of the 64 coefficients whose signs become bits, lowest frequency first."""
    fixed = ((0, 0), (1, 0), (0, 1))
    pairs = [(u, v) for u in range(20) for v in range(20) if (u, v) not in fixed]
    pairs.sort(key=lambda p: (p[0] ** 2 + p[1] ** 2, p[1]))
    chosen = pairs[:64]
    return np.array([v for _, v in chosen]), np.array([u for u, _ in chosen])


@cache
def _corner_window() -> NDArray[np.float64]:
    """1 except near the corners, 0 at them: weight = raised cosine of the larger edge distance."""
    t = (np.arange(_VIEW_SIDE) + 0.5) / _VIEW_SIDE
    edge = np.minimum(t, 1.0 - t)
    larger = np.maximum(edge[:, None], edge[None, :])
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * np.clip(larger / _CORNER_FADE, 0.0, 1.0)))


def _working_image(image: Image.Image) -> Image.Image:
    """Greyscale ("L") version, at most ``_WORKING_MAX_SIDE`` pixels on its longer side."""
    grey = Image.fromarray(luma_array(image))
    scale = _WORKING_MAX_SIDE / max(grey.size)
    if scale < 1.0:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return grey


def _check_content(grey: Image.Image, *, width: int, height: int) -> None:
    pixels = np.asarray(grey, dtype=np.float64)
    std = float(pixels.std())
    if std < _FLAT_STD:
        reason = f"flat: luma standard deviation {std:.2f} is below {_FLAT_STD}"
        raise DegenerateImageError(reason, width=width, height=height)
    near = np.abs(pixels - np.median(pixels)) <= _BLANK_TOLERANCE
    share = float(near.mean())
    if share >= _BLANK_FRACTION:
        reason = f"nearly blank: {share:.1%} of pixels are within {_BLANK_TOLERANCE} levels of one"
        raise DegenerateImageError(reason + " value", width=width, height=height)


def view_box(size: tuple[int, int], view: float | Trims) -> tuple[float, float, float, float]:
    """The pixel box (left, top, right, bottom) of ``view``: a margin trimmed from every side,
    or the (left, top, right, bottom) shares trimmed."""
    w, h = size
    left, top, right, bottom = (view,) * 4 if isinstance(view, int | float) else view
    return (left * w, top * h, w - right * w, h - bottom * h)


def view_coefficients(grey: Image.Image, view: float | Trims) -> NDArray[np.float64]:
    """Orientation-canonical 32x32 DCT (indexed [v, u]) of a view (see :func:`view_box`)."""
    box = view_box(grey.size, view)
    small = grey.resize((_VIEW_SIDE, _VIEW_SIDE), Image.Resampling.LANCZOS, box=box)
    ranks = rankdata(np.asarray(small, dtype=np.float64), method="average").reshape(
        _VIEW_SIDE, _VIEW_SIDE
    )
    coeffs = np.asarray(dctn((ranks - ranks.mean()) * _corner_window(), norm="ortho"))
    scale = float(np.abs(coeffs).max())
    odd = np.where(np.arange(_VIEW_SIDE) % 2 == 1, -1.0, 1.0)
    for u, v in _ORIENTATION_KEYS:  # top-bottom: negate the odd vertical frequencies
        value = float(coeffs[u, v])
        if abs(value) > 1e-9 * scale:
            if value < 0.0:
                coeffs = coeffs * odd[:, None]
            break
    for u, v in _ORIENTATION_KEYS:  # left-right: negate the odd horizontal frequencies
        value = float(coeffs[v, u])
        if abs(value) > 1e-9 * scale:
            if value < 0.0:
                coeffs = coeffs * odd[None, :]
            break
    # Transposition (a 90-degree turn is a transposition and a flip): the orientation whose
    # horizontal frequencies carry more energy than its vertical ones. The sign keys above are
    # transposes of each other, so a transposed view stays sign-canonical.
    low = coeffs[:_TRANSPOSE_BAND, :_TRANSPOSE_BAND] ** 2
    if float(np.tril(low, -1).sum()) > float(np.triu(low, 1).sum()):
        coeffs = coeffs.T
    return coeffs


def _word(coeffs: NDArray[np.float64]) -> int:
    rows, cols = _selection()
    word = 0
    for bit in coeffs[rows, cols] > 0.0:
        word = (word << 1) | int(bit)
    return word


def fingerprint(image: Image.Image) -> Fingerprint:
    """The perceptual fingerprint of a PIL image (any mode; EXIF orientation is applied).

    Raises :class:`DegenerateImageError` for images smaller than :data:`MIN_SIDE` pixels on a
    side, flat or nearly blank images, and images whose fingerprint would be degenerate.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"fingerprint() needs a PIL.Image.Image, got {type(image).__name__}")
    if image.getexif().get(0x0112, 1) != 1:
        image = ImageOps.exif_transpose(image)
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        reason = f"too small: both sides must be at least {MIN_SIDE} pixels"
        raise DegenerateImageError(reason, width=width, height=height)
    grey = _working_image(image)
    _check_content(grey, width=width, height=height)
    words = [_word(view_coefficients(grey, view)) for view in _VIEWS]
    result = Fingerprint((words[0], words[1], words[2], words[3]))
    if result.is_degenerate():
        reason = "a view of the image is flat, so its fingerprint would be degenerate"
        raise DegenerateImageError(reason, width=width, height=height)
    return result
