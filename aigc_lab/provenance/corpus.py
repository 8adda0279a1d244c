"""Evaluation corpus built only from images that ship inside installed packages.

Nothing is downloaded. The corpus has three parts:

* the sample photographs of scikit-image (``skimage.data``), scikit-learn
  (``load_sample_images``) and matplotlib (``mpl-data/sample_data``), read straight from the
  installed package folders;
* non-overlapping tiles of the larger photographs (distinct images that share camera, lighting
  and texture with their source, which makes them hard negatives for the false-match rate);
* procedurally drawn images (smooth random fields, shapes, gradients) from a seeded generator.

Every item carries a ``group``: the photograph it came from. Pairs inside one group overlap in
content and are never counted as "distinct images" by the evaluation.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from aigc_lab.provenance._procedural import procedural_image
from services.provenance.errors import CorpusError

__all__ = ["CorpusImage", "build_corpus", "face_crops", "package_photographs"]

# (file name inside skimage/data) for the photographs worth evaluating. ``cat`` is chelsea again
# and the stereo pair's right view is a near-duplicate of the left, so both are left out.
_SKIMAGE_FILES = (
    "astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "coins.png",
    "moon.png", "page.png", "text.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png",
    "motorcycle_left.png", "grass.png", "gravel.png", "brick.png", "cell.png", "clock_motion.png",
    "logo.png", "color.png", "horse.png", "phantom.png", "microaneurysms.png",
)  # fmt: skip
_SKLEARN_FILES = ("china.jpg", "flower.jpg")
_MATPLOTLIB_FILES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
_TILE_MIN_SIDE = 400


@dataclass(frozen=True)
class CorpusImage:
    """One original image of the evaluation corpus."""

    name: str
    group: str
    image: Image.Image


def _package_dir(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent.joinpath(*parts)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def _sources() -> Iterator[tuple[str, Path]]:
    listing: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
        ("skimage", ("data",), _SKIMAGE_FILES),
        ("sklearn", ("datasets", "images"), _SKLEARN_FILES),
        ("matplotlib", ("mpl-data", "sample_data"), _MATPLOTLIB_FILES),
    )
    for package, parts, files in listing:
        folder = _package_dir(package, *parts)
        if folder is None:
            continue
        for file in files:
            path = folder / file
            if path.is_file():
                yield f"{package}:{path.stem}", path


def _dem_images() -> Iterator[tuple[str, Image.Image]]:
    """Elevation grids shipped with matplotlib, rendered as greyscale relief images."""
    folder = _package_dir("matplotlib", "mpl-data", "sample_data")
    if folder is None:
        return
    for file, key in (("jacksboro_fault_dem.npz", "elevation"), ("topobathy.npz", "topo")):
        path = folder / file
        if not path.is_file():
            continue
        with np.load(path) as data:
            grid = np.asarray(data[key], dtype=np.float64)
        span = float(grid.max() - grid.min()) or 1.0
        pixels = np.round(255.0 * (grid - grid.min()) / span).astype(np.uint8)
        image = Image.fromarray(pixels).convert("RGB")
        if min(image.size) < 200:
            image = image.resize((image.width * 3, image.height * 3), Image.Resampling.BICUBIC)
        yield f"matplotlib:{Path(file).stem}", image


def package_photographs() -> list[CorpusImage]:
    """Every sample photograph found in the installed packages, as RGB images."""
    items: list[CorpusImage] = []
    for name, path in _sources():
        with Image.open(path) as raw:
            items.append(CorpusImage(name=name, group=name, image=_to_rgb(raw)))
    for name, image in _dem_images():
        items.append(CorpusImage(name=name, group=name, image=image))
    return items


def _tiles(item: CorpusImage) -> Iterator[CorpusImage]:
    width, height = item.image.size
    if min(width, height) < _TILE_MIN_SIDE:
        return
    half_w, half_h = width // 2, height // 2
    for row in range(2):
        for col in range(2):
            box = (col * half_w, row * half_h, (col + 1) * half_w, (row + 1) * half_h)
            name = f"{item.name}#tile{row}{col}"
            yield CorpusImage(name=name, group=item.group, image=item.image.crop(box))


def face_crops(count: int) -> list[CorpusImage]:
    """Up to 200 aligned 25-pixel face crops (``skimage.data.lfw_subset``), upscaled to 128.

    A stress test for false matches: every image has the same composition. Each face is its
    own group (the subset holds few repeated people; a repeat counts as a false match here).
    """
    from skimage import data

    faces = np.asarray(data.lfw_subset())[: max(0, count)]  # type: ignore[no-untyped-call]
    items = []
    for k, face in enumerate(faces):
        pixels = Image.fromarray(np.round(255 * face).astype(np.uint8))
        image = pixels.resize((128, 128), Image.Resampling.BICUBIC).convert("RGB")
        items.append(CorpusImage(f"lfw:{k}", f"lfw:{k}", image))
    return items


def build_corpus(
    *,
    procedural: int = 120,
    tiles: bool = True,
    photos: bool = True,
    faces: int = 0,
    seed: int = 2024,
    limit: int | None = None,
) -> list[CorpusImage]:
    """The evaluation corpus: package photographs, their tiles, ``procedural`` drawn images
    (seeds ``seed``, ``seed + 1``, ...) and ``faces`` face crops, in that order.

    ``limit`` keeps only the first ``limit`` items (tests and quick benchmark runs).
    """
    if procedural < 0 or faces < 0:
        raise CorpusError(f"procedural and faces must be >= 0, got {procedural} and {faces}")
    if limit is not None and limit < 2:
        raise CorpusError(f"limit must be at least 2 (pairs are needed), got {limit}")
    photos_found = package_photographs() if photos else []
    items = list(photos_found)
    if tiles:
        for photo in photos_found:
            items.extend(_tiles(photo))
    draw: Callable[[int], Image.Image] = lambda k: procedural_image(seed + k)  # noqa: E731
    items.extend(
        CorpusImage(f"procedural:{k}", f"procedural:{k}", draw(k)) for k in range(procedural)
    )
    items.extend(face_crops(faces))
    if limit is not None:
        items = items[:limit]
    return items
