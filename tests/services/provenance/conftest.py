"""Small deterministic images shared by the provenance tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def analytic_image(width: int = 320, height: int = 240) -> Image.Image:
    """A pattern defined by formulas only (no RNG, no files), so its fingerprint is stable."""
    yy, xx = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    red = 128 + 90 * np.sin(7 * xx + 3 * yy * yy) * np.cos(4 * yy)
    green = 128 + 80 * np.cos(5 * xx * yy + 2 * xx)
    blue = 100 + 60 * np.sin(9 * yy - 2 * xx) + 40 * (xx > 0.6)
    pixels = np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="session")
def camera() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.camera())


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def analytic() -> Image.Image:
    return analytic_image()
