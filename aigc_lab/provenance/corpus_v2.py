"""The distinct-image corpus of the verdict benchmark (issue 11), built from installable packages.

Harness code, not product code: nothing here is imported by the registry, the API or the watch.

Sources (``aigc bench corpus packages`` lists the Debian packages; ``scripts/install-corpus-
packages`` installs them; nothing is installed or downloaded by the builder itself):

* ``clipart``: Open Clip Art Library drawings (``openclipart-png``);
* ``icon``: the Oxygen, Tango, GNOME, MATE, nuoveXT2, Faenza and wm-icons themes, the largest
  bitmap of each icon name;
* ``game``: sprites and tiles of Frozen Bubble and Pingus; Wesnoth's units, portraits, terrain;
* ``wallpaper``: non-overlapping 256-pixel crops of the Plasma, MATE and GNOME backgrounds;
* ``photo``: non-overlapping crops of the scikit-image / scikit-learn / matplotlib photographs;
* ``generated``: the bundled model, one distinct prompt and one distinct seed per image.

Every image gets a ``group``: variants of one drawing share it (one icon name in several themes
or sizes, animation frames and numbered variants, recolours named by colour, the crops of one
photograph or wallpaper) and, by pixels, files that are the same picture under another name
(:func:`same_picture`, also when one is the other turned or mirrored: issue 11 asks that a
turned or mirrored copy be caught, so a drawing and its mirror image are one drawing). Only pairs
from different groups count as distinct. Distinct drawings that share a template, a layout or a
flag's stripes stay distinct: they are the hard negatives.

Images are composited over white, kept between 128 and 256 pixels on the longer side, and dropped
when smaller than 32 pixels a side, stretched beyond 4:1, exact duplicates, or degenerate for
:func:`~services.provenance.perceptual.fingerprint`.

The cache is a folder of PNGs plus ``index.json`` (``path``, ``group``, ``source``, ``origin``,
``name_group``: the group before the pixel check);
:func:`load_corpus` reads it back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from aigc_lab.provenance._corpus_sources import (
    DEBIAN_PACKAGES,
    SOURCES,
    Candidate,
    TooLargeError,
    candidates,
    to_rgb_over_white,
)
from services.provenance.errors import CorpusError, DegenerateImageError
from services.provenance.perceptual import fingerprint

__all__ = [
    "DEBIAN_PACKAGES",
    "DEFAULT_CORPUS_DIR",
    "MERGE_CORRELATION",
    "MERGE_MEAN_DIFF",
    "SOURCES",
    "BuildSummary",
    "CorpusImage",
    "build_corpus_v2",
    "load_corpus",
    "merge_same_pictures",
    "prepare_image",
    "regroup_corpus",
    "same_picture",
]

DEFAULT_CORPUS_DIR = Path(".aigc/corpus")
MERGE_CORRELATION = 0.98
"""Pre-filter of :func:`same_picture`: the 32x32 RGB thumbnails correlate at least this much."""
MERGE_MEAN_DIFF = 3.0
MERGE_MAX_DIFF = 48.0
MIN_SIDE_KEPT = 32
_MAX_SIDE = 256
_UPSCALE_TO = 128
_MAX_ASPECT = 4.0


@dataclass(frozen=True)
class CorpusImage:
    """One image of the distinct-image corpus; pairs with equal ``group`` are not distinct."""

    image: Image.Image
    group: str
    source: str
    path: str = ""
    origin: str = ""


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_corpus_v2` kept and dropped, by source."""

    out: Path
    images: dict[str, int]
    groups: dict[str, int]
    dropped: dict[str, int]
    merged_groups: int

    @property
    def total_images(self) -> int:
        return sum(self.images.values())

    @property
    def total_groups(self) -> int:
        return sum(self.groups.values())


