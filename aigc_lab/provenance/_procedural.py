"""Seeded, procedurally drawn images for the evaluation corpus (no files, no downloads).

Three families, chosen so that distinct images still look alike in the ways photographs do
(smooth 1/f structure, a bright top over a darker bottom, a subject in the middle):

* ``field``: coloured 1/f^beta noise, the power spectrum of natural scenes;
* ``shapes``: a gradient background with overlapping ellipses, boxes and polygons;
* ``landscape``: sky gradient, a textured ground below a wavy horizon, a few blobs.

The same seed always gives the same pixels (numpy ``PCG64`` plus PIL drawing, no fonts).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["procedural_image"]


def _field(rng: np.random.Generator, height: int, width: int, beta: float) -> np.ndarray:
    """A zero-mean, unit-variance random field whose spectrum falls as 1/f^beta."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    radius[0, 0] = 1.0
    amplitude = radius ** (-beta / 2.0)
    amplitude[0, 0] = 0.0
    phase = rng.uniform(0.0, 2.0 * np.pi, size=amplitude.shape)
    spectrum = amplitude * (np.cos(phase) + 1j * np.sin(phase))
    field = np.fft.irfft2(spectrum, s=(height, width))
    return np.asarray((field - field.mean()) / (field.std() + 1e-12), dtype=np.float64)


def _colourise(rng: np.random.Generator, fields: list[np.ndarray]) -> np.ndarray:
    mix = rng.normal(0.0, 1.0, size=(len(fields), 3))
    stacked = np.stack(fields, axis=-1) @ mix
    base = rng.uniform(60.0, 190.0, size=3)
    scale = rng.uniform(25.0, 60.0)
    stacked = stacked / (np.abs(stacked).max() + 1e-12)
    return np.asarray(np.clip(base + scale * 2.0 * stacked, 0, 255), dtype=np.float64)


def _draw_field(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    betas = rng.uniform(1.6, 2.8, size=2)
    fields = [_field(rng, height, width, float(b)) for b in betas]
    return Image.fromarray(_colourise(rng, fields).astype(np.uint8))


def _gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    top, bottom = rng.uniform(0, 255, size=(2, 3))
    angle = rng.uniform(0.0, np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    t = (np.cos(angle) * yy / height + np.sin(angle) * xx / width) / 1.5 + 0.2
    t = np.clip(t, 0.0, 1.0)[..., None]
    return np.asarray(top * (1.0 - t) + bottom * t, dtype=np.float64)


def _draw_shapes(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    image = Image.fromarray(_gradient(rng, height, width).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 14))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, x1 = sorted(rng.uniform(-0.1, 1.1, size=2) * width)
        y0, y1 = sorted(rng.uniform(-0.1, 1.1, size=2) * height)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse((x0, y0, x1 + 4, y1 + 4), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1 + 4, y1 + 4), fill=colour)
        else:
            count = int(rng.integers(3, 7))
            xs = rng.uniform(0, width, size=count)
            ys = rng.uniform(0, height, size=count)
            draw.polygon([(float(x), float(y)) for x, y in zip(xs, ys, strict=True)], fill=colour)
    texture = _field(rng, height, width, float(rng.uniform(1.0, 2.0)))
    pixels = np.asarray(image, dtype=np.float64) + rng.uniform(2.0, 12.0) * texture[..., None]
    blurred = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return blurred.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 2.0))))


def _draw_landscape(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    sky_top, sky_bottom = rng.uniform(120, 255, size=(2, 3))
    ground = rng.uniform(20, 140, size=3)
    yy = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = sky_top * (1.0 - yy) + sky_bottom * yy
    horizon = rng.uniform(0.35, 0.7) + 0.08 * _field(rng, 1, width, 2.5)[0] / 3.0
    rows = np.arange(height)[:, None] / height
    below = (rows > horizon[None, :])[..., None]
    texture = _field(rng, height, width, float(rng.uniform(1.2, 2.2)))[..., None]
    earth = ground + rng.uniform(15.0, 40.0) * texture
    pixels = np.where(below, earth, sky + 6.0 * texture)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 5))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.3, 0.9) * height
        rx, ry = rng.uniform(0.03, 0.2) * width, rng.uniform(0.03, 0.2) * height
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 1.5))))


def procedural_image(seed: int) -> Image.Image:
    """A deterministic RGB image between 256 and 640 pixels a side, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(256, 641, size=2))
    family = seed % 3
    if family == 0:
        return _draw_field(rng, height, width)
    if family == 1:
        return _draw_shapes(rng, height, width)
    return _draw_landscape(rng, height, width)
