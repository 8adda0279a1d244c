"""Where the images of the distinct-image corpus come from, and how each is grouped.

Each source lists :class:`Candidate` files (or prompts); a candidate loads into one or more
(origin, group, image) items. Paths are the Debian packages' install locations.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = [
    "DEBIAN_PACKAGES",
    "SOURCES",
    "Candidate",
    "candidates",
    "group_key",
    "to_rgb_over_white",
]

DEBIAN_PACKAGES: dict[str, str] = {
    "openclipart-png": "clipart: Open Clip Art Library drawings",
    "oxygen-icon-theme": "icon: KDE Oxygen icons",
    "tango-icon-theme": "icon: Tango icons",
    "gnome-icon-theme": "icon: GNOME 2 icons",
    "mate-icon-theme": "icon: MATE icons",
    "lxde-icon-theme": "icon: LXDE nuoveXT2 icons",
    "faenza-icon-theme": "icon: Faenza icons",
    "wm-icons": "icon: wm-icons",
    "frozen-bubble-data": "game: Frozen Bubble sprites",
    "pingus-data": "game: Pingus sprites and tiles",
    "wesnoth-1.16-data": "game: Battle for Wesnoth units, portraits, terrain, items",
    "plasma-workspace-wallpapers": "wallpaper: KDE Plasma wallpapers",
    "mate-backgrounds": "wallpaper: MATE backgrounds",
    "gnome-backgrounds": "wallpaper: GNOME backgrounds",
}
SOURCES = ("clipart", "icon", "game", "wallpaper", "photo", "generated")

_CLIPART = Path("/usr/share/openclipart/png")
_ICON_THEMES = tuple(
    Path("/usr/share/icons") / theme
    for theme in ("oxygen/base", "Tango", "gnome", "mate", "nuoveXT2", "Faenza", "wm-icons")
)
_GAMES = (Path("/usr/share/games/frozen-bubble"), Path("/usr/share/games/pingus"))
_WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/images")
_SIDE = re.compile(r"^(\d+)(x\d+)?(\b|_|-)")
_TRUNCATED = re.compile(r"_\d\d[a-z]?$")
_TRUNCATED_KEY = 14
"""Open Clip Art names ("<title>_<author>_01") are cut at 24 characters, so recolours
("arrow-down-green_benji_p_01", "arrow-down-seagreen_benj_01") keep different tails of the
author: such names are compared on the first 14 characters of their key."""
GENERATED_CACHE = Path(".aigc/corpus-cache/generated")
"""The bundled model's images are kept here between builds (generation is the slow part)."""
_WALLPAPERS = Path("/usr/share/wallpapers")
_BACKGROUNDS = (Path("/usr/share/backgrounds/mate"), Path("/usr/share/backgrounds/gnome"))
_BITMAPS = (".png", ".jpg", ".jpeg", ".webp")
_WALL_SHORT_SIDE = 1024
_WALL_CELL = 256
_PHOTO_CELL = 128
MAX_PIXELS = 30_000_000
"""Files with more pixels are skipped (a few clip-art PNGs are 200 Mpx and take minutes)."""
PER_GROUP = 3
"""At most this many files of one group are kept (1,375 star variants add nothing but time)."""

_WORDS = (
    "black|white|red|green|blue|yellow|orange|purple|violet|pink|brown|grey|gray|cyan|magenta|"
    "dark|light|bw|mono|color|colour|blank|inverted|inv|alt|small|big|large|shaded|outline|"
    "day|night|morning|evening|vertical|horizontal|over|hover|on|off|active|disabled|"
    "seagreen|skyblue|navy|gold|golden|silver|lime|teal|olive|aqua|turquoise|beige|maroon|"
    "rosso|rossa|verde|blu|giallo|gialla|nero|nera|bianco|bianca|grigio|grigia"
)
_KEY_DROP = re.compile(rf"(?<![a-z])({_WORDS})(?![a-z])|\d+x\d+|\d+")


def group_key(name: str) -> str:
    """The part of a file or icon name its variants share: digits, sizes, colour and state words
    removed (``star_82pt05step`` and ``star_63pt08step`` both give ``star_ptstep``)."""
    stem = Path(name).stem.lower() if Path(name).suffix.lower() in _BITMAPS else name.lower()
    key = _KEY_DROP.sub("", stem.replace("-", "_").replace(" ", "_"))
    key = re.sub(r"_+", "_", key).strip("_ .")
    return key or stem


def to_rgb_over_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited over white."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "F"):
        return image.convert("L").convert("RGB")
    return image.convert("RGB")


Item = tuple[str, str, Image.Image]


@dataclass(frozen=True)
class Candidate:
    """One file (or prompt) of a source; ``load`` gives one or more (origin, group, image)."""

    kind: str
    origin: str
    group: str
    args: tuple[Any, ...] = ()

    def load(self) -> list[Item]:
        if self.kind == "file":
            with Image.open(self.origin) as raw:
                _check_pixels(raw)
                raw.load()
                return [(self.origin, self.group, raw.copy())]
        if self.kind == "grid":
            return _grid(self.origin, self.group, *self.args)
        if self.kind == "generated":
            prompt, seed = self.args
            return [(f"{prompt} | seed {seed}", self.group, _generate(prompt, seed))]
        raise ValueError(f"unknown candidate kind {self.kind!r}")


class TooLargeError(ValueError):
    """Raised when a file has more than :data:`MAX_PIXELS` pixels."""


def _check_pixels(image: Image.Image) -> None:
    if image.width * image.height > MAX_PIXELS:
        raise TooLargeError(f"{image.width}x{image.height}")


