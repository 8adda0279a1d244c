"""Plain-English captions for scenes, in varied phrasings, and the words they are made of."""

from __future__ import annotations

import random

from generators.scene import Scene, SceneObject

__all__ = [
    "MORE_TEMPLATES",
    "NOVEL_TEMPLATES",
    "caption",
    "held_out_captions",
    "training_templates",
]

_SIZE_WORDS = {"small": ("small", "little", "tiny"), "medium": ("",), "large": ("large", "big")}
_POSITION_PHRASES = {
    "top left": ("in the top left", "at the top left", "in the upper left corner"),
    "top": ("at the top", "near the top"),
    "top right": ("in the top right", "at the top right", "in the upper right corner"),
    "left": ("on the left", "at the left"),
    "center": ("in the center", "in the middle", "in the centre"),
    "right": ("on the right", "at the right"),
    "bottom left": ("in the bottom left", "at the bottom left", "in the lower left corner"),
    "bottom": ("at the bottom", "near the bottom"),
    "bottom right": ("in the bottom right", "at the bottom right", "in the lower right corner"),
}
_BACKGROUND_TEMPLATES = (
    "{objects} on a {bg} background",
    "{objects} on a {bg} background",
    "{objects} against a {bg} background",
    "{objects} over a {bg} backdrop",
    "a {bg} background with {objects}",
    "{objects}, {bg} background",
    "{objects} on {bg}",
)

# More training phrasings (``python -m generators.train --more-phrasings``): the background before,
# between or after the objects and joined in other ways, so that the model reads the colour next
# to "background" rather than a place in the sentence. Only words already in the vocabulary.
MORE_TEMPLATES = (
    "a {bg} background and {objects}",
    "{objects} and a {bg} background",
    "on a {bg} background {objects}",
    "{objects} with a {bg} background",
    "{bg} background with {objects}",
)
# Phrasings never used in training (words outside the vocabulary are dropped by the tokenizer),
# so that adherence can also be measured on prompts written the way a person might.
NOVEL_TEMPLATES = (
    "draw {objects} on a {bg} background",
    "{bg} background, {objects}",
    "a picture of {objects} painted on a {bg} background",
    "{objects} sitting on a {bg} backdrop",
    "please make an image showing {objects}, the background {bg}",
    "{objects} placed over {bg}",
)


def training_templates(*, more_phrasings: bool = False) -> tuple[str, ...]:
    """The phrasings training captions are written in."""
    return _BACKGROUND_TEMPLATES + (MORE_TEMPLATES if more_phrasings else ())


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _object_phrase(rng: random.Random, obj: SceneObject, *, main: bool) -> str:
    size = rng.choice(_SIZE_WORDS[obj.size]) if main else ""
    if main and obj.size == "medium" and rng.random() < 0.2:
        size = "medium"
    words = [w for w in (size, obj.colour, obj.shape) if w]
    phrase = f"{_article(words[0])} {' '.join(words)}"
    if obj.position is not None:
        phrase += " " + rng.choice(_POSITION_PHRASES[obj.position])
    return phrase


def caption(scene: Scene, rng: random.Random, *, templates: tuple[str, ...] | None = None) -> str:
    """A caption naming the background, every object (main first) and the stated attributes.

    ``templates`` replaces the training phrasings (e.g. with :data:`NOVEL_TEMPLATES`).
    """
    phrases = [_object_phrase(rng, o, main=i == 0) for i, o in enumerate(scene.objects)]
    objects = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    bg = scene.background
    if scene.pattern != "plain":
        bg = f"{bg} {scene.pattern}" if rng.random() < 0.5 else f"{scene.pattern} {bg}"
    return rng.choice(templates or _BACKGROUND_TEMPLATES).format(objects=objects, bg=bg)


def held_out_captions(
    count: int = 200, seed: int = 2024, *, novel_phrasing: bool = False
) -> list[tuple[str, Scene]]:
    """``count`` (caption, scene) pairs whose main triples were held out of training.

    With ``novel_phrasing`` the same scenes are captioned with :data:`NOVEL_TEMPLATES`.
    """
    from generators.scene import held_out_triples, sample_scene

    rng, novel_rng = random.Random(seed), random.Random(seed + 1)
    triples = held_out_triples()
    pairs = []
    for _ in range(count):
        scene = sample_scene(rng, triples=triples)
        text = caption(scene, rng)  # drawn either way: the scenes stay the same
        if novel_phrasing:
            text = caption(scene, novel_rng, templates=NOVEL_TEMPLATES)
        pairs.append((text, scene))
    return pairs