def prepare_image(image: Image.Image) -> Image.Image | str:
    """The image as stored in the corpus, or the reason it is dropped."""
    rgb = to_rgb_over_white(image)
    w, h = rgb.size
    if min(w, h) < MIN_SIDE_KEPT:
        return "tiny"
    if max(w, h) > _MAX_ASPECT * min(w, h):
        return "stretched"
    longer = max(w, h)
    target = _MAX_SIDE if longer > _MAX_SIDE else _UPSCALE_TO if longer < _UPSCALE_TO else longer
    if target != longer:
        scale = target / longer
        size = (max(MIN_SIDE_KEPT, round(w * scale)), max(MIN_SIDE_KEPT, round(h * scale)))
        method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        rgb = rgb.resize(size, method)
    try:
        fingerprint(rgb)
    except DegenerateImageError:
        return "degenerate"
    return rgb


def _thumb(image: Image.Image) -> np.ndarray:
    """32x32 RGB box-filtered thumbnail, flattened, as float32 levels 0..255."""
    small = image.convert("RGB").resize((32, 32), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32).ravel()


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Two thumbnails show the same picture: they correlate at :data:`MERGE_CORRELATION`+, differ
    by at most :data:`MERGE_MEAN_DIFF` levels on average and nowhere by more than
    ``MERGE_MAX_DIFF`` (so a different emblem on the same flag stripes stays distinct)."""
    diff = np.abs(a - b)
    za, zb = a - a.mean(), b - b.mean()
    corr = float(za @ zb) / (float(np.linalg.norm(za) * np.linalg.norm(zb)) + 1e-6)
    return (
        corr >= MERGE_CORRELATION
        and float(diff.mean()) <= MERGE_MEAN_DIFF
        and float(diff.max()) <= MERGE_MAX_DIFF
    )


def _dihedral(thumbs: np.ndarray) -> Iterator[np.ndarray]:
    """The flattened 32x32 RGB thumbnails under each of the 8 rotations and mirrorings (the
    identity first): a drawing turned by 90 degrees or mirrored is the same picture."""
    square = thumbs.reshape(-1, 32, 32, 3)
    for mirrored in (square, square[:, :, ::-1]):
        for turns in range(4):
            yield np.ascontiguousarray(np.rot90(mirrored, turns, axes=(1, 2))).reshape(
                len(thumbs), -1
            )


def merge_same_pictures(
    groups: list[str], thumbs: np.ndarray, chunk: int = 2048, *, dihedral: bool = True
) -> list[str]:
    """Union the groups of images that are :func:`same_picture`, under any of the 8 rotations
    and mirrorings when ``dihedral`` (issue 11 requires a mirrored or turned copy to match, so a
    drawing and its mirror image, ``shadowL`` / ``shadowR``, are one drawing, not two); returns
    the merged groups."""
    parent = {g: g for g in groups}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    def unit(t: np.ndarray) -> np.ndarray:
        z = t - t.mean(axis=1, keepdims=True)
        out: np.ndarray = z / (np.linalg.norm(z, axis=1, keepdims=True) + 1e-6)
        return out

    z = unit(thumbs)
    turned = list(_dihedral(thumbs)) if dihedral else [thumbs]
    for other in turned:
        zo = unit(other)
        for start in range(0, len(groups), chunk):
            block = z[start : start + chunk] @ zo.T
            rows, cols = np.nonzero(block >= MERGE_CORRELATION)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                i = start + r
                if c != i and same_picture(thumbs[i], other[c]):
                    a, b = find(groups[i]), find(groups[c])
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    return [find(g) for g in groups]


def _process(candidate: Candidate) -> list[tuple[str, str, Image.Image | str]]:
    try:
        loaded = candidate.load()
    except TooLargeError:
        return [(candidate.origin, candidate.group, "huge")]
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return [(candidate.origin, candidate.group, f"unreadable ({type(exc).__name__})")]
    return [(origin, group, prepare_image(image)) for origin, group, image in loaded]


def build_corpus_v2(
    out: Path = DEFAULT_CORPUS_DIR,
    *,
    sources: tuple[str, ...] = SOURCES,
    generated: int = 800,
    workers: int = 2,
    limit_per_source: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> BuildSummary:
    """Build the corpus into ``out`` (PNGs and ``index.json``) and return what was kept.

    Missing Debian packages are skipped with a count of zero (see :data:`DEBIAN_PACKAGES`);
    ``generated`` is the number of bundled-model images; ``limit_per_source`` caps each source
    (tests and quick runs).
    """
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise CorpusError(f"unknown corpus sources {sorted(unknown)}; known: {', '.join(SOURCES)}")
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records: list[dict[str, str]] = []
    thumbs: list[np.ndarray] = []
    seen: set[str] = set()
    dropped: dict[str, int] = {}
    for source in sources:
        items = list(candidates(source, generated=generated, limit=limit_per_source))
        for origin, group, result in _run(items, workers):
            if isinstance(result, str):
                key = f"{source}:{result}"
                dropped[key] = dropped.get(key, 0) + 1
                continue
            digest = hashlib.sha256(result.tobytes() + repr(result.size).encode()).hexdigest()
            if digest in seen:
                dropped[f"{source}:duplicate"] = dropped.get(f"{source}:duplicate", 0) + 1
                continue
            seen.add(digest)
            rel = f"images/{source}/{len(records):05d}.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            result.save(out / rel, optimize=False, compress_level=3)
            records.append({"path": rel, "group": group, "source": source, "origin": origin})
            thumbs.append(_thumb(result))
            if progress is not None:
                progress(source, len(records))
    named = len({r["group"] for r in records})
    merged = merge_same_pictures([r["group"] for r in records], np.stack(thumbs)) if records else []
    for record, group in zip(records, merged, strict=True):
        record["name_group"], record["group"] = record["group"], group
    (out / "index.json").write_text(json.dumps({"version": 1, "images": records}, indent=0))
    images: dict[str, int] = {}
    groups: dict[str, set[str]] = {}
    for record in records:
        images[record["source"]] = images.get(record["source"], 0) + 1
        groups.setdefault(record["source"], set()).add(record["group"])
    return BuildSummary(
        out=out,
        images=images,
        groups={k: len(v) for k, v in groups.items()},
        dropped=dropped,
        merged_groups=named - len(set(merged)),
    )


def _run(items: list[Candidate], workers: int) -> Iterator[tuple[str, str, Image.Image | str]]:
    if workers <= 1 or len(items) < 50:
        for item in items:
            yield from _process(item)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        for results in pool.map(_process, items, chunksize=8):
            yield from results


def regroup_corpus(path: Path | str = DEFAULT_CORPUS_DIR) -> int:
    """Recompute ``group`` from each record's ``name_group`` and :func:`same_picture` (after a
    change to the grouping), rewrite ``index.json``, and return the number of groups."""
    root = Path(path)
    document = json.loads((root / "index.json").read_text())
    records = document["images"]
    thumbs = []
    for record in records:
        with Image.open(root / record["path"]) as raw:
            thumbs.append(_thumb(raw))
    names = [r.get("name_group", r["group"]) for r in records]
    merged = merge_same_pictures(names, np.stack(thumbs)) if records else []
    for record, name, group in zip(records, names, merged, strict=True):
        record["name_group"], record["group"] = name, group
    (root / "index.json").write_text(json.dumps(document, indent=0))
    return len(set(merged))


def load_corpus(
    path: Path | str = DEFAULT_CORPUS_DIR,
    *,
    sources: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> list[CorpusImage]:
    """The images of a built corpus (``index.json`` order), fully decoded as RGB.

    ``sources`` keeps only those sources; ``limit`` keeps the first ``limit`` images after that.
    Raises :class:`CorpusError` when ``path`` holds no ``index.json``.
    """
    root = Path(path)
    index = root / "index.json"
    if not index.is_file():
        raise CorpusError(f"no corpus at {root} (run `aigc bench corpus build --out {root}`)")
    records = json.loads(index.read_text())["images"]
    if sources is not None:
        records = [r for r in records if r["source"] in sources]
    if limit is not None:
        records = records[:limit]
    items = []
    for record in records:
        with Image.open(root / record["path"]) as raw:
            image = raw.convert("RGB")
        origin = record.get("origin", "")
        items.append(CorpusImage(image, record["group"], record["source"], record["path"], origin))
    return items
