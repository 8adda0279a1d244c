"""Stage 3 (the committee comparison): copies under issue 11's edits match, look-alikes do not."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aigc_lab.provenance._procedural import procedural_image
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from aigc_lab.provenance.verdict_bench import (
    Stage3Rule,
    load_rule,
    measure_false_matches,
    measure_recall,
)
from services.provenance import DegenerateImageError
from services.provenance.stage3 import (
    AREA_MAX,
    SHARE_MIN,
    Stage3Score,
    stage3_features,
    stage3_matches,
    stage3_score,
)


def _flag(colours: tuple[tuple[int, int, int], ...], vertical: bool = False) -> Image.Image:
    """Equal stripes (a tricolour), 240 x 160."""
    image = Image.new("RGB", (240, 160))
    draw = ImageDraw.Draw(image)
    n = len(colours)
    for k, colour in enumerate(colours):
        if vertical:
            draw.rectangle((k * 240 // n, 0, (k + 1) * 240 // n, 160), fill=colour)
        else:
            draw.rectangle((0, k * 160 // n, 240, (k + 1) * 160 // n), fill=colour)
    return image


def _semaphore(left: float, right: float) -> Image.Image:
    """A signaller on white: head, body and two arms at ``left`` / ``right`` degrees from
    straight down, each holding a red-and-yellow flag (the semaphore_* clip-art template)."""
    image = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((86, 30, 114, 58), fill=(230, 190, 150), outline="black", width=2)
    draw.rectangle((84, 60, 116, 130), fill=(40, 60, 160), outline="black", width=2)
    draw.line((90, 130, 86, 180), fill="black", width=8)
    draw.line((110, 130, 114, 180), fill="black", width=8)
    for (sx, sy), degrees, side in (((86, 66), left, -1), ((114, 66), right, 1)):
        t = math.radians(degrees)
        ex, ey = sx + side * 60 * math.sin(t), sy + 60 * math.cos(t)
        draw.line((sx, sy, ex, ey), fill="black", width=7)
        fx, fy = ex + side * 14 * math.sin(t), ey + 14 * math.cos(t)
        draw.polygon([(ex, ey), (fx, fy), (fx + 16, fy - 12), (ex + 16, ey - 12)],
                     fill=(220, 30, 30))  # fmt: skip
        draw.polygon([(ex, ey), (fx + 16, fy - 12), (ex + 16, ey - 12)], fill=(250, 220, 40))
    return image


def _page(emblem: str) -> Image.Image:
    """A document icon (page, folded corner, text lines) with an emblem in its middle."""
    image = Image.new("RGB", (192, 192), "white")
    draw = ImageDraw.Draw(image)
    draw.polygon([(40, 16), (128, 16), (152, 40), (152, 176), (40, 176)], fill=(245, 245, 245),
                 outline=(90, 90, 90))  # fmt: skip
    draw.polygon([(128, 16), (128, 40), (152, 40)], fill=(200, 200, 200), outline=(90, 90, 90))
    for y in range(52, 80, 8):
        draw.line((52, y, 140, y), fill=(150, 150, 150), width=2)
    box = (66, 92, 126, 152)
    if emblem == "disc":
        draw.ellipse(box, fill=(200, 40, 40))
    elif emblem == "triangle":
        draw.polygon([(96, 92), (126, 152), (66, 152)], fill=(40, 140, 40))
    elif emblem == "gear":
        draw.ellipse(box, outline=(40, 40, 160), width=10)
        draw.rectangle((90, 86, 102, 158), fill=(40, 40, 160))
        draw.rectangle((60, 116, 132, 128), fill=(40, 40, 160))
    return image


@pytest.fixture(scope="module")
def originals() -> dict[str, Image.Image]:
    from skimage import data

    return {
        "astronaut": Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.BOX),
        "coffee": Image.fromarray(data.coffee()).resize((240, 160), Image.Resampling.BOX),
        "procedural": procedural_image(3),
        "page": _page("disc"),
        "semaphore": _semaphore(40, 130),
        "flag": _flag(((255, 255, 255), (0, 57, 166), (213, 43, 30))),
    }


@pytest.mark.parametrize("edit", ISSUE11_EDITS, ids=lambda e: e.name)
def test_every_issue11_edit_of_the_test_images_matches(
    originals: dict[str, Image.Image], edit
) -> None:
    for name, image in originals.items():
        copy = edit.apply(image, edit_rng(11, name, edit.name))
        score = stage3_score(image, copy)
        assert score.matches, (name, edit.name, score)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # one tricolour layout in other colours (Russia / Armenia, Russia / Bulgaria)
        (_flag(((255, 255, 255), (0, 57, 166), (213, 43, 30))),
         _flag(((217, 0, 18), (0, 51, 160), (242, 168, 0)))),
        (_flag(((255, 255, 255), (0, 57, 166), (213, 43, 30))),
         _flag(((255, 255, 255), (0, 150, 110), (214, 38, 18)))),
        # France / Italy: vertical stripes, one colour differs
        (_flag(((0, 35, 149), (255, 255, 255), (237, 41, 57)), vertical=True),
         _flag(((0, 146, 70), (255, 255, 255), (206, 43, 55)), vertical=True)),
        # semaphore poses of one signaller
        (_semaphore(40, 130), _semaphore(90, 90)),
        (_semaphore(0, 135), _semaphore(45, 135)),
        # one page template, another emblem
        (_page("disc"), _page("triangle")),
        (_page("disc"), _page("gear")),
        (_page("triangle"), _page("gear")),
    ],
    ids=["flag-ru-am", "flag-ru-bg", "flag-fr-it", "semaphore-t",
         "semaphore-arm", "page-disc-triangle", "page-disc-gear", "page-triangle-gear"],
)  # fmt: skip
def test_look_alikes_on_one_template_do_not_match(a: Image.Image, b: Image.Image) -> None:
    assert not stage3_score(a, b).matches, stage3_score(a, b)
    assert not stage3_matches(b, a)


def test_distinct_pictures_score_far_below_the_thresholds(
    originals: dict[str, Image.Image],
) -> None:
    names = list(originals)
    for x in names:
        for y in names:
            if x != y:
                score = stage3_score(originals[x], originals[y])
                assert score.share < SHARE_MIN - 2000 or score.area > AREA_MAX + 2000, (x, y)


def test_features_are_deterministic_and_reusable(originals: dict[str, Image.Image]) -> None:
    image = originals["astronaut"]
    fa, fb = stage3_features(image), stage3_features(image.copy())
    assert fa.regions is not None and fb.regions is not None
    assert np.array_equal(fa.regions, fb.regions) and np.array_equal(fa.turned, fb.turned)
    copy = ISSUE11_EDITS[0].apply(image, edit_rng(11, "x", "jpeg30"))
    assert stage3_score(fa, copy) == stage3_score(image, copy)
    same = stage3_score(image, image)
    assert replace(same, detail=0) == Stage3Score(10_000, 0, True, 0, 0, 1000)
    assert same.detail >= 9_990


def test_later_only_features_cannot_play_the_earlier_role(
    originals: dict[str, Image.Image],
) -> None:
    later = stage3_features(originals["coffee"], earlier=False)
    with pytest.raises(ValueError, match="earlier=False"):
        stage3_score(later, originals["coffee"])


def test_tiny_images_and_wrong_types_are_refused() -> None:
    with pytest.raises(DegenerateImageError):
        stage3_features(Image.new("RGB", (4, 40), "red"))
    with pytest.raises(TypeError):
        stage3_features(np.zeros((64, 64)))  # type: ignore[arg-type]


def test_an_inverted_copy_is_not_a_copy(originals: dict[str, Image.Image]) -> None:
    """The tone model cannot flip the grey scale (alpha is one of 0.6 ... 1.5)."""
    from PIL import ImageOps

    image = originals["procedural"]
    assert not stage3_matches(image, ImageOps.invert(image.convert("RGB")))


def _saturated_gradients() -> Image.Image:
    """Smooth gradients of strong colours, red running past 255 (clipped) over a third of the
    canvas: the picture where brightening clips each R, G, B channel on its own."""
    x = np.linspace(0.0, 1.0, 200)[None, :]
    y = np.linspace(0.0, 1.0, 160)[:, None]
    red = 255 * (0.6 + 0.6 * np.sin(6 * x)) + 0 * y
    green = 255 * (0.4 + 0.5 * np.sin(5 * y + 2)) + 0 * x
    blue = 255 * (0.3 + 0.4 * np.cos(7 * x * y))
    planes = np.stack([red, green, blue], axis=2)
    return Image.fromarray(np.clip(planes, 0, 255).astype(np.uint8))


def test_a_brightened_saturated_picture_matches_through_the_rgb_tone_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pillow's brightness edit clips each channel: a red at 255 gains luma only through green
    and blue, which no luma model ``clip(alpha * Y + beta)`` follows; the R, G, B model does."""
    from PIL import ImageEnhance

    from services.provenance import stage3

    image = _saturated_gradients()
    copy = ImageEnhance.Brightness(image).enhance(1.3)
    assert not stage3.TONE_RGB  # measured, not deployed (docs/provenance.md)
    assert not stage3_score(image, copy).matches  # the luma model alone misses it
    monkeypatch.setattr(stage3, "TONE_RGB", True)
    assert stage3_score(image, copy).matches


