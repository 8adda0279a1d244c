"""The bundled model's text encoder: word embeddings and a small transformer, trained from scratch.

It returns per-token hidden states (for the UNet's cross-attention) and a pooled vector (mean
over real tokens, fed to the UNet's class-embedding projection so that the whole caption also
conditions every resolution globally).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

__all__ = ["TinyTextEncoder"]


class TinyTextEncoder(ModelMixin, ConfigMixin):  # type: ignore[misc]
    """Embedding + learned positions + ``num_layers`` pre-norm transformer layers + layer norm."""

    @register_to_config  # type: ignore[untyped-decorator]
    def __init__(
        self,
        vocab_size: int = 64,
        max_length: int = 32,
        hidden_size: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token_embedding = nn.Embedding(vocab_size, hidden_size)
        self.position_embedding = nn.Parameter(torch.zeros(max_length, hidden_size))
        layer = nn.TransformerEncoderLayer(
            hidden_size,
            num_heads,
            dim_feedforward=hidden_size * 2,
            dropout=0.0,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(hidden_size)
        nn.init.normal_(self.position_embedding, std=0.02)
        nn.init.normal_(self.token_embedding.weight, std=0.02)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden states ``[B, L, H]``, pooled ``[B, H]``) for ids and mask of shape ``[B, L]``."""
        length = input_ids.shape[1]
        hidden = self.token_embedding(input_ids) + self.position_embedding[:length]
        hidden = self.encoder(hidden, src_key_padding_mask=attention_mask == 0)
        hidden = self.final_norm(hidden)
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return hidden, pooled
