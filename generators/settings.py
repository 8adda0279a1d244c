"""Configuration of the generators package (``AIGC_`` environment variables or ``.env``, as for
the ledger and the API: ``marketplace_api.config.load_settings`` composes the three)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GeneratorSettings", "get_settings"]


class GeneratorSettings(BaseSettings):
    """Which generator to use and where it runs.

    ``AIGC_GENERATOR`` names a registered generator (``bundled`` or ``diffusers``);
    ``AIGC_CHECKPOINT_DIR`` is the diffusers checkpoint folder for ``diffusers``;
    ``AIGC_GENERATOR_DEVICE`` / ``AIGC_GENERATOR_DTYPE`` choose where and in what precision it
    runs; ``AIGC_TORCH_THREADS`` pins torch's CPU thread count when a generator is built
    (default 1: the bundled model meets its speed target on one core, stays fast when the cores
    are shared, and one fixed count keeps CPU replays bit-identical; raise it for a big
    checkpoint on CPU).
    """

    model_config = SettingsConfigDict(env_prefix="AIGC_", env_file=".env", extra="ignore")

    generator: str = "bundled"
    checkpoint_dir: Path | None = None
    generator_device: str = "cpu"
    generator_dtype: str = "float32"
    torch_threads: int | None = Field(default=1, ge=1, le=256)


@lru_cache(maxsize=1)
def get_settings() -> GeneratorSettings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after patching env)."""
    return GeneratorSettings()