def test_the_rgb_tone_model_does_not_turn_one_colouring_into_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The R, G, B model is one gain and offset shared by the three channels: a recoloured
    flag (another hue, same layout) is still no copy, brightened or not."""
    from PIL import ImageEnhance

    from services.provenance import stage3

    monkeypatch.setattr(stage3, "TONE_RGB", True)

    russia = _flag(((255, 255, 255), (0, 57, 166), (213, 43, 30)))
    armenia = _flag(((217, 0, 18), (0, 51, 160), (242, 168, 0)))
    for factor in (1.0, 1.3):
        assert not stage3_matches(russia, ImageEnhance.Brightness(armenia).enhance(factor))


# ---------------------------------------------------------------------------------------------
# The verdict bench's third stage (rule v2-stage3) and the stage-3 cache


class _AdmitAll(Stage3Rule):
    """Stages 1-2 uphold every pair (so stage 3 alone decides what is counted)."""

    def detail(self, image: Image.Image) -> bytes:
        return b"x"

    def detail_matches(self, a: bytes, b: bytes) -> bool:
        return True


def test_stage3_rule_removes_look_alikes_that_stages_1_and_2_uphold() -> None:
    from aigc_lab.provenance.corpus_v2 import CorpusImage

    images = [
        CorpusImage(_page("disc"), "g1", "clipart", "p1.png"),
        CorpusImage(_page("triangle"), "g2", "clipart", "p2.png"),
        CorpusImage(_page("gear"), "g3", "icon", "p3.png"),
        CorpusImage(_flag(((255, 255, 255), (0, 57, 166), (213, 43, 30))), "g4", "icon", "f.png"),
        # a copy under another name and group: a true duplicate the corpus failed to group
        CorpusImage(_page("disc").rotate(3, Image.Resampling.BICUBIC), "g5", "icon", "p4.png"),
    ]
    rule = _AdmitAll(64)
    report = measure_false_matches(rule, images, keep_upheld=True)
    assert report.pairs == report.compact_admitted == report.detail_upheld == 10
    assert report.false_matches == 1  # only the rotated copy of p1
    assert {report.worst[0].a, report.worst[0].b} == {"p1.png", "p4.png"}
    assert len(report.upheld) == 10
    recall = measure_recall(rule, images, sample=2, seed=3)
    assert recall.detail_recall == dict.fromkeys(recall.recall, 1.0)
    assert recall.mean >= 0.95 and sum(recall.tried.values()) == 2 * len(ISSUE11_EDITS)


def test_stage3_rule_reuses_the_earlier_image_features() -> None:
    rule = load_rule("v2-stage3")
    assert isinstance(rule, Stage3Rule) and rule.threshold == 15
    a = _page("disc")
    assert rule.final_matches(a, _page("disc").rotate(90, expand=True))
    assert not rule.final_matches(a, _page("triangle"))
    assert len(rule._features) == 1  # one earlier image, kept once
    assert not rule.final_matches(Image.new("RGB", (4, 4)), a)  # too small: never a match


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aigc_lab.provenance.corpus_v2 import build_corpus_v2

    out = tmp_path_factory.mktemp("corpus")
    build_corpus_v2(out, sources=("photo",), limit_per_source=2, workers=1)
    return out


def test_cli_verdict_rule_v2_stage3(tiny_corpus: Path) -> None:
    from typer.testing import CliRunner

    from aigc_cli.main import app

    args = ["bench", "verdict", "--corpus", str(tiny_corpus), "--sample", "2", "--limit", "12"]
    result = CliRunner().invoke(app, [*args, "--rule", "v2-stage3", "--threshold", "40"])
    assert result.exit_code == 0, result.output
    assert "upheld by stages 1-2" in result.stdout and "stages 1-2" in result.stdout
    payload = CliRunner().invoke(app, [*args, "--rule", "v2-stage3", "--json"])
    assert json.loads(payload.stdout)["rule"] == "v2 + stage 3 (committee comparison)"
    # with no --rule the benchmark measures the deployed verdict, not the wave-1 compact rule
    default = CliRunner().invoke(app, [*args, "--json"])
    assert default.exit_code == 0, default.output
    assert json.loads(default.stdout)["rule"] == "v2 + stage 3 (committee comparison)"


def test_stage3_cache_build_score_report_show(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    from aigc_lab.provenance import _stage3_cache as cache

    path = tmp_path / "s3.json"
    args = ["--cache", str(path)]
    assert cache.main(["build", "--corpus", str(tiny_corpus), "--sample", "2",
                       "--threshold", "64", *args]) == 0  # fmt: skip
    document = json.loads(path.read_text())
    assert document["distinct_pairs"] > 0 and sum(document["tried"].values()) > 0
    assert cache.main(["score", *args, "--tag", "t", "--set", "LUMA_TOL=24"]) == 0
    out = capsys.readouterr().out
    assert "two stages:" in out and "share" in out
    rows = cache.report(path, path.with_suffix(".t.npz"), shares=(9000,), areas=(1200,))
    assert rows[0]["false_matches"] <= len(document["upheld_pairs"])
    assert cache.main(["show", *args, "--tag", "t"]) == 0
    assert cache.main(["score", *args, "--set", "NO_SUCH=1"]) == 2
    assert cache.main(["report", "--cache", str(tmp_path / "none.json")]) == 2


def _dark(seed: int) -> Image.Image:
    """A procedural picture squeezed into luma 25-55: a dark, low-contrast image."""
    grey = np.asarray(procedural_image(seed).convert("L"), dtype=np.float64)
    grey = 25 + 30 * (grey - grey.min()) / (grey.max() - grey.min())
    return Image.fromarray(grey.astype(np.uint8)).convert("RGB")


@pytest.mark.parametrize(("x", "y"), [(5, 6), (7, 8), (9, 10)])
def test_dark_pictures_do_not_match_each_other_but_their_copies_match(
    x: int, y: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The luma tolerance follows the earlier image's contrast: with a fixed 20 levels (no
    relative cap) any two dark pictures agree everywhere; with it, only copies do."""
    import services.provenance.stage3 as stage3

    a, b = _dark(x), _dark(y)
    assert not stage3_matches(a, b)
    # Known weakness (docs/provenance.md): on a dark, low-contrast picture the bright logo badge
    # dominates the luma correlation that pre-selects the hypotheses, so the logo copy is missed.
    for edit in (e for e in ISSUE11_EDITS if e.name != "logo"):
        assert stage3_matches(a, edit.apply(a, edit_rng(1, "dark", edit.name))), edit.name
    monkeypatch.setattr(stage3, "LUMA_REL", 10.0)  # the attack: the absolute tolerance alone
    assert stage3_matches(a, b)
