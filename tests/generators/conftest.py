"""Fixtures for the generator tests: the committed bundled model and a tiny diffusers checkpoint.

The tiny checkpoint is a randomly initialised Stable Diffusion pipeline (UNet, VAE, CLIP text
encoder and a word-level CLIP tokenizer, all a few thousand parameters) built from a fixed seed
and written with ``save_pretrained``: it exercises the real loading path in a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch):
    """Each test sees settings built from its own environment."""
    for name in (
        "AIGC_GENERATOR",
        "AIGC_CHECKPOINT_DIR",
        "AIGC_GENERATOR_DEVICE",
        "AIGC_GENERATOR_DTYPE",
        "AIGC_TORCH_THREADS",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def bundled():
    from generators import get_generator

    return get_generator("bundled")


def _tiny_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    words = ["a", "red", "blue", "circle", "square", "on", "background"]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for word in words:
        vocab[f"{word}</w>"] = len(vocab)
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(f"{ch}</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        vocab_file=str(folder / "vocab.json"),
        merges_file=str(folder / "merges.txt"),
        model_max_length=16,
    )
    return tokenizer, len(vocab)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random StableDiffusionPipeline saved to disk (32x32 native size)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    root = tmp_path_factory.mktemp("tiny-sd")
    tokenizer, vocab_size = _tiny_tokenizer(root)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=16,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=32,
        sample_size=32,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(clip_sample=False),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder = root / "tiny-sd"
    pipe.save_pretrained(folder)
    return folder
