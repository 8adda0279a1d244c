"""Adherence checker: reads back, from pixels alone, what the renderer's ground truth says.

For an image it finds the background colour (the commonest palette colour along the border,
counting a pattern's second tone as its base colour), the main object (the largest connected
region of one non-background palette colour) with its colour, and that region's kind of shape
(the nearest of the renderer's own shape silhouettes, compared at 16x16 after cropping to the
bounding box). Run on rendered scenes it is right essentially always (see the tests), so when a
generated image fails it, the generator is to blame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage

from generators.render import pattern_colour, render
from generators.scene import COLOURS, SHAPES, Scene, SceneObject

__all__ = ["Reading", "read_image"]

_NAMES = list(COLOURS)
_PALETTE = np.array([COLOURS[n] for n in _NAMES], dtype=np.float32)
_TONES = np.array([pattern_colour(n) for n in _NAMES], dtype=np.float32)
_GRID = 16


@dataclass(frozen=True)
class Reading:
    """What the checker sees: background colour, main object colour and shape, its area share."""

    background: str
    colour: str | None
    shape: str | None
    area: float

    @property
    def triple(self) -> tuple[str | None, str | None, str]:
        return (self.colour, self.shape, self.background)


def _nearest(pixels: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distances = ((pixels[..., None, :] - palette) ** 2).sum(-1)
    return distances.argmin(-1), distances.min(-1)


def _silhouette(mask: np.ndarray) -> np.ndarray:
    """A boolean region cropped to its bounding box and resampled to a 16x16 float grid."""
    rows, cols = np.nonzero(mask)
    crop = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    small = Image.fromarray(crop.astype(np.uint8) * 255).resize(
        (_GRID, _GRID), Image.Resampling.BOX
    )
    return np.asarray(small, dtype=np.float32) / 255.0


@lru_cache(maxsize=1)
def _templates() -> dict[str, np.ndarray]:
    """Mean silhouette of each shape, from the renderer itself at a few sizes."""
    result = {}
    for shape in SHAPES:
        grids = []
        for half in (0.13, 0.2, 0.27):
            obj = SceneObject("red", shape, "medium", None, (0.5, 0.5), half)
            pixels = np.asarray(render(Scene("white", "plain", (obj,)), 64), dtype=np.float32)
            grids.append(_silhouette(_nearest(pixels, _PALETTE)[0] == _NAMES.index("red")))
        result[shape] = np.mean(grids, axis=0)
    return result


def classify_shape(mask: np.ndarray) -> str:
    """The shape whose silhouette is nearest (L2 at 16x16) to the region ``mask``."""
    grid = _silhouette(mask)
    return min(_templates().items(), key=lambda item: float(((item[1] - grid) ** 2).sum()))[0]


def read_image(image: Image.Image) -> Reading:
    """Background colour, main object colour and shape of a (generated or rendered) image."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    labels, _ = _nearest(pixels, _PALETTE)
    frame = np.concatenate(
        [labels[:2].ravel(), labels[-2:].ravel(), labels[:, :2].ravel(), labels[:, -2:].ravel()]
    )
    background = int(np.bincount(frame, minlength=len(_NAMES)).argmax())
    # A pattern's second tone belongs to the background: label against palette + that tone.
    with_tone = np.concatenate([_PALETTE, _TONES[background : background + 1]])
    labels_t, _ = _nearest(pixels, with_tone)
    foreground = (labels_t != background) & (labels_t != len(_NAMES))
    best: tuple[int, int, np.ndarray] | None = None
    for colour in np.unique(labels[foreground]):
        regions, count = ndimage.label(foreground & (labels == colour))
        if count == 0:
            continue
        sizes = np.bincount(regions.ravel())[1:]
        index = int(sizes.argmax())
        if best is None or sizes[index] > best[0]:
            best = (int(sizes[index]), int(colour), regions == index + 1)
    if best is None or best[0] < 12:
        return Reading(_NAMES[background], None, None, 0.0)
    area, colour, region = best
    region = ndimage.binary_fill_holes(region)
    return Reading(_NAMES[background], _NAMES[colour], classify_shape(region), area / labels.size)
