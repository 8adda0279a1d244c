"""fingerprint(): golden values, robustness to plagiarist edits, degenerate and odd inputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from aigc_lab.provenance._procedural import procedural_image
from aigc_lab.provenance.edits import EDITS, edit_rng
from services.provenance import (
    MATCH_THRESHOLD,
    DegenerateImageError,
    NotAnImageError,
    fingerprint,
    load_image,
)

from .conftest import analytic_image

# Pinned so that a numpy / scipy / Pillow / scikit-image upgrade cannot shift fingerprints
# silently: registered fingerprints must stay reproducible from the image bytes.
GOLDEN = {
    "camera": "0x681088af8ce72d306a0088af86e52d70b100614e094e6731b152614e0b5ee631",
    "astronaut": "0x51c0f86fcab6370c51c2f86f4a326f8879c0686c4f22668b79c262c46f20cc87",
    "analytic": "0xe48e0e628570c043e48e2e628640c441e4cc2a6386408641e4cc2b2386409642",
    "procedural1": "0xd141cfc0625e085fc0db746f44069f1dc15e744d44068f35c1da764c44420f3f",
}


def test_golden_values(camera: Image.Image, astronaut: Image.Image, analytic: Image.Image) -> None:
    got = {
        "camera": fingerprint(camera).hex(),
        "astronaut": fingerprint(astronaut).hex(),
        "analytic": fingerprint(analytic).hex(),
        "procedural1": fingerprint(procedural_image(1)).hex(),
    }
    assert got == GOLDEN


def test_same_pixels_in_another_container_give_the_same_fingerprint(camera: Image.Image) -> None:
    buffer = io.BytesIO()
    camera.save(buffer, format="PNG")
    assert fingerprint(load_image(buffer.getvalue())) == fingerprint(camera)
    assert fingerprint(camera.convert("RGB")) == fingerprint(camera)


@pytest.mark.parametrize("edit", EDITS, ids=[e.name for e in EDITS])
def test_every_plagiarist_edit_of_the_camera_still_matches(camera: Image.Image, edit) -> None:  # type: ignore[no-untyped-def]
    copy = edit.apply(camera, edit_rng(7, "camera", edit.name))
    assert fingerprint(copy).distance(fingerprint(camera)) <= MATCH_THRESHOLD


def test_mirror_is_almost_free(astronaut: Image.Image, analytic: Image.Image) -> None:
    for image in (astronaut, analytic):
        assert fingerprint(ImageOps.mirror(image)).distance(fingerprint(image)) <= 2


@pytest.mark.parametrize(
    "op",
    [
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
        Image.Transpose.FLIP_TOP_BOTTOM,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    ],
)
def test_every_rotation_and_flip_is_almost_free(
    camera: Image.Image, astronaut: Image.Image, analytic: Image.Image, op: Image.Transpose
) -> None:
    for image in (camera, astronaut, analytic, procedural_image(1)):
        assert fingerprint(image.transpose(op)).distance(fingerprint(image)) <= 2


def test_distinct_images_do_not_match(
    camera: Image.Image, astronaut: Image.Image, analytic: Image.Image
) -> None:
    prints = [fingerprint(im) for im in (camera, astronaut, analytic)]
    prints += [fingerprint(procedural_image(seed)) for seed in range(6)]
    for i, a in enumerate(prints):
        for b in prints[i + 1 :]:
            assert not a.matches(b)


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (Image.new("RGB", (31, 200), "red"), "too small"),
        (Image.new("RGB", (300, 200), (40, 90, 200)), "flat"),
        (
            Image.fromarray(
                np.full((200, 300), 128, np.uint8) + (np.arange(300) % 2).astype(np.uint8)
            ),
            "flat",
        ),
    ],
)
def test_degenerate_images_are_refused(image: Image.Image, reason: str) -> None:
    with pytest.raises(DegenerateImageError, match=reason) as info:
        fingerprint(image)
    assert info.value.width == image.width and isinstance(info.value, ValueError)


def test_a_nearly_blank_page_is_refused() -> None:
    page = np.full((400, 300), 250, np.uint8)
    page[100:110, 50:250] = 0  # one short line of "ink": 1.7% of the pixels
    with pytest.raises(DegenerateImageError, match="nearly blank"):
        fingerprint(Image.fromarray(page))


def test_modes_alpha_palette_and_sixteen_bit(analytic: Image.Image) -> None:
    reference = fingerprint(analytic)
    assert fingerprint(analytic.convert("RGBA")) == reference
    assert fingerprint(analytic.convert("P")).distance(reference) <= 6
    grey16 = np.asarray(analytic.convert("L"), dtype=np.uint16) * 257
    sixteen = Image.fromarray(grey16)
    assert sixteen.mode.startswith("I;16")
    assert fingerprint(sixteen).distance(fingerprint(analytic.convert("L"))) <= 2
    transparent = analytic.convert("RGBA")
    transparent.putalpha(0)  # fully transparent: white after compositing
    with pytest.raises(DegenerateImageError):
        fingerprint(transparent)


def test_exif_orientation_is_applied(analytic: Image.Image) -> None:
    rotated = analytic.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers rotate 90 degrees clockwise to display: undoes ROTATE_90
    buffer = io.BytesIO()
    rotated.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    shown = load_image(buffer.getvalue())
    assert fingerprint(shown).distance(fingerprint(analytic)) <= 4


def test_load_image_errors_name_the_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(NotAnImageError, match=r"notes\.png"):
        load_image(bad)
    with pytest.raises(NotAnImageError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    truncated = io.BytesIO()
    analytic_image().save(truncated, format="PNG")
    with pytest.raises(NotAnImageError, match="upload"):
        load_image(truncated.getvalue()[:200], name="upload")


def test_non_images_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        fingerprint(np.zeros((64, 64)))  # type: ignore[arg-type]
