"""The :class:`Generator` protocol and the up-front checks every generator applies to a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from generators.errors import InvalidGenerationArgumentError
from generators.result import GenerationResult

__all__ = ["MAX_PROMPT_CHARS", "MAX_SEED", "Generator", "Request", "StepCallback", "check_request"]

MAX_PROMPT_CHARS = 1000
MAX_SEED = 2**63 - 1
StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps done, steps in all)."""


@runtime_checkable
class Generator(Protocol):
    """A text-to-image generator. Implementations check their inputs before any heavy work."""

    name: str
    model_id: str
    default_steps: int

    @property
    def weights_sha256(self) -> str: ...

    def generate(
        self,
        prompt: str,
        *,
        seed: int,
        steps: int | None = None,
        width: int | None = None,
        height: int | None = None,
        guidance_scale: float | None = None,
        callback: StepCallback | None = None,
    ) -> GenerationResult: ...


@dataclass(frozen=True)
class Request:
    """A checked request, defaults filled in."""

    prompt: str
    seed: int
    steps: int
    width: int
    height: int
    guidance_scale: float


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidGenerationArgumentError(name, value, "must be an integer")
    if not low <= value <= high:
        raise InvalidGenerationArgumentError(name, value, f"must be between {low} and {high}")
    return value


def check_request(
    prompt: object,
    *,
    seed: object,
    steps: object,
    width: object,
    height: object,
    guidance_scale: object,
    size_multiple: int,
    min_size: int,
    max_size: int,
    max_steps: int = 500,
) -> Request:
    """Validate a request; raise :class:`InvalidGenerationArgumentError` naming the argument."""
    if not isinstance(prompt, str):
        raise InvalidGenerationArgumentError("prompt", prompt, "must be a string")
    if not prompt.strip():
        raise InvalidGenerationArgumentError("prompt", prompt, "must not be empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidGenerationArgumentError(
            "prompt", prompt[:40] + "...", f"must be at most {MAX_PROMPT_CHARS} characters"
        )
    checked_seed = _int("seed", seed, 0, MAX_SEED)
    checked_steps = _int("steps", steps, 1, max_steps)
    sizes = []
    for name, value in (("width", width), ("height", height)):
        size = _int(name, value, min_size, max_size)
        if size % size_multiple:
            raise InvalidGenerationArgumentError(
                name, value, f"must be a multiple of {size_multiple}"
            )
        sizes.append(size)
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, int | float):
        raise InvalidGenerationArgumentError("guidance_scale", guidance_scale, "must be a number")
    if not 0.0 <= float(guidance_scale) <= 50.0:
        raise InvalidGenerationArgumentError(
            "guidance_scale", guidance_scale, "must be between 0 and 50"
        )
    return Request(prompt, checked_seed, checked_steps, sizes[0], sizes[1], float(guidance_scale))
