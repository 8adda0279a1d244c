"""The verdict benchmark (issue 11): corpus cache, issue-11 edits, false matches, recall, CLI.

No Debian package is needed: images are procedural or scikit-image's sample photographs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps
from typer.testing import CliRunner

from aigc_cli.main import app
from aigc_lab.provenance._procedural import procedural_image
from aigc_lab.provenance.corpus_v2 import (
    CorpusImage,
    build_corpus_v2,
    load_corpus,
    merge_same_pictures,
    prepare_image,
    regroup_corpus,
    same_picture,
)
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_by_name, edit_rng
from aigc_lab.provenance.verdict_bench import (
    CompactOnlyRule,
    compact_sweep,
    compact_words,
    load_rule,
    measure_false_matches,
    measure_recall,
    upper_bound_95,
)
from aigc_lab.provenance.verdict_bench import _min_distance as min_distance
from services.provenance import CorpusError, Fingerprint, fingerprint
from services.provenance.detail import detail_descriptor

runner = CliRunner()


def _item(image: Image.Image, group: str, name: str) -> CorpusImage:
    return CorpusImage(image=image, group=group, source="procedural", path=name)


@pytest.fixture(scope="module")
def originals() -> list[CorpusImage]:
    return [_item(procedural_image(seed), f"g{seed}", f"p{seed}.png") for seed in (3, 4, 5)]


@dataclass
class CountingRule:
    """The compact rule with a detail stage that records its calls and answers ``answer``."""

    threshold: int = 15
    answer: bool = True
    described: list[int] = field(default_factory=list)

    def compact(self, image: Image.Image) -> Fingerprint:
        return fingerprint(image)

    def detail(self, image: Image.Image) -> bytes:
        self.described.append(id(image))
        return b"d"

    def detail_matches(self, a: bytes, b: bytes) -> bool:
        return self.answer


def test_vectorised_distance_is_the_rules_distance() -> None:
    rng = np.random.default_rng(1)
    fps = [Fingerprint(tuple(int(w) for w in rng.integers(0, 2**63, 4))) for _ in range(30)]
    words = compact_words(fps)
    got = min_distance(words, words)
    want = np.array([[a.distance(b) for b in fps] for a in fps])
    assert np.array_equal(got, want)


def test_harness_counts_a_known_false_match(originals: list[CorpusImage]) -> None:
    copy = _item(ImageOps.mirror(originals[0].image), "other", "copy.png")
    report = measure_false_matches(CompactOnlyRule(), [*originals, copy])
    assert report.pairs == 6
    assert report.false_matches == 1
    assert report.rate == pytest.approx(1 / 6)
    assert (report.worst[0].a, report.worst[0].b) == ("p3.png", "copy.png")
    assert report.worst[0].distance == 0
    assert report.by_source == {"procedural-procedural": (1, 6)}
    assert sum(report.distance_histogram) == 6


def test_pairs_inside_a_group_are_not_counted(originals: list[CorpusImage]) -> None:
    copy = _item(ImageOps.mirror(originals[0].image), originals[0].group, "copy.png")
    report = measure_false_matches(CompactOnlyRule(), [*originals, copy])
    assert report.pairs == 5
    assert report.false_matches == 0
    assert report.upper_95 == pytest.approx(upper_bound_95(0, 5))
    assert upper_bound_95(0, 10**7) == pytest.approx(3e-7, rel=0.01)


def test_detail_stage_runs_only_on_pairs_the_compact_stage_admits(
    originals: list[CorpusImage],
) -> None:
    copy = _item(ImageOps.mirror(originals[0].image), "other", "copy.png")
    rule = CountingRule(answer=False)
    report = measure_false_matches(rule, [*originals, copy])
    assert report.compact_admitted == 1
    assert report.false_matches == 0
    assert sorted(rule.described) == sorted([id(originals[0].image), id(copy.image)])


def test_degenerate_originals_are_left_out(originals: list[CorpusImage]) -> None:
    flat = _item(Image.new("RGB", (100, 100), "white"), "flat", "flat.png")
    report = measure_false_matches(CompactOnlyRule(), [*originals, flat])
    assert report.refused == ["flat.png"]
    assert report.pairs == 3
    with pytest.raises(CorpusError):
        measure_false_matches(CompactOnlyRule(), [originals[0], flat])


def test_recall_per_edit(originals: list[CorpusImage]) -> None:
    everything = measure_recall(CompactOnlyRule(threshold=64), originals, sample=2)
    assert everything.sample == 2
    assert set(everything.recall) == {e.name for e in ISSUE11_EDITS}
    assert everything.mean == 1.0
    nothing = measure_recall(CountingRule(answer=False), originals, sample=2)
    assert nothing.minimum == 0.0
    assert len(nothing.misses["jpeg30"]) == 2


def test_compact_sweep_reads_rates_off_the_histogram(originals: list[CorpusImage]) -> None:
    copy = _item(ImageOps.mirror(originals[0].image), "other", "copy.png")
    rule = CompactOnlyRule()
    pairs = measure_false_matches(rule, [*originals, copy])
    recall = measure_recall(rule, originals, sample=2)
    (t0, fmr0, _, _), (t64, fmr64, mean64, min64) = compact_sweep(pairs, recall, [0, 64])
    assert (t0, fmr0) == (0, pytest.approx(1 / 6))
    assert (t64, fmr64, mean64, min64) == (64, 1.0, 1.0, 1.0)
    assert len(recall.compact_distances["mirror"]) == 2


def test_issue11_edits_have_the_right_sizes_and_orientations() -> None:
    image = procedural_image(7).resize((200, 120))
    sizes = {}
    for edit in ISSUE11_EDITS:
        out = edit.apply(image, edit_rng(1, "x", edit.name))
        assert isinstance(out, Image.Image)
        sizes[edit.name] = out.size
    assert len(ISSUE11_EDITS) == 17 and len(sizes) == 17
    assert sizes["downscale4"] == (50, 30)
    assert sizes["crop5"] == (180, 108)
    assert sizes["crop12"] == (152, 92)
    assert sizes["crop_side"] in {(180, 120), (200, 108)}
    assert sizes["rotate90"] == (120, 200)
    assert sizes["mirror+crop5"] == (180, 108)
    unchanged = set(sizes) - {"downscale4", "crop5", "crop12", "crop_side", "rotate90"}
    assert all(sizes[name] == (200, 120) for name in unchanged - {"mirror+crop5"})
    rgb = image.convert("RGB")
    rotated = edit_by_name("rotate90").apply(rgb, edit_rng(1, "x", "rotate90"))
    assert rotated.getpixel((0, 199)) == rgb.getpixel((0, 0))
    assert edit_by_name("flip").apply(rgb, edit_rng(1, "x", "flip")).getpixel((0, 0)) == (
        rgb.getpixel((0, 119))
    )
    mirrored = edit_by_name("mirror").apply(rgb, edit_rng(1, "x", "mirror"))
    assert mirrored.getpixel((0, 0)) == rgb.getpixel((199, 0))
    grey = np.asarray(edit_by_name("greyscale").apply(rgb, edit_rng(1, "x", "greyscale")))
    assert np.array_equal(grey[..., 0], grey[..., 2])


def test_prepare_image_drops_tiny_and_flat_and_upscales_icons() -> None:
    assert prepare_image(Image.new("RGB", (20, 200), "red")) == "tiny"
    assert prepare_image(Image.new("RGB", (300, 50), "red")) == "stretched"
    assert prepare_image(Image.new("RGB", (100, 100), "white")) == "degenerate"
    icon = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
    icon.paste((200, 30, 30, 255), (8, 8, 40, 40))
    icon.paste((20, 30, 200, 255), (16, 16, 30, 30))
    prepared = prepare_image(icon)
    assert isinstance(prepared, Image.Image)
    assert prepared.size == (128, 128) and prepared.mode == "RGB"
    assert prepared.getpixel((0, 0)) == (255, 255, 255)
    big = prepare_image(procedural_image(8).resize((600, 400)))
    assert isinstance(big, Image.Image) and big.size == (256, 171)


def _thumb(image: Image.Image) -> np.ndarray:
    return np.asarray(
        image.convert("RGB").resize((32, 32), Image.Resampling.BOX), np.float32
    ).ravel()


def test_same_picture_merges_copies_but_not_shared_layouts() -> None:
    stripes = Image.new("RGB", (300, 200), "white")
    stripes.paste((200, 20, 30), (0, 0, 300, 67))
    stripes.paste((0, 0, 0), (0, 133, 300, 200))
    emblem = stripes.copy()
    emblem.paste((40, 160, 40), (125, 80, 175, 120))
    resaved = stripes.resize((240, 160))
    assert same_picture(_thumb(stripes), _thumb(resaved))
    assert not same_picture(_thumb(stripes), _thumb(emblem))
    recoloured = Image.fromarray(255 - np.asarray(stripes))
    assert not same_picture(_thumb(stripes), _thumb(recoloured))


def test_a_drawing_and_its_mirror_or_turn_are_one_picture_but_a_layout_twin_is_not() -> None:
    """Issue 11 requires a mirrored or turned copy to match, so the corpus groups a drawing with
    its mirror image (``shadowL`` / ``shadowR``) instead of counting the pair as distinct; the
    same stripes with another emblem stay distinct, turned or not."""
    arrow = Image.new("RGB", (240, 160), "white")
    arrow.paste((30, 30, 200), (20, 60, 160, 100))
    arrow.paste((200, 30, 30), (160, 30, 220, 130))
    other = arrow.copy()
    other.paste((40, 160, 40), (60, 10, 120, 50))
    images = [
        arrow,
        arrow.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        arrow.rotate(90, expand=True),
        other,
    ]
    thumbs = np.stack([_thumb(im) for im in images])
    assert merge_same_pictures(["a", "b", "c", "d"], thumbs) == ["a", "a", "a", "d"]
    assert merge_same_pictures(["a", "b", "c", "d"], thumbs, dihedral=False) == ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    summary = build_corpus_v2(out, sources=("photo",), limit_per_source=2, workers=1)
    assert summary.total_images >= 8
    return out


def test_corpus_cache_round_trip(tiny_corpus: Path) -> None:
    items = load_corpus(tiny_corpus)
    index = json.loads((tiny_corpus / "index.json").read_text())["images"]
    assert len(items) == len(index)
    assert {item.source for item in items} == {"photo"}
    assert all(item.image.mode == "RGB" and min(item.image.size) >= 32 for item in items)
    assert all(item.origin for item in items)
    assert len({item.group for item in items}) == 2  # the crops of one photograph share a group
    assert len(load_corpus(tiny_corpus, limit=3)) == 3
    assert regroup_corpus(tiny_corpus) == 2
    assert all(
        "name_group" in r for r in json.loads((tiny_corpus / "index.json").read_text())["images"]
    )
    with pytest.raises(CorpusError):
        load_corpus(tiny_corpus / "missing")


def test_cli_verdict_on_a_tiny_corpus(tiny_corpus: Path) -> None:
    args = ["bench", "verdict", "--corpus", str(tiny_corpus), "--sample", "2", "--limit", "24"]
    args += ["--rule", "v1"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rule"] == "v1 (compact only)"
    assert payload["false_matches"]["images"] == 24
    assert payload["false_matches"]["pairs"] > 0
    assert set(payload["recall"]["recall"]) == {e.name for e in ISSUE11_EDITS}
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "false-match rate per pair" in table.stdout
    assert "rotate90" in table.stdout


def test_cli_corpus_build_and_bad_rule(tmp_path: Path) -> None:
    out = tmp_path / "c"
    args = ["bench", "corpus", "build", "--out", str(out), "--sources", "photo"]
    result = runner.invoke(app, [*args, "--limit-per-source", "1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (out / "index.json").is_file()
    bad = runner.invoke(app, ["bench", "verdict", "--corpus", str(out), "--rule", "v9"])
    assert bad.exit_code == 1
    with pytest.raises(CorpusError):
        load_rule("v9")


def test_v2_trim_rule_trims_and_v2_does_not() -> None:
    trim, plain = load_rule("v2-trim"), load_rule("v2", threshold=14)
    assert trim.threshold == 15 and plain.threshold == 14
    image = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(image).ellipse((100, 90, 150, 170), fill=(40, 120, 60))
    assert trim.detail(image) == detail_descriptor(image, trim=True)
    assert plain.detail(image) == detail_descriptor(image, trim=False)
    assert trim.detail(image) != plain.detail(image)