def _grid(origin: str, group: str, short_side: int, cell: int, checker: bool) -> list[Item]:
    """Non-overlapping ``cell`` crops (every other one when ``checker``) of the image scaled so
    its short side is at most ``short_side``. The crops share the photograph's group: pairs of
    crops of one photograph (one repeating pattern, one sky) are not distinct images."""
    with Image.open(origin) as raw:
        _check_pixels(raw)
        image = to_rgb_over_white(raw)
    scale = min(1.0, short_side / min(image.size))
    if scale < 1.0:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    cols, rows = image.width // cell, image.height // cell
    if cols == 0 or rows == 0:
        return [(origin, group, image)]
    items = []
    for r in range(rows):
        for c in range(cols):
            if checker and (r + c) % 2:
                continue
            box = (c * cell, r * cell, (c + 1) * cell, (r + 1) * cell)
            items.append((f"{origin}#{r},{c}", group, image.crop(box)))
    return items


def _generate(prompt: str, seed: int) -> Image.Image:
    """The bundled model's image for (prompt, seed), from :data:`GENERATED_CACHE` when there."""
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).hexdigest()[:20]
    cached = GENERATED_CACHE / f"{digest}.png"
    if cached.is_file():
        with Image.open(cached) as raw:
            return raw.convert("RGB")
    image: Image.Image = _generator().generate(prompt, seed=seed).image
    GENERATED_CACHE.mkdir(parents=True, exist_ok=True)
    image.save(cached)
    return image


@cache
def _generator() -> Any:
    from generators import get_generator

    return get_generator("bundled")


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in _BITMAPS and p.is_file())


def _clipart() -> Iterator[Candidate]:
    for path in _files(_CLIPART):
        rel = path.relative_to(_CLIPART)
        if "icons" in rel.parts:
            yield Candidate("file", str(path), f"icon:{group_key(path.name)}")
        else:
            key = group_key(path.name)
            if _TRUNCATED.search(path.stem):  # "arrow-down-seagreen_benj_01": the author is cut
                key = key[:_TRUNCATED_KEY]
            yield Candidate("file", str(path), f"clipart:{rel.parent}/{key}")


def _icons() -> Iterator[Candidate]:
    for theme in _ICON_THEMES:
        best: dict[str, tuple[int, Path]] = {}
        for path in _files(theme):
            sides = [int(m.group(1)) for p in path.parts if (m := _SIDE.match(p))]
            side = max(sides, default=0)
            if side > best.get(path.stem, (-1, path))[0]:
                best[path.stem] = (side, path)
        for name, (_, path) in sorted(best.items()):
            yield Candidate("file", str(path), f"icon:{group_key(name)}")


def _game() -> Iterator[Candidate]:
    for root in _GAMES:
        for path in _files(root):
            folder = "/".join(group_key(p) for p in path.relative_to(root).parent.parts)
            yield Candidate("file", str(path), f"game:{root.name}/{folder}/{group_key(path.name)}")
    yield from _wesnoth()


def _wesnoth() -> Iterator[Candidate]:
    """Wesnoth's units, portraits, terrain and items; a unit's frames and variants (the part of
    the name before the first '-' or '+') form one group."""
    for path in _files(_WESNOTH):
        rel = path.relative_to(_WESNOTH)
        folder = "/".join(group_key(p) for p in rel.parent.parts if p != "transparent")
        base = re.split(r"[-+]", path.stem, maxsplit=1)[0]
        yield Candidate("file", str(path), f"game:wesnoth/{folder}/{group_key(base)}")


def _wallpaper() -> Iterator[Candidate]:
    if _WALLPAPERS.is_dir():
        for folder in sorted(p for p in _WALLPAPERS.iterdir() if p.is_dir()):
            images = _files(folder / "contents" / "images")
            if images:
                largest = max(images, key=lambda p: p.stat().st_size)
                args = (_WALL_SHORT_SIDE, _WALL_CELL, True)
                yield Candidate("grid", str(largest), f"wallpaper:{folder.name}", args)
    for root in _BACKGROUNDS:
        best: dict[str, Path] = {}
        for path in _files(root):
            key = group_key(path.name)
            if key not in best or path.stat().st_size > best[key].stat().st_size:
                best[key] = path
        for key, path in sorted(best.items()):
            args = (_WALL_SHORT_SIDE, _WALL_CELL, True)
            yield Candidate("grid", str(path), f"wallpaper:{root.name}/{key}", args)


def _photo() -> Iterator[Candidate]:
    from aigc_lab.provenance.corpus import _sources

    for name, path in _sources():
        yield Candidate("grid", str(path), f"photo:{name}", (512, _PHOTO_CELL, False))


def _generated(count: int) -> Iterator[Candidate]:
    from generators.captions import caption
    from generators.scene import sample_scene

    rng, seen = random.Random(20261201), set[str]()
    while len(seen) < count:
        text = caption(sample_scene(rng), rng)
        if text not in seen:
            seed = 50_000 + len(seen)
            seen.add(text)
            yield Candidate("generated", text, f"generated:{seed}", (text, seed))


def candidates(source: str, *, generated: int = 800, limit: int | None = None) -> list[Candidate]:
    """The candidates of one source (empty when its package is not installed)."""
    makers: dict[str, Callable[[], Iterator[Candidate]]] = {
        "clipart": _clipart,
        "icon": _icons,
        "game": _game,
        "wallpaper": _wallpaper,
        "photo": _photo,
        "generated": lambda: _generated(generated),
    }
    listing = makers[source]()
    items, per_group = [], dict[str, int]()
    for item in listing:
        per_group[item.group] = per_group.get(item.group, 0) + 1
        if per_group[item.group] <= PER_GROUP:
            items.append(item)
    return items if limit is None else items[:limit]
