"""The edits a plagiarist makes before re-registering someone else's image.

Each :class:`Edit` is a named, deterministic function of (image, rng). Sizes are relative to the
image (a blur radius, a crop, a font) so that a 200-pixel tile and a 1400-pixel photograph are
edited alike. :data:`EDITS` is the list the robustness benchmark reports, one recall per entry;
:data:`ISSUE11_EDITS` is the list issue 11 names, which the verdict benchmark reports.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from services.provenance.errors import CorpusError

__all__ = ["EDITS", "ISSUE11_EDITS", "Edit", "edit_by_name", "edit_rng"]

EditFn = Callable[[Image.Image, np.random.Generator], Image.Image]


@dataclass(frozen=True)
class Edit:
    """A named plagiarist edit; ``apply`` is deterministic given the generator it is handed."""

    name: str
    description: str
    apply: EditFn


def edit_rng(seed: int, image_name: str, edit_name: str) -> np.random.Generator:
    """The generator an edit of one image draws from: fixed by (seed, image, edit)."""
    return np.random.default_rng([seed, zlib.crc32(f"{image_name}|{edit_name}".encode())])


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    box = (round(left * w), round(top * h), round(w - right * w), round(h - bottom * h))
    return image.crop(box)


def _random_crop(image: Image.Image, rng: np.random.Generator, most: float) -> Image.Image:
    left, top, right, bottom = (float(v) for v in rng.uniform(0.0, most, size=4))
    return _crop(image, left, top, right, bottom)


def _noise(image: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    noisy = pixels + rng.normal(0.0, sigma, size=pixels.shape)
    return Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8))


def _text(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    size = max(10, round(out.height * 0.09))
    font = ImageFont.load_default(size=size)
    words = ("(c) stolen", "MY ART 2024", "@plagiarist", "all rights mine")
    text = words[int(rng.integers(0, len(words)))]
    x = float(rng.uniform(0.03, 0.3)) * out.width
    y = float(rng.uniform(0.55, 0.85)) * out.height
    width = max(1, size // 12)
    draw.text((x, y), text, font=font, fill=(255, 255, 255), stroke_width=width, stroke_fill=0)
    return out


def _logo(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A filled badge with a ring and a letter, about a fifth of the width, in a random corner."""
    out = image.convert("RGB")
    side = max(8, round(min(out.size) * 0.22))
    badge = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    draw.ellipse((0, 0, side - 1, side - 1), fill=(*colour, 220), outline=(255, 255, 255, 255))
    draw.ellipse((side // 5, side // 5, side - side // 5, side - side // 5), outline="white")
    font = ImageFont.load_default(size=max(6, side // 2))
    draw.text((side // 2, side // 2), "P", font=font, fill="white", anchor="mm")
    margin = round(min(out.size) * 0.03)
    corner = int(rng.integers(0, 4))
    x = margin if corner in (0, 2) else out.width - side - margin
    y = margin if corner in (0, 1) else out.height - side - margin
    out.paste(badge, (x, y), badge)
    return out


def _combo(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Mirror, crop up to 5% a side, brighten 15%, then re-encode at JPEG quality 50."""
    out = _random_crop(ImageOps.mirror(image), rng, 0.05)
    return _jpeg(ImageEnhance.Brightness(out).enhance(1.15), 50)


def _one_side_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    sides = [0.0, 0.0, 0.0, 0.0]
    sides[int(rng.integers(0, 4))] = 0.1
    return _crop(image, *sides)


def _rotate(image: Image.Image, degrees: float) -> Image.Image:
    return image.rotate(degrees, Image.Resampling.BICUBIC)


def _blur_radius(image: Image.Image) -> float:
    return max(1.0, 0.006 * min(image.size))


EDITS: tuple[Edit, ...] = (
    Edit("jpeg30", "re-encode as JPEG quality 30", lambda im, _r: _jpeg(im, 30)),
    Edit(
        "downscale4",
        "downscale to a quarter of each side",
        lambda im, _r: im.resize(
            (max(1, im.width // 4), max(1, im.height // 4)), Image.Resampling.LANCZOS
        ),
    ),
    Edit("crop10", "crop 10% from every side", lambda im, _r: _crop(im, 0.1, 0.1, 0.1, 0.1)),
    Edit("crop_rand", "crop a random 0-10% from each side", lambda im, r: _random_crop(im, r, 0.1)),
    Edit("crop12", "crop 12% from every side", lambda im, _r: _crop(im, 0.12, 0.12, 0.12, 0.12)),
    Edit("crop_side", "crop 10% from one random side", _one_side_crop),
    Edit("rotate3", "rotate 3 degrees, black corners", lambda im, _r: _rotate(im, 3.0)),
    Edit("rotate-2", "rotate -2 degrees, black corners", lambda im, _r: _rotate(im, -2.0)),
    Edit("mirror", "mirror left-right", lambda im, _r: ImageOps.mirror(im)),
    Edit("bright+30", "brightness +30%", lambda im, _r: ImageEnhance.Brightness(im).enhance(1.3)),
    Edit("bright-30", "brightness -30%", lambda im, _r: ImageEnhance.Brightness(im).enhance(0.7)),
    Edit("contrast+30", "contrast +30%", lambda im, _r: ImageEnhance.Contrast(im).enhance(1.3)),
    Edit("contrast-30", "contrast -30%", lambda im, _r: ImageEnhance.Contrast(im).enhance(0.7)),
    Edit("blur", "Gaussian blur, radius 0.6% of the short side", lambda im, _r: im.filter(
        ImageFilter.GaussianBlur(_blur_radius(im)))),
    Edit("noise", "Gaussian noise, sigma 12/255", lambda im, r: _noise(im, r, 12.0)),
    Edit("text", "white outlined caption over the lower half", _text),
    Edit("logo", "opaque badge, 22% of the short side, in a corner", _logo),
    Edit("greyscale", "convert to greyscale", lambda im, _r: ImageOps.grayscale(im).convert("RGB")),
    Edit("combo", "mirror + crop <=5%/side + brightness +15% + JPEG 50", _combo),
)  # fmt: skip


def _mirror_crop5(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return _crop(ImageOps.mirror(image), 0.05, 0.05, 0.05, 0.05)


_ISSUE11_EXTRA: tuple[Edit, ...] = (
    Edit("crop5", "crop 5% from every side", lambda im, _r: _crop(im, 0.05, 0.05, 0.05, 0.05)),
    Edit("rotate90", "rotate 90 degrees counter-clockwise", lambda im, _r: im.transpose(
        Image.Transpose.ROTATE_90)),
    Edit("flip", "flip top-bottom", lambda im, _r: ImageOps.flip(im)),
    Edit("mirror+crop5", "mirror left-right, then crop 5% from every side", _mirror_crop5),
)  # fmt: skip

_ISSUE11_NAMES = (
    "jpeg30", "downscale4", "crop5", "crop12", "crop_side", "rotate3", "rotate90", "mirror",
    "flip", "bright+30", "contrast-30", "blur", "noise", "text", "logo", "greyscale",
    "mirror+crop5",
)  # fmt: skip
_ALL_EDITS = {edit.name: edit for edit in (*EDITS, *_ISSUE11_EXTRA)}
ISSUE11_EDITS: tuple[Edit, ...] = tuple(_ALL_EDITS[name] for name in _ISSUE11_NAMES)
"""Issue 11's plagiarist edits: JPEG 30, resize to 1/4, centred crops of 5% and 12% a side, a
one-sided 10% crop, rotations by 3 and 90 degrees, horizontal and vertical flips, brightness x1.3,
contrast x0.7, blur, noise, text and logo overlays, greyscale, and two combined (mirror + crop 5%).
"""


def edit_by_name(name: str) -> Edit:
    """The edit called ``name`` (plagiarist or held-out); :class:`CorpusError` otherwise."""
    from aigc_lab.provenance.held_out import HELD_OUT_EDITS

    for edit in (*_ALL_EDITS.values(), *HELD_OUT_EDITS):
        if edit.name == name:
            return edit
    known = ", ".join(e.name for e in (*_ALL_EDITS.values(), *HELD_OUT_EDITS))
    raise CorpusError(f"unknown edit {name!r}; known edits: {known}")
