"""The bundled generator: the small shapes-and-colours diffusion model committed with the project.

It runs offline on a CPU: a 64x64 image in well under a second at the default 16 steps. Its
weights live in ``generators/weights/bundled`` (safetensors) and are made by
``python -m generators.train``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from diffusers import UNet2DConditionModel

from generators._hashing import folder_sha256
from generators.architecture import LATENT_FACTOR, NATIVE_SIZE, PATCH
from generators.base import StepCallback, check_request
from generators.decoder import LatentDecoder
from generators.errors import InvalidGenerationArgumentError, WeightsMissingError
from generators.pipeline import ShapesPipeline
from generators.result import GenerationResult
from generators.text_encoder import TinyTextEncoder
from generators.tokenizer import WordTokenizer

__all__ = ["BUNDLED_WEIGHTS", "BundledGenerator"]

BUNDLED_WEIGHTS = Path(__file__).parent / "weights" / "bundled"
_REQUIRED = (
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "text_encoder/config.json",
    "text_encoder/diffusion_pytorch_model.safetensors",
    "decoder/config.json",
    "decoder/diffusion_pytorch_model.safetensors",
    "tokenizer/vocab.json",
    "scheduler/scheduler_config.json",
)


class BundledGenerator:
    """Generator over the bundled weights (or any folder written by ``generators.train``)."""

    name = "bundled"
    default_steps = 16
    default_guidance_scale = 3.0
    scheduler_name = "DPMSolverMultistepScheduler(dpmsolver++, order 2, trailing)"

    def __init__(self, weights: Path | str | None = None, *, device: str = "cpu") -> None:
        folder = Path(weights) if weights is not None else BUNDLED_WEIGHTS
        missing = [name for name in _REQUIRED if not (folder / name).is_file()]
        if missing:
            raise WeightsMissingError(str(folder), f"missing {', '.join(missing)}")
        if device != "cpu" and not device.startswith(("cuda", "mps")):
            raise InvalidGenerationArgumentError("device", device, "must be cpu, cuda[:N] or mps")
        self.weights_dir = folder
        self.model_id = "bundled-shapes-64" if weights is None else f"bundled:{folder.name}"
        try:
            # low_cpu_mem_usage=False: nothing to save for 20 MB, and no "install accelerate" nag.
            unet = UNet2DConditionModel.from_pretrained(  # type: ignore[no-untyped-call]
                folder / "unet", local_files_only=True, low_cpu_mem_usage=False
            )
            text_encoder = TinyTextEncoder.from_pretrained(
                folder / "text_encoder", local_files_only=True, low_cpu_mem_usage=False
            )
            decoder = LatentDecoder.from_pretrained(
                folder / "decoder", local_files_only=True, low_cpu_mem_usage=False
            )
            tokenizer = WordTokenizer.load(folder / "tokenizer")
            scheduler_config = json.loads(
                (folder / "scheduler" / "scheduler_config.json").read_text()
            )
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsMissingError(str(folder), f"cannot be loaded: {exc}") from exc
        self.pipeline = ShapesPipeline(
            unet=unet,
            text_encoder=text_encoder,
            decoder=decoder,
            tokenizer=tokenizer,
            scheduler_config=scheduler_config,
            device=device,
        )
        self._weights_sha256: str | None = None

    @property
    def weights_sha256(self) -> str:
        """sha256 over the weight folder's files (computed once)."""
        if self._weights_sha256 is None:
            self._weights_sha256 = folder_sha256(self.weights_dir)
        return self._weights_sha256

    def unknown_words(self, prompt: str) -> tuple[str, ...]:
        """The words of ``prompt`` that the model cannot read (they are ignored)."""
        return self.pipeline.tokenizer(prompt).unknown_words

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
        """One image for ``prompt``; sizes are multiples of 16 (the model was trained at 64)."""
        request = check_request(
            prompt,
            seed=seed,
            steps=self.default_steps if steps is None else steps,
            width=NATIVE_SIZE if width is None else width,
            height=NATIVE_SIZE if height is None else height,
            guidance_scale=self.default_guidance_scale
            if guidance_scale is None
            else guidance_scale,
            size_multiple=LATENT_FACTOR * PATCH * 4,  # two 2x downsamplings in the UNet
            min_size=32,
            max_size=256,
            max_steps=200,
        )
        started = time.perf_counter()
        output = self.pipeline(
            [request.prompt],
            seeds=[request.seed],
            steps=request.steps,
            guidance_scale=request.guidance_scale,
            width=request.width,
            height=request.height,
            callback=callback,
        )
        return GenerationResult(
            image=output.images[0],
            generator=self.name,
            model_id=self.model_id,
            weights_sha256=self.weights_sha256,
            scheduler=self.scheduler_name,
            steps=request.steps,
            seed=request.seed,
            guidance_scale=request.guidance_scale,
            width=request.width,
            height=request.height,
            prompt=request.prompt,
            elapsed_s=time.perf_counter() - started,
            unknown_words=output.unknown_words,
        )
