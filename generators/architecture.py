"""Shapes and hyper-parameters of the bundled model, shared by the training script and the loader.

The model is a latent diffusion model made of diffusers components, sized for a 2-core CPU. Its
latent is the image itself averaged over 2x2 blocks (a 32x32 RGB thumbnail; see
:mod:`generators.decoder`, whose small learned decoder restores the 64x64 image). For the UNet
the latent is further folded losslessly into a 16x16x12 tensor (``pixel_unshuffle`` by 2), so
the UNet works on a 16x16 grid.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel

from generators.text_encoder import TinyTextEncoder

__all__ = [
    "LATENT_FACTOR",
    "NATIVE_SIZE",
    "PATCH",
    "build_text_encoder",
    "build_train_scheduler",
    "build_unet",
    "fold",
    "sampling_scheduler",
    "unfold",
]

NATIVE_SIZE = 64
PATCH = 2
LATENT_FACTOR = 2
TEXT_HIDDEN = 64
SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "v_prediction",
    "clip_sample": False,
}


def build_unet() -> UNet2DConditionModel:
    """The UNet: convolutions at 16x16 and 8x8, cross-attention on the caption at 4x4 and below."""
    return UNet2DConditionModel(  # type: ignore[no-untyped-call]
        sample_size=NATIVE_SIZE // (LATENT_FACTOR * PATCH),
        in_channels=3 * PATCH * PATCH,
        out_channels=3 * PATCH * PATCH,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        block_out_channels=(48, 96, 128),
        layers_per_block=1,
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=32,
        norm_num_groups=16,
        only_cross_attention=True,
        mid_block_only_cross_attention=True,
        class_embed_type="projection",
        projection_class_embeddings_input_dim=TEXT_HIDDEN,
    )


def build_text_encoder(vocab_size: int, max_length: int) -> TinyTextEncoder:
    return cast(
        TinyTextEncoder,
        TinyTextEncoder(
            vocab_size=vocab_size, max_length=max_length, hidden_size=TEXT_HIDDEN, num_layers=2
        ),
    )


def build_train_scheduler() -> DDPMScheduler:
    return DDPMScheduler(**SCHEDULER_CONFIG)  # type: ignore[no-untyped-call]


def sampling_scheduler(config: dict[str, Any]) -> Any:
    """DPM-Solver++ (2nd order, deterministic) over the training noise schedule."""
    return DPMSolverMultistepScheduler.from_config(  # type: ignore[no-untyped-call]
        config, algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="trailing"
    )


def fold(latent: torch.Tensor) -> torch.Tensor:
    """``[B, 3, h, w]`` latents -> ``[B, 12, h/2, w/2]`` UNet space."""
    return F.pixel_unshuffle(latent, PATCH)


def unfold(sample: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`fold`."""
    return F.pixel_shuffle(sample, PATCH)
