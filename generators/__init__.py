"""Image generators behind one interface: the bundled diffusion model and diffusers checkpoints.

    from generators import get_generator

    result = get_generator("bundled").generate("a red circle on a blue background", seed=1)
    result.image.save("x.png"); print(result.metadata())

Heavy modules (torch, diffusers) load on first use of a generator, not on ``import generators``.
"""

from __future__ import annotations

from generators.base import Generator, StepCallback, check_request
from generators.errors import (
    CheckpointNotFoundError,
    GeneratorError,
    InvalidGenerationArgumentError,
    InvalidRecordError,
    NotAPipelineError,
    UnknownGeneratorError,
    WeightsMissingError,
)
from generators.record import GenerationRecord, Replay, replay
from generators.registry import available_generators, get_generator, register_generator
from generators.result import GenerationResult, image_sha256, prompt_sha256
from generators.settings import GeneratorSettings, get_settings

__all__ = [
    "CheckpointNotFoundError",
    "GenerationRecord",
    "GenerationResult",
    "Generator",
    "GeneratorError",
    "GeneratorSettings",
    "InvalidGenerationArgumentError",
    "InvalidRecordError",
    "NotAPipelineError",
    "Replay",
    "StepCallback",
    "UnknownGeneratorError",
    "WeightsMissingError",
    "available_generators",
    "check_request",
    "get_generator",
    "get_settings",
    "image_sha256",
    "prompt_sha256",
    "register_generator",
    "replay",
]
