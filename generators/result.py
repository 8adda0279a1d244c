"""What a generation returns: the image and the metadata needed to audit how it was made."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

__all__ = ["GenerationResult", "image_sha256", "prompt_sha256"]


def prompt_sha256(prompt: str) -> str:
    """sha256 of the prompt's UTF-8 bytes, hex."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def image_sha256(image: Image.Image) -> str:
    """sha256 of the image's RGB pixels (row-major bytes), hex: independent of any file encoder."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    digest = hashlib.sha256(f"RGB {rgb.width}x{rgb.height}\n".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class GenerationResult:
    """One generated image and how it was made.

    ``generator``, ``model_id``, ``weights_sha256``, ``scheduler``, ``steps``, ``seed``,
    ``guidance_scale``, ``width``, ``height`` and ``prompt`` are exactly what a verifier needs to
    re-run the generation; ``elapsed_s`` and ``unknown_words`` are informative only.
    """

    image: Image.Image = field(repr=False, compare=False)
    generator: str
    model_id: str
    weights_sha256: str
    scheduler: str
    steps: int
    seed: int
    guidance_scale: float
    width: int
    height: int
    prompt: str
    elapsed_s: float = field(compare=False)
    unknown_words: tuple[str, ...] = ()

    @property
    def prompt_sha256(self) -> str:
        return prompt_sha256(self.prompt)

    @property
    def image_sha256(self) -> str:
        return image_sha256(self.image)

    def metadata(self) -> dict[str, Any]:
        """Everything but the image, as JSON-ready values."""
        return {
            "generator": self.generator,
            "model_id": self.model_id,
            "weights_sha256": self.weights_sha256,
            "scheduler": self.scheduler,
            "steps": self.steps,
            "seed": self.seed,
            "guidance_scale": self.guidance_scale,
            "width": self.width,
            "height": self.height,
            "prompt": self.prompt,
            "prompt_sha256": self.prompt_sha256,
            "elapsed_s": round(self.elapsed_s, 4),
            "unknown_words": list(self.unknown_words),
            "image_sha256": self.image_sha256,
        }
