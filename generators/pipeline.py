"""The bundled text-to-image pipeline: tokenizer, text encoder, UNet, scheduler and decoder.

Sampling is classifier-free guided DPM-Solver++ in the folded latent space (see
:mod:`generators.architecture`), then the decoder restores the full-size image. The initial
noise comes from a CPU ``torch.Generator`` seeded by the caller, so the same prompt, seed,
steps and weights give the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import UNet2DConditionModel
from PIL import Image

from generators.architecture import LATENT_FACTOR, PATCH, fold, sampling_scheduler, unfold
from generators.decoder import LatentDecoder, encode
from generators.text_encoder import TinyTextEncoder
from generators.tokenizer import WordTokenizer

__all__ = ["ShapesOutput", "ShapesPipeline"]

StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ShapesOutput:
    """The generated images and the prompt words the tokenizer could not read."""

    images: list[Image.Image]
    unknown_words: tuple[str, ...]


class ShapesPipeline:
    """Turns prompts into images with the bundled components (all on one device, float32)."""

    def __init__(
        self,
        *,
        unet: UNet2DConditionModel,
        text_encoder: TinyTextEncoder,
        decoder: LatentDecoder,
        tokenizer: WordTokenizer,
        scheduler_config: dict[str, Any],
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.unet: Any = unet.to(self.device).eval()  # type: ignore[attr-defined]
        self.text_encoder: Any = text_encoder.to(self.device).eval()  # type: ignore[arg-type]
        self.decoder: Any = decoder.to(self.device).eval()  # type: ignore[arg-type]
        self.tokenizer = tokenizer
        self.scheduler_config = dict(scheduler_config)

    def encode(
        self, prompts: list[str]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]:
        """Hidden states, attention mask, pooled vectors and unknown words for ``prompts``."""
        tokens = [self.tokenizer(p) for p in prompts]
        ids = torch.tensor([t.ids for t in tokens], device=self.device)
        mask = torch.tensor([t.mask for t in tokens], device=self.device)
        hidden, pooled = self.text_encoder(ids, mask)
        unknown = tuple(dict.fromkeys(w for t in tokens for w in t.unknown_words))
        return hidden, mask, pooled, unknown

    @torch.no_grad()
    def __call__(
        self,
        prompts: list[str],
        *,
        seeds: list[int],
        steps: int,
        guidance_scale: float,
        width: int,
        height: int,
        callback: StepCallback | None = None,
    ) -> ShapesOutput:
        batch = len(prompts)
        hidden, mask, pooled, unknown = self.encode(prompts + [""] * batch)
        grid = LATENT_FACTOR * PATCH
        shape = (3 * PATCH * PATCH, height // grid, width // grid)
        noise = [torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds]
        sample = torch.stack(noise).to(self.device)
        scheduler = sampling_scheduler(self.scheduler_config)
        scheduler.set_timesteps(steps, device=self.device)
        sample = sample * scheduler.init_noise_sigma
        for index, t in enumerate(scheduler.timesteps):
            model_in = scheduler.scale_model_input(torch.cat([sample, sample]), t)
            out = self.unet(
                model_in,
                t,
                encoder_hidden_states=hidden,
                encoder_attention_mask=mask,
                class_labels=pooled,
            ).sample
            cond, uncond = out.chunk(2)
            guided = uncond + guidance_scale * (cond - uncond)
            sample = scheduler.step(guided, t, sample).prev_sample
            if callback is not None:
                callback(index + 1, steps)
        pixels = self.decoder(unfold(sample)).clamp(-1, 1)
        arrays = ((pixels + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return ShapesOutput([Image.fromarray(np.ascontiguousarray(a)) for a in arrays], unknown)

    def training_loss(
        self,
        pixels: torch.Tensor,
        prompts: list[str],
        generator: torch.Generator,
        train_scheduler: Any,
        *,
        bfloat16: bool = False,
        pixel_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Min-SNR-weighted v-prediction loss on a batch (used by :mod:`generators.train`).

        ``bfloat16`` runs the forward pass under CPU autocast (weights stay float32): about
        twice as fast on CPUs with bf16 instructions. ``pixel_weights`` (``[B, 1, H, W]``, full
        resolution) weighs the error where it falls, e.g. more on objects than on background.
        """
        x0 = fold(encode(pixels.to(self.device)))
        noise = torch.randn(x0.shape, generator=generator).to(self.device)
        steps = train_scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (x0.shape[0],), generator=generator).to(self.device)
        noisy = train_scheduler.add_noise(x0, noise, t)
        target = train_scheduler.get_velocity(x0, noise, t)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bfloat16):
            hidden, mask, pooled, _ = self.encode(prompts)
            pred = self.unet(
                noisy,
                t,
                encoder_hidden_states=hidden,
                encoder_attention_mask=mask,
                class_labels=pooled,
            ).sample
        alphas = train_scheduler.alphas_cumprod.to(self.device)[t]
        snr = alphas / (1 - alphas)
        weight = snr.clamp(max=5.0) / (snr + 1)
        error = (pred.float() - target.float()).pow(2)
        if pixel_weights is not None:
            folded = fold(encode(pixel_weights.to(self.device)).repeat(1, 3, 1, 1))
            # fold() orders channels colour-major: channel c*4+k is sub-pixel k of colour c,
            # so folding the weights repeated per colour lines them up with the error.
            error = error * folded / folded.mean(dim=(1, 2, 3), keepdim=True)
        per_sample = error.mean(dim=(1, 2, 3))
        loss: torch.Tensor = (per_sample * weight).mean()
        return loss
