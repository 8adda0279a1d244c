"""The compact-view measuring tool (aigc_lab/provenance/_compact_views.py): swaps views only
inside its block, and measures recall and admission per view set."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

import services.provenance.perceptual as perceptual
from aigc_lab.provenance import _compact_views
from aigc_lab.provenance._compact_views import VIEW_SETS, sample, views
from aigc_lab.provenance._procedural import procedural_image
from aigc_lab.provenance.edits import ISSUE11_EDITS
from services.provenance.errors import CorpusError


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aigc_lab.provenance.corpus_v2 import build_corpus_v2

    out = tmp_path_factory.mktemp("corpus")
    build_corpus_v2(out, sources=("photo",), limit_per_source=2, workers=1)
    return out


def test_base_is_the_deployed_view_set_and_views_are_restored() -> None:
    image = procedural_image(4)
    deployed = perceptual.fingerprint(image)
    assert VIEW_SETS["base"] == perceptual._VIEWS
    with views("lt12"):
        assert VIEW_SETS["lt12"] == perceptual._VIEWS
        other = perceptual.fingerprint(image)
    assert other != deployed and perceptual.fingerprint(image) == deployed
    with pytest.raises(CorpusError, match="unknown view set"), views("nope"):
        pass
    with pytest.raises(RuntimeError), views("l"):
        raise RuntimeError
    assert VIEW_SETS["base"] == perceptual._VIEWS  # restored after an error too


def test_a_one_sided_view_brings_a_one_sided_crop_of_a_symmetric_picture_closer() -> None:
    """What the one-sided views are for: a symmetric picture cropped 10% from one side."""
    half = procedural_image(2).crop((0, 0, 128, 256))
    image = Image.new("RGB", (256, 256))
    image.paste(half, (0, 0))
    image.paste(ImageOps.mirror(half), (128, 0))
    right = image.crop((0, 0, 230, 256))  # 10% off the right
    distances = {}
    for name in ("base", "lt12"):
        with views(name):
            distances[name] = perceptual.fingerprint(image).distance(perceptual.fingerprint(right))
    assert distances["lt12"] < distances["base"], distances


def test_sample_reports_recall_per_edit_and_admission(tiny_corpus: Path) -> None:
    result = sample(tiny_corpus, ["base", "lt12"], originals=2, subset=8)
    assert set(result) == {"base", "lt12"}
    for row in result.values():
        assert set(row["recall"]) == {e.name for e in ISSUE11_EDITS}
        assert all(0.0 <= r <= 1.0 for r in row["recall"].values())
        assert row["pairs"] > 0 and list(row["admitted"]) == list(range(12, 18))
        counts = list(row["admitted"].values())
        assert counts == sorted(counts)  # a higher threshold admits a superset


def test_cli_refuses_an_unknown_view_set(tiny_corpus: Path, capsys) -> None:
    args = ["sample", "--corpus", str(tiny_corpus), "--views", "nope", "--originals", "1"]
    assert _compact_views.main(args) == 2
    assert "unknown view set" in capsys.readouterr().err
