"""The diffusers checkpoint loader, on a tiny random Stable Diffusion pipeline saved to disk."""

from __future__ import annotations

import json
import shutil

import pytest

from generators import (
    CheckpointNotFoundError,
    GenerationResult,
    InvalidGenerationArgumentError,
    NotAPipelineError,
    get_generator,
)
from generators.diffusers_checkpoint import DiffusersGenerator

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return DiffusersGenerator(tiny_checkpoint, device="cpu", dtype="float32", default_steps=2)


def test_loads_back_and_generates(tiny, tiny_checkpoint):
    result = tiny.generate("a red circle on a blue background", seed=3)
    assert isinstance(result, GenerationResult)
    assert result.image.size == (32, 32)
    assert result.image.mode == "RGB"
    assert result.generator == "diffusers"
    assert result.model_id == f"diffusers:{tiny_checkpoint.name}"
    assert result.scheduler == "DDIMScheduler"
    assert len(result.weights_sha256) == 64
    assert result.steps == 2


def test_same_seed_same_pixels_other_seed_other_pixels(tiny):
    a = tiny.generate("a red circle", seed=11, width=32, height=32)
    b = tiny.generate("a red circle", seed=11, width=32, height=32)
    c = tiny.generate("a red circle", seed=12, width=32, height=32)
    assert a.image_sha256 == b.image_sha256
    assert a.image_sha256 != c.image_sha256


def test_progress_callback_sees_every_step(tiny):
    seen = []
    tiny.generate(
        "a blue square", seed=1, steps=3, callback=lambda done, total: seen.append((done, total))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_bad_size_is_named(tiny):
    with pytest.raises(InvalidGenerationArgumentError, match="width"):
        tiny.generate("a red circle", seed=1, width=33)


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="not found"):
        DiffusersGenerator(tmp_path / "nope")


def test_folder_without_model_index(tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(NotAPipelineError, match=r"model_index\.json"):
        DiffusersGenerator(tmp_path)


def test_folder_with_broken_components(tmp_path, tiny_checkpoint):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    shutil.rmtree(broken / "unet")
    with pytest.raises(NotAPipelineError):
        DiffusersGenerator(broken)


def test_pipeline_that_is_not_text_to_image(tmp_path):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    unet = UNet2DModel(
        sample_size=8,
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 32),
        down_block_types=("DownBlock2D",) * 2,
        up_block_types=("UpBlock2D",) * 2,
        layers_per_block=1,
        norm_num_groups=32,
    )
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(tmp_path / "ddpm")
    with pytest.raises(NotAPipelineError, match="not text-to-image"):
        DiffusersGenerator(tmp_path / "ddpm")


def test_garbage_model_index(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "NoSuchPipeline"}))
    with pytest.raises(NotAPipelineError):
        DiffusersGenerator(tmp_path)


@pytest.mark.parametrize(("device", "reason"), [("tpu", "cpu, cuda"), ("banana", "cpu, cuda")])
def test_unknown_device(tiny_checkpoint, device, reason):
    with pytest.raises(InvalidGenerationArgumentError, match="device"):
        DiffusersGenerator(tiny_checkpoint, device=device)


def test_unavailable_cuda_is_reported(tiny_checkpoint):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidGenerationArgumentError, match="CUDA is not available"):
        DiffusersGenerator(tiny_checkpoint, device="cuda")


def test_bad_dtype(tiny_checkpoint):
    with pytest.raises(InvalidGenerationArgumentError, match="dtype"):
        DiffusersGenerator(tiny_checkpoint, dtype="int8")


def test_bfloat16_load(tiny_checkpoint):
    gen = DiffusersGenerator(tiny_checkpoint, dtype="bfloat16", default_steps=1)
    assert gen.pipeline.unet.dtype.__str__() == "torch.bfloat16"
    assert gen.generate("a red circle", seed=1).image.size == (32, 32)


def test_selected_by_configuration(monkeypatch, tiny_checkpoint):
    from generators import get_settings

    monkeypatch.setenv("AIGC_GENERATOR", "diffusers")
    monkeypatch.setenv("AIGC_CHECKPOINT_DIR", str(tiny_checkpoint))
    get_settings.cache_clear()
    gen = get_generator()
    assert isinstance(gen, DiffusersGenerator)
    assert gen.path == tiny_checkpoint


def test_diffusers_without_a_folder_is_named():
    with pytest.raises(InvalidGenerationArgumentError, match="path"):
        get_generator("diffusers")
