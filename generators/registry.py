"""Generators by name: ``get_generator("bundled")``, ``get_generator("diffusers", path=...)``.

With no name, the configured one (``AIGC_GENERATOR``, see :mod:`generators.settings`) is used,
and the ``diffusers`` generator falls back to ``AIGC_CHECKPOINT_DIR``, ``AIGC_GENERATOR_DEVICE``
and ``AIGC_GENERATOR_DTYPE`` for whatever the caller does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from generators.base import Generator
from generators.errors import InvalidGenerationArgumentError, UnknownGeneratorError
from generators.settings import get_settings

__all__ = ["available_generators", "get_generator", "register_generator"]

Factory = Callable[..., Generator]
_FACTORIES: dict[str, Factory] = {}


def register_generator(name: str, factory: Factory) -> None:
    """Make ``factory(**options)`` reachable as ``get_generator(name, **options)``."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"name={name!r} must be a non-empty identifier")
    _FACTORIES[name] = factory


def available_generators() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def _apply_threads() -> None:
    threads = get_settings().torch_threads
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _bundled(weights: Path | str | None = None, device: str | None = None) -> Generator:
    from generators.bundled import BundledGenerator

    _apply_threads()
    return BundledGenerator(weights, device=device or get_settings().generator_device)


def _diffusers(
    path: Path | str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    **options: Any,
) -> Generator:
    from generators.diffusers_checkpoint import DiffusersGenerator

    settings = get_settings()
    folder = path if path is not None else settings.checkpoint_dir
    if folder is None:
        raise InvalidGenerationArgumentError(
            "path",
            None,
            "the diffusers generator needs a checkpoint folder (or AIGC_CHECKPOINT_DIR)",
        )
    _apply_threads()
    return DiffusersGenerator(
        folder,
        device=device or settings.generator_device,
        dtype=dtype or settings.generator_dtype,
        **options,
    )


register_generator("bundled", _bundled)
register_generator("diffusers", _diffusers)


def get_generator(name: str | None = None, **options: Any) -> Generator:
    """Build the generator registered as ``name`` (default: ``AIGC_GENERATOR``)."""
    chosen = name if name is not None else get_settings().generator
    factory = _FACTORIES.get(chosen)
    if factory is None:
        raise UnknownGeneratorError(chosen, available_generators())
    return factory(**options)
