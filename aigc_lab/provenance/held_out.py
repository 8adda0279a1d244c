"""Edits kept out of the design loop: a check that the fingerprint was not tuned to EDITS.

The fingerprint's parameters were chosen while looking only at :data:`~.edits.EDITS` on the
package photographs and procedural seeds 2024..2173. These twelve edits (other codecs, tone
curves, stickers in the middle, tiled watermarks, borders, stretching, a corner crop) were
written afterwards and are meant to be run on procedural images from other seeds
(``aigc bench provenance --edit-set held-out --no-photos --corpus-seed 10000``).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from aigc_lab.provenance.edits import Edit, _crop, _jpeg

__all__ = ["HELD_OUT_EDITS"]


def _webp(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="WEBP", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def _gamma(image: Image.Image, gamma: float) -> Image.Image:
    table = [round(255 * (i / 255) ** gamma) for i in range(256)] * 3
    return image.convert("RGB").point(table)


def _sticker(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A yellow disc of 16% of the short side in the middle of the image."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    w, h = out.size
    r = 0.08 * min(w, h)
    cx, cy = w / 2 + float(rng.uniform(-0.05, 0.05)) * w, h / 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 220, 0))
    return out


def _tiled_watermark(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    """Semi-transparent "SAMPLE" repeated over the whole image (stock-photo style)."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(10, base.height // 14))
    for y in range(0, base.height, max(1, base.height // 5)):
        for x in range(0, base.width, max(1, base.width // 3)):
            draw.text((x, y), "SAMPLE", font=font, fill=(255, 255, 255, 90))
    return Image.alpha_composite(base, layer).convert("RGB")


def _rotate_crop(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    rotated = image.rotate(4.0, Image.Resampling.BICUBIC)
    return ImageOps.crop(rotated, round(0.05 * min(image.size)))


def _down_up(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    small = image.resize((max(1, image.width // 3), max(1, image.height // 3)))
    return small.resize(image.size, Image.Resampling.BICUBIC)


def _border(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return ImageOps.expand(image, round(0.05 * min(image.size)), "black")


def _stretch(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image.resize((round(image.width * 1.15), image.height))


def _sharpen(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(3, 150))


HELD_OUT_EDITS: tuple[Edit, ...] = (
    Edit("jpeg20", "JPEG quality 20", lambda im, _r: _jpeg(im, 20)),
    Edit("webp40", "WebP quality 40", lambda im, _r: _webp(im, 40)),
    Edit("gamma0.6", "gamma curve 0.6", lambda im, _r: _gamma(im, 0.6)),
    Edit("desaturate", "saturation to zero", lambda im, _r: ImageEnhance.Color(im).enhance(0.0)),
    Edit("sharpen", "unsharp mask 3 px, 150%", _sharpen),
    Edit("rot4+crop5", "rotate 4 degrees, crop 5% a side", _rotate_crop),
    Edit("sticker", "yellow disc, 16% of the short side, centre", _sticker),
    Edit("watermark", "tiled semi-transparent text", _tiled_watermark),
    Edit("border5", "5% black border", _border),
    Edit("stretch15", "width stretched by 15%", _stretch),
    Edit("down3up", "downscale to a third and back", _down_up),
    Edit(
        "corner8", "crop 8% from the top and the left", lambda im, _r: _crop(im, 0.08, 0.08, 0, 0)
    ),
)
