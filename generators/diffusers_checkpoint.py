"""A generator over any local diffusers text-to-image checkpoint folder (SD 1.5, SD-Turbo, SDXL).

The folder is what ``save_pretrained`` writes (a ``model_index.json`` and one sub-folder per
component). Loading never touches the network (``local_files_only=True``). The initial noise is
drawn from a CPU generator seeded by the caller, so a given seed means the same starting latents
on every device; bit-identical replays additionally need the same device, dtype and libraries.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from generators._hashing import folder_sha256
from generators.base import StepCallback, check_request
from generators.errors import (
    CheckpointNotFoundError,
    InvalidGenerationArgumentError,
    NotAPipelineError,
)
from generators.result import GenerationResult

__all__ = ["DTYPES", "DiffusersGenerator", "resolve_device"]

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def resolve_device(device: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked to exist on this machine."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidGenerationArgumentError(
            "device", device, "must be cpu, cuda[:N] or mps"
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidGenerationArgumentError("device", device, "CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InvalidGenerationArgumentError("device", device, "no such CUDA device")
    elif resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise InvalidGenerationArgumentError("device", device, "MPS is not available here")
    elif resolved.type != "cpu":
        raise InvalidGenerationArgumentError("device", device, "must be cpu, cuda[:N] or mps")
    return resolved


def _dtype_keyword() -> str:
    """``dtype`` on recent diffusers (``torch_dtype`` is deprecated there), else ``torch_dtype``."""
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:
        return "torch_dtype"
    return (
        "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"
    )


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide diffusers' and transformers' loading progress bars (the CLI shows its own status)."""
    from diffusers.utils import logging as diffusers_logging

    was_enabled = diffusers_logging.is_progress_bar_enabled()
    diffusers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            diffusers_logging.enable_progress_bar()


class DiffusersGenerator:
    """Wraps ``DiffusionPipeline.from_pretrained(path, local_files_only=True)``."""

    name = "diffusers"

    def __init__(
        self,
        path: Path | str,
        *,
        device: str = "cpu",
        dtype: str = "float32",
        default_steps: int = 25,
        default_guidance_scale: float = 7.5,
    ) -> None:
        from diffusers import DiffusionPipeline

        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise CheckpointNotFoundError(str(folder))
        if dtype not in DTYPES:
            raise InvalidGenerationArgumentError(
                "dtype", dtype, f"must be one of {', '.join(DTYPES)}"
            )
        torch_device = resolve_device(device)
        if not (folder / "model_index.json").is_file():
            raise NotAPipelineError(
                str(folder), "no model_index.json (save it with save_pretrained)"
            )
        with _quiet_loading():
            try:
                pipe = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
                    folder, local_files_only=True, **{_dtype_keyword(): DTYPES[dtype]}
                )
            except Exception as exc:  # diffusers raises many kinds; all mean "not loadable"
                raise NotAPipelineError(str(folder), f"{type(exc).__name__}: {exc}") from exc
        call = inspect.signature(pipe.__call__).parameters
        if "prompt" not in call or "num_inference_steps" not in call:
            raise NotAPipelineError(str(folder), f"{type(pipe).__name__} is not text-to-image")
        self._accepts_callback = "callback_on_step_end" in call
        pipe.set_progress_bar_config(disable=True)
        self.pipeline: Any = pipe.to(torch_device)
        self.path = folder
        self.device = torch_device
        self.dtype = dtype
        self.model_id = f"diffusers:{folder.name}"
        self.default_steps = default_steps
        self.default_guidance_scale = default_guidance_scale
        scale = int(getattr(pipe, "vae_scale_factor", 8))
        unet = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
        sample = getattr(getattr(unet, "config", None), "sample_size", None)
        self.native_size = int(sample) * scale if isinstance(sample, int) else 512
        self.size_multiple = scale
        self._weights_sha256: str | None = None

    @property
    def weights_sha256(self) -> str:
        """sha256 over every file of the checkpoint folder (computed once, on first use)."""
        if self._weights_sha256 is None:
            self._weights_sha256 = folder_sha256(self.path)
        return self._weights_sha256

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
    ) -> GenerationResult:
        request = check_request(
            prompt,
            seed=seed,
            steps=self.default_steps if steps is None else steps,
            width=self.native_size if width is None else width,
            height=self.native_size if height is None else height,
            guidance_scale=self.default_guidance_scale
            if guidance_scale is None
            else guidance_scale,
            size_multiple=self.size_multiple,
            min_size=self.size_multiple,
            max_size=4096,
        )
        extra: dict[str, Any] = {}
        if callback is not None and self._accepts_callback:
            total = request.steps

            def on_step_end(
                _pipe: Any, step: int, _t: Any, kwargs: dict[str, Any]
            ) -> dict[str, Any]:
                callback(step + 1, total)
                return kwargs

            extra["callback_on_step_end"] = on_step_end
        started = time.perf_counter()
        output = self.pipeline(
            prompt=request.prompt,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            width=request.width,
            height=request.height,
            generator=torch.Generator("cpu").manual_seed(request.seed),
            output_type="pil",
            **extra,
        )
        image = output.images[0].convert("RGB")
        return GenerationResult(
            image=image,
            generator=self.name,
            model_id=self.model_id,
            weights_sha256=self.weights_sha256,
            scheduler=type(self.pipeline.scheduler).__name__,
            steps=request.steps,
            seed=request.seed,
            guidance_scale=request.guidance_scale,
            width=request.width,
            height=request.height,
            prompt=request.prompt,
            elapsed_s=time.perf_counter() - started,
        )
