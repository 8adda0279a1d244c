"""The bundled model's world: colours, shapes, sizes, positions and the scenes built from them.

A :class:`Scene` is the ground truth that the procedural renderer draws, that a caption
describes and that the adherence checker looks for. The first object of a scene is its *main*
object: it is always drawn the largest, so a checker can find it again in a generated image.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "COLOURS",
    "PATTERNS",
    "POSITIONS",
    "SHAPES",
    "SIZES",
    "Scene",
    "SceneObject",
    "held_out_triples",
    "sample_scene",
]

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "orange": (245, 135, 20),
    "yellow": (245, 220, 40),
    "green": (35, 160, 60),
    "cyan": (40, 210, 220),
    "blue": (30, 70, 215),
    "purple": (135, 50, 185),
    "pink": (245, 125, 190),
    "brown": (125, 75, 35),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "black": (20, 20, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star")
# Half of the object's extent as a fraction of the image side.
SIZES: dict[str, float] = {"small": 0.13, "medium": 0.2, "large": 0.27}
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.3, 0.3),
    "top": (0.5, 0.3),
    "top right": (0.7, 0.3),
    "left": (0.3, 0.5),
    "center": (0.5, 0.5),
    "right": (0.7, 0.5),
    "bottom left": (0.3, 0.7),
    "bottom": (0.5, 0.7),
    "bottom right": (0.7, 0.7),
}
PATTERNS: tuple[str, ...] = ("plain", "striped", "dotted")


@dataclass(frozen=True)
class SceneObject:
    """One shape: its colour and kind, its half-extent and its centre (fractions of the side)."""

    colour: str
    shape: str
    size: str
    position: str | None
    centre: tuple[float, float]
    half: float


@dataclass(frozen=True)
class Scene:
    """A background (colour and pattern) and one to three objects, the first being the main one."""

    background: str
    pattern: str
    objects: tuple[SceneObject, ...]

    @property
    def main(self) -> SceneObject:
        return self.objects[0]

    @property
    def triple(self) -> tuple[str, str, str]:
        """(main colour, main shape, background colour): what adherence is judged on."""
        return (self.main.colour, self.main.shape, self.background)


def held_out_triples(seed: int = 7, share: float = 0.15) -> frozenset[tuple[str, str, str]]:
    """The (colour, shape, background) triples never shown as a main object during training.

    Held-out captions are drawn from these, so adherence measures composition of known words
    in combinations the model has not seen rather than memory.
    """
    every = [(c, s, b) for c in COLOURS for s in SHAPES for b in COLOURS if c != b]
    rng = random.Random(seed)
    return frozenset(rng.sample(every, round(len(every) * share)))


def _place(
    rng: random.Random, half: float, position: str | None, taken: list[tuple[float, float, float]]
) -> tuple[float, float] | None:
    """A centre for an object of this half-extent that keeps clear of the objects already placed."""
    for _ in range(60):
        if position is not None:
            px, py = POSITIONS[position]
            x, y = px + rng.uniform(-0.04, 0.04), py + rng.uniform(-0.04, 0.04)
        else:
            x, y = rng.uniform(0.1 + half, 0.9 - half), rng.uniform(0.1 + half, 0.9 - half)
        x = min(max(x, half + 0.02), 0.98 - half)
        y = min(max(y, half + 0.02), 0.98 - half)
        if all(
            abs(x - ox) > half + oh + 0.02 or abs(y - oy) > half + oh + 0.02 for ox, oy, oh in taken
        ):
            return (x, y)
    return None


def sample_scene(
    rng: random.Random,
    *,
    triples: frozenset[tuple[str, str, str]] | None = None,
    exclude: frozenset[tuple[str, str, str]] = frozenset(),
) -> Scene:
    """Draw a random scene whose main triple is in ``triples`` (if given) and not in ``exclude``."""
    colours, allowed = list(COLOURS), sorted(triples) if triples is not None else None
    while True:
        if allowed is not None:
            colour, shape, background = rng.choice(allowed)
        else:
            background, colour = rng.sample(colours, 2)
            shape = rng.choice(SHAPES)
        if (colour, shape, background) not in exclude:
            break
    pattern = rng.choices(PATTERNS, weights=(0.7, 0.15, 0.15))[0]
    size = rng.choices(list(SIZES), weights=(0.25, 0.45, 0.3))[0]
    position = rng.choice(list(POSITIONS)) if rng.random() < 0.35 else None
    half = SIZES[size] * rng.uniform(0.92, 1.08)
    taken: list[tuple[float, float, float]] = []
    centre = _place(rng, half, position, taken) or (0.5, 0.5)
    taken.append((*centre, half))
    objects = [SceneObject(colour, shape, size, position, centre, half)]
    extra = rng.choices((0, 1, 2), weights=(0.5, 0.35, 0.15))[0]
    for _ in range(extra):
        o_colour = rng.choice([c for c in colours if c != background])
        o_shape = rng.choice(SHAPES)
        o_half = min(SIZES["small"], half * 0.55) * rng.uniform(0.9, 1.0)
        o_centre = _place(rng, o_half, None, taken)
        if o_centre is None:
            continue
        taken.append((*o_centre, o_half))
        objects.append(SceneObject(o_colour, o_shape, "small", None, o_centre, o_half))
    return Scene(background, pattern, tuple(objects))
