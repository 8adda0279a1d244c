"""Generation proofs (services/provenance/generation_proof.py) and the juror's use of them: an
accused image that its published prompt and seed regenerate on the juror's own copy of the
bundled model is its own work ("no"), whatever stage 3 says; a copy is cleared by no opening,
not even the original's (the plagiarist's best one)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from generators.maker import image_maker
from services.provenance.generation_proof import (
    MAX_SEED,
    GenerationOpening,
    clears,
    reproduces,
    runnable_maker,
)
from services.provenance.juror import judge
from tests.services.test_juror import _case

PROMPT_A = "a red circle on a white background"
PROMPT_B = "a blue square on a yellow background"


@pytest.fixture(scope="module")
def make():
    return image_maker()


def _nudged(image: Image.Image, values: int, by: int) -> Image.Image:
    a = np.asarray(image.convert("RGB"), dtype=np.int16).copy()
    flat = a.reshape(-1)
    flat[:values] = np.where(flat[:values] + by > 255, flat[:values] - by, flat[:values] + by)
    return Image.fromarray(a.astype(np.uint8))


def test_reproduction_allows_another_cpus_float_noise_and_nothing_more(make):
    image = make(PROMPT_A, 11)[0]
    assert reproduces(image, image)
    assert reproduces(image, _nudged(image, 2, 1))  # measured across kernel sets: 1 level, 0.02%
    assert not reproduces(image, _nudged(image, 2, 5))  # a value moved beyond 3 levels
    assert not reproduces(image, _nudged(image, 200, 1))  # 1.6% of the values moved
    assert not reproduces(image, image.resize((32, 32)))


def test_an_independent_generation_is_cleared_by_its_own_opening(make):
    original = make(PROMPT_A, 21)[0]
    duplicate = make(PROMPT_B, 21)[0]  # the same seed: the bundled model's shared layout
    ok, why = clears(original, duplicate, GenerationOpening(PROMPT_B, 21), make)
    assert ok, why
    ok, why = clears(original, duplicate, GenerationOpening(PROMPT_B, 22), make)
    assert not ok and "does not reproduce" in why


@pytest.mark.parametrize("edit", ISSUE11_EDITS, ids=lambda e: e.name)
def test_no_edited_copy_is_cleared_by_the_originals_opening(make, edit):
    """The plagiarist knows the original's prompt and seed (published when the original was
    accused itself): its edited copy is still not their output."""
    opening = GenerationOpening(PROMPT_A, 31)
    original = make(opening.prompt, opening.seed)[0]
    copy = edit.apply(original, edit_rng(5, "proof", edit.name)).convert("RGB")
    assert not clears(original, copy, opening, make)[0]


def test_a_regenerated_copy_within_the_noise_is_not_cleared(make):
    """The original's opening run again and a few values moved (a new content hash): the
    opening reproduces the original too, so it clears nothing."""
    opening = GenerationOpening(PROMPT_A, 41)
    original = make(opening.prompt, opening.seed)[0]
    copy = _nudged(original, 3, 1)
    ok, why = clears(original, copy, opening, make)
    assert not ok and "reproduces the original too" in why


@pytest.mark.parametrize(
    ("prompt", "seed"), [("", 1), ("   ", 1), ("x" * 1_001, 1), ("p", -1), ("p", MAX_SEED + 1)]
)
def test_a_malformed_opening_is_refused(prompt, seed):
    with pytest.raises(ValueError):
        GenerationOpening(prompt, seed)
    with pytest.raises(ValueError):
        GenerationOpening("p", True)  # type: ignore[arg-type]


def test_only_the_bundled_model_is_runnable():
    from generators import get_generator

    assert runnable_maker(get_generator("bundled").model_id) is not None
    assert runnable_maker("someone-elses-checkpoint") is None


def test_the_juror_votes_no_on_a_match_the_accuseds_generation_reproduces(make):
    """The juror's wiring: a pair stage 3 matches (the original and its 5% crop) whose duplicate
    the accused's published opening regenerates (a painter standing for a model that drew it)
    gets "no"; without an opening, with an opening that does not reproduce it, or with a model
    the juror cannot run, stage 3's "yes" stands."""
    original = make(PROMPT_A, 51)[0].convert("RGB")
    crop5 = next(e for e in ISSUE11_EDITS if e.name == "crop5")
    duplicate = crop5.apply(original, edit_rng(5, "wiring", "crop5")).convert("RGB")
    review, images = _case(original, duplicate)
    assert judge(review, images).vote is True

    opening = GenerationOpening("a painter's own prompt", 7)

    def painter(prompt: str, seed: int):
        return (duplicate if (prompt, seed) == (opening.prompt, opening.seed) else original), {}

    makers = {"painter": painter}.get
    verdict = judge(review, images, openings=_Openings(review.duplicate, opening), makers=makers)
    assert verdict.vote is False and "reproduces it" in verdict.reason
    # none published yet, the model runnable: "yes", but it waits for one (provisional)
    waiting = judge(review, images, openings=_Openings(None, None), makers=makers)
    assert waiting.vote is True and waiting.unopened and waiting.provisional
    # none published and a model no juror runs: a plain "yes"
    plain = judge(review, images, openings=_Openings(None, None, awaited=False), makers=makers)
    assert plain.vote is True and not plain.provisional
    wrong = _Openings(review.duplicate, GenerationOpening("another prompt", 7))
    assert judge(review, images, openings=wrong, makers=makers).vote is True
    assert judge(review, images, openings=_Openings(review.duplicate, opening)).vote is True

    def crashing(prompt: str, seed: int):
        raise RuntimeError("the model fails on this prompt")

    crash = judge(
        review,
        images,
        openings=_Openings(review.duplicate, opening),
        makers={"painter": crashing}.get,
    )
    assert crash.vote is True and not crash.provisional  # a failing opening proves nothing
    broken = _Openings(None, None, broken=True)
    verdict = judge(review, images, openings=broken, makers=makers)
    assert verdict.vote is True and not verdict.provisional


class _Openings:
    """An opening source: ``opening`` for ``token`` (the painter's model), else none."""

    def __init__(self, token, opening, *, awaited: bool = True, broken: bool = False):
        self.token, self.opening, self._awaited, self.broken = token, opening, awaited, broken

    def __call__(self, collection: str, token_id: int):
        if self.broken:
            raise OSError("the API is down")
        return ("painter", self.opening) if token_id == self.token else None

    def awaited(self, collection: str, token_id: int) -> bool:
        if self.broken:
            raise OSError("the API is down")
        return self._awaited
