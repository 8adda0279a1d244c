"""The bundled model's decoder: turns a 32x32 latent (the image, box-averaged 2x2) into 64x64.

The encoder side is fixed (a 2x2 average), so the latent is an exact, human-readable thumbnail
of the image; only the way back, restoring sharp edges and thin points (a star's tips), is
learned. It is a small residual convolutional network trained by regression on rendered scenes
(:mod:`generators.train`, stage 1) and frozen while the diffusion model learns the latents.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

__all__ = ["LatentDecoder", "encode"]

FACTOR = 2


def encode(pixels: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` pixels in [-1, 1] -> ``[B, 3, H/2, W/2]`` latents (2x2 average)."""
    return F.avg_pool2d(pixels, FACTOR)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.conv2(F.silu(self.conv1(F.silu(x))))
        return out


class LatentDecoder(ModelMixin, ConfigMixin):  # type: ignore[misc]
    """Convolutions at latent resolution, then a pixel shuffle up by 2, plus an upsampled skip."""

    @register_to_config  # type: ignore[untyped-decorator]
    def __init__(self, channels: int = 32, num_blocks: int = 2) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.conv_in = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_Residual(channels) for _ in range(num_blocks)])
        self.conv_out = nn.Conv2d(channels, 3 * FACTOR * FACTOR, 3, padding=1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``[B, 3, h, w]`` latents -> ``[B, 3, 2h, 2w]`` pixels (not clamped)."""
        hidden = self.blocks(self.conv_in(latent))
        detail = F.pixel_shuffle(self.conv_out(F.silu(hidden)), FACTOR)
        out: torch.Tensor = F.interpolate(latent, scale_factor=FACTOR, mode="nearest") + detail
        return out
