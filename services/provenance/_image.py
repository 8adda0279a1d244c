"""Decoding and luma conversion shared by the fingerprint, the CLI and the API."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from services.provenance.errors import NotAnImageError

__all__ = ["MAX_PIXELS", "load_image", "luma_array"]

MAX_PIXELS = 64_000_000
"""Larger images are refused before decoding (decompression-bomb guard)."""

_HIGH_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def luma_array(image: Image.Image) -> NDArray[np.uint8]:
    """8-bit luma (ITU-R 601) of any PIL image; transparency is composited over white."""
    if image.mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        span = high - low if high > low else 1.0
        return np.round(255.0 * (values - low) / span).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def load_image(source: str | Path | bytes, *, name: str | None = None) -> Image.Image:
    """Decode a file path or raw bytes into a fully loaded PIL image.

    Raises :class:`NotAnImageError` naming ``name`` (or the path) when the data is not a
    readable image, is truncated, or has more than :data:`MAX_PIXELS` pixels.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "data")
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise NotAnImageError(label, exc.strerror or str(exc)) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImageError(label, f"{image.width}x{image.height} is too many pixels")
            image.load()
    except NotAnImageError:
        raise
    except UnidentifiedImageError as exc:
        raise NotAnImageError(label, "unknown or unsupported image format") from exc
    except Image.DecompressionBombError as exc:
        raise NotAnImageError(label, str(exc)) from exc
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise NotAnImageError(label, f"cannot decode ({exc})") from exc
    return image
