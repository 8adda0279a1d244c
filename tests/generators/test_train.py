"""The training script: a few steps write a loadable, reproducible weights folder."""

from __future__ import annotations

import pytest

from generators._hashing import folder_sha256
from generators.bundled import BundledGenerator
from generators.train import main

ARGS = ["--steps", "2", "--decoder-steps", "2", "--batch-size", "2", "--save-every", "1"]


def test_two_runs_with_one_seed_give_the_same_weights(tmp_path):
    import torch

    threads = torch.get_num_threads()
    try:
        main([*ARGS, "--out", str(tmp_path / "a")])
        main([*ARGS, "--out", str(tmp_path / "b")])
        main([*ARGS, "--seed", "1", "--out", str(tmp_path / "c")])
    finally:
        torch.set_num_threads(threads)
    assert folder_sha256(tmp_path / "a") == folder_sha256(tmp_path / "b")
    assert folder_sha256(tmp_path / "a") != folder_sha256(tmp_path / "c")
    generator = BundledGenerator(tmp_path / "a")
    assert generator.model_id == "bundled:a"
    assert generator.generate("a red circle", seed=1, steps=2).image.size == (64, 64)


@pytest.mark.parametrize(
    "bad", [["--steps", "0"], ["--steps", "5", "--stop-after", "6"], ["--threads", "0"]]
)
def test_bad_arguments_exit_with_a_message(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*bad, "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "must be" in capsys.readouterr().err
