"""The image maker the ESP workers use: the configured generator (the bundled model by default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image


def image_maker(
    name: str | None = "bundled",
) -> Callable[[str, int], tuple[Image.Image, dict[str, Any]]]:
    """``make(prompt, seed) -> (image, metadata)`` backed by ``generators.get_generator(name)``."""
    from generators import get_generator

    generator = get_generator(name)

    def make(prompt: str, seed: int) -> tuple[Image.Image, dict[str, Any]]:
        result = generator.generate(prompt, seed=seed)
        return result.image, result.metadata()

    return make
