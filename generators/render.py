"""Procedural renderer: draws a :class:`~generators.scene.Scene` as an antialiased RGB image."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from generators.scene import COLOURS, Scene, SceneObject

__all__ = ["pattern_colour", "render", "shape_polygon"]

_SUPERSAMPLE = 4


def pattern_colour(background: str) -> tuple[int, int, int]:
    """The second tone of a striped or dotted background: the base colour, lighter or darker."""
    r, g, b = COLOURS[background]
    target, amount = ((0, 0, 0), 0.3) if (r + g + b) / 3 > 110 else ((255, 255, 255), 0.3)
    return (
        round(r + (target[0] - r) * amount),
        round(g + (target[1] - g) * amount),
        round(b + (target[2] - b) * amount),
    )


def shape_polygon(shape: str, cx: float, cy: float, half: float) -> list[tuple[float, float]]:
    """The outline of a polygonal shape (all but the circle) centred on (cx, cy), in pixels."""
    if shape == "square":
        h = half * 0.9
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "triangle":
        return [(cx, cy - half), (cx + half, cy + half * 0.85), (cx - half, cy + half * 0.85)]
    if shape == "diamond":
        return [(cx, cy - half), (cx + half * 0.8, cy), (cx, cy + half), (cx - half * 0.8, cy)]
    if shape == "star":
        points = []
        for k in range(10):
            radius = half if k % 2 == 0 else half * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append(
                (cx + radius * math.cos(angle), cy + radius * math.sin(angle) + half * 0.1)
            )
        return points
    raise ValueError(f"shape={shape!r} is not a polygonal shape")


def _draw_background(draw: ImageDraw.ImageDraw, scene: Scene, side: int) -> None:
    draw.rectangle((0, 0, side, side), fill=COLOURS[scene.background])
    tone = pattern_colour(scene.background)
    if scene.pattern == "striped":
        period = side / 8
        for k in range(-8, 17):
            x0 = k * period
            draw.polygon(
                [
                    (x0, 0),
                    (x0 + period * 0.35, 0),
                    (x0 + period * 0.35 + side, side),
                    (x0 + side, side),
                ],
                fill=tone,
            )
    elif scene.pattern == "dotted":
        period, radius = side / 8, side / 40
        for i in range(8):
            for j in range(8):
                cx, cy = (i + 0.5) * period, (j + 0.5) * period
                draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=tone)


def _draw_object(draw: ImageDraw.ImageDraw, obj: SceneObject, side: int) -> None:
    cx, cy, half = obj.centre[0] * side, obj.centre[1] * side, obj.half * side
    fill = COLOURS[obj.colour]
    if obj.shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=fill)
    else:
        draw.polygon(shape_polygon(obj.shape, cx, cy, half), fill=fill)


def render(scene: Scene, size: int = 64) -> Image.Image:
    """Draw ``scene`` at ``size`` x ``size`` pixels (supersampled, then box-filtered down)."""
    if size < 8:
        raise ValueError(f"size={size} must be at least 8 pixels")
    side = size * _SUPERSAMPLE
    image = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(image)
    _draw_background(draw, scene, side)
    for obj in reversed(scene.objects):  # main object last, so it is never covered
        _draw_object(draw, obj, side)
    return image.resize((size, size), Image.Resampling.BOX)


def render_array(scene: Scene, size: int = 64) -> np.ndarray:
    """``render`` as a float32 array in [-1, 1], channels first (the model's pixel space)."""
    pixels = np.asarray(render(scene, size), dtype=np.float32)
    return (pixels / 127.5 - 1.0).transpose(2, 0, 1)
