"""Adversarial evasion: how small a perturbation pushes a copy out of the match rule.

The attack is white-box and cheap, the kind a motivated plagiarist can run: take the signs of
the 64 DCT coefficients the full view hashes, build the low-frequency pattern that pushes every
one of them towards the opposite sign (an inverse DCT), scale it up to the image, add it to all
three channels, and find by bisection the smallest amplitude at which the copy no longer matches
the original. The same search along a random sign pattern on the same 64 coefficients shows what
an untargeted change of the same kind costs. Amplitudes are in grey levels (0..255) of the
pattern's peak; PSNR is over all pixels. No defence is claimed: the point is to document it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy.fft import dctn, idctn
from scipy.stats import rankdata

from services.provenance.errors import DegenerateImageError
from services.provenance.perceptual import (
    _VIEWS,
    Trims,
    _selection,
    _working_image,
    fingerprint,
    view_box,
)
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

__all__ = ["EvasionResult", "minimal_evasion"]

_LIMIT = 128.0


@dataclass(frozen=True)
class EvasionResult:
    """Smallest peak amplitude (grey levels) found to break the match, and the image's PSNR."""

    amplitude: float
    psnr_db: float
    evaded: bool


def _pattern(image: Image.Image, signs: NDArray[np.float64]) -> NDArray[np.float64]:
    """A full-size, peak-1 pattern whose 32x32 DCT has ``signs`` on the hashed coefficients."""
    coeffs = np.zeros((32, 32))
    rows, cols = _selection()
    coeffs[rows, cols] = signs
    small = np.asarray(idctn(coeffs, norm="ortho"), dtype=np.float32)
    big = Image.fromarray(small, mode="F").resize(image.size, Image.Resampling.BICUBIC)
    pattern = np.asarray(big, dtype=np.float64)
    return pattern / max(float(np.abs(pattern).max()), 1e-12)


def _apply(pixels: NDArray[np.float64], pattern: NDArray[np.float64], amp: float) -> Image.Image:
    out = np.clip(np.round(pixels + amp * pattern[..., None]), 0, 255)
    return Image.fromarray(out.astype(np.uint8))


def _breaks(image: Image.Image, original: Fingerprint, threshold: int) -> bool:
    try:
        return fingerprint(image).distance(original) > threshold
    except DegenerateImageError:
        return False  # a degenerate copy cannot be registered, so it evades nothing


def _view_pattern(
    grey: NDArray[np.float64], trims: Trims, away: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Working-size pattern that moves this view's hashed coefficients along ``away``."""
    h, w = grey.shape
    box = view_box((w, h), trims)
    view = Image.fromarray(grey.astype(np.float32), mode="F").resize(
        (32, 32), Image.Resampling.BILINEAR, box=box
    )
    ranks = rankdata(np.asarray(view, dtype=np.float64), method="average").reshape(32, 32)
    rows, cols = _selection()
    current = np.asarray(dctn(ranks - ranks.mean(), norm="ortho"))[rows, cols]
    still = np.sign(current) != away  # bits not flipped yet; the closest to zero flip first
    weights = np.where(still, 1.0 / (np.abs(current) + 0.05 * np.abs(current).mean() + 1e-9), 0.0)
    coeffs = np.zeros((32, 32))
    coeffs[rows, cols] = away * weights / max(float(weights.max()), 1e-12)
    small = np.asarray(idctn(coeffs, norm="ortho"), dtype=np.float32)
    x0, y0 = round(box[0]), round(box[1])
    size = (max(1, round(box[2]) - x0), max(1, round(box[3]) - y0))
    placed = np.zeros_like(grey)
    patch = Image.fromarray(small, mode="F").resize(size, Image.Resampling.BICUBIC)
    placed[y0 : y0 + size[1], x0 : x0 + size[0]] = np.asarray(patch, dtype=np.float64)
    return placed


def minimal_evasion(
    image: Image.Image,
    *,
    targeted: bool = True,
    rng: np.random.Generator | None = None,
    threshold: int = MATCH_THRESHOLD,
    steps: int = 7,
    iterations: int = 60,
) -> EvasionResult:
    """Smallest perturbation found (peak grey levels, PSNR) that makes a copy stop matching.

    Targeted: iterative, each step pushes every view's not-yet-flipped bits (the most fragile
    first) away from the original's signs by one grey level at the peak. Random: a fixed random
    sign pattern on the same coefficients, scaled by bisection (the untargeted reference).
    """
    rgb = image.convert("RGB")
    original = fingerprint(rgb)
    pixels = np.asarray(rgb, dtype=np.float64)
    if targeted:
        return _iterative(rgb, pixels, original, threshold, iterations)
    rows, _ = _selection()
    signs = (rng or np.random.default_rng(0)).choice([-1.0, 1.0], size=rows.size)
    pattern = _pattern(rgb, signs)
    low, high = 0.0, 2.0
    while high <= _LIMIT and not _breaks(_apply(pixels, pattern, high), original, threshold):
        low, high = high, high * 2
    if high > _LIMIT:
        return EvasionResult(amplitude=_LIMIT, psnr_db=_psnr(pixels, pattern, _LIMIT), evaded=False)
    for _ in range(steps):
        mid = (low + high) / 2
        if _breaks(_apply(pixels, pattern, mid), original, threshold):
            high = mid
        else:
            low = mid
    return EvasionResult(amplitude=high, psnr_db=_psnr(pixels, pattern, high), evaded=True)


def _iterative(
    rgb: Image.Image,
    pixels: NDArray[np.float64],
    original: Fingerprint,
    threshold: int,
    iterations: int,
) -> EvasionResult:
    base = np.asarray(_working_image(rgb), dtype=np.float64)
    aways = []
    for trims in _VIEWS:
        view = Image.fromarray(base.astype(np.float32), mode="F")
        h, w = base.shape
        box = view_box((w, h), trims)
        small = np.asarray(
            view.resize((32, 32), Image.Resampling.BILINEAR, box=box), dtype=np.float64
        )
        ranks = rankdata(small, method="average").reshape(32, 32)
        rows, cols = _selection()
        aways.append(-np.sign(np.asarray(dctn(ranks - ranks.mean(), norm="ortho"))[rows, cols]))
    perturbation = np.zeros_like(base)
    for _ in range(iterations):
        total = sum(
            _view_pattern(base + perturbation, v, a) for v, a in zip(_VIEWS, aways, strict=True)
        )
        perturbation += np.asarray(total) / max(float(np.abs(total).max()), 1e-12)
        full = Image.fromarray(perturbation.astype(np.float32), mode="F").resize(
            rgb.size, Image.Resampling.BICUBIC
        )
        delta = np.asarray(full, dtype=np.float64)
        if _breaks(_apply(pixels, delta, 1.0), original, threshold):
            return EvasionResult(
                amplitude=float(np.abs(delta).max()), psnr_db=_psnr(pixels, delta, 1.0), evaded=True
            )
    return EvasionResult(
        amplitude=float(np.abs(perturbation).max()), psnr_db=_psnr(pixels, delta, 1.0), evaded=False
    )


def _psnr(pixels: NDArray[np.float64], pattern: NDArray[np.float64], amp: float) -> float:
    changed = np.asarray(_apply(pixels, pattern, amp), dtype=np.float64)
    mse = float(np.mean((changed - pixels) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
