"""A juror's vote on a record review (``judge_record``: the BatchCourt's mis-attestation claim).

Convicts only when an attested value fails the public rule against the one recomputed from the
token's own bytes: never for a bitwise difference (an honest ESP on another platform, whose
decoder or floats round differently, must never lose its stake), never without the bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from eth_utils import keccak
from PIL import Image

from services.content import canonical_hash
from services.provenance import detail_descriptor, fingerprint
from services.provenance.juror import Review, judge_record
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint

COURT = "0x" + "c0" * 20


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _image(name: str = "camera") -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def _review(image: Image.Image, fp: bytes, detail: bytes) -> Review:
    return Review(
        key=b"\x01" * 32,
        collection=COURT,
        original=0,
        duplicate=int.from_bytes(canonical_hash(image), "big"),
        detail_hash_a=fp,
        detail_hash_b=keccak(detail),
        content_ids=True,
    )


def _source(image: Image.Image | None):
    raw = None if image is None else _png(image)
    return lambda collection, token_id: raw


def _flip(fp: Fingerprint, bits: int) -> bytes:
    """``fp`` with the low ``bits`` bits of every word flipped (distance ``bits`` to ``fp``)."""
    mask = (1 << bits) - 1
    return Fingerprint(tuple(w ^ mask for w in fp.words)).to_bytes32()  # type: ignore[arg-type]


def test_an_honest_record_gets_no():
    image = _image()
    fp, detail = fingerprint(image).to_bytes32(), detail_descriptor(image)
    verdict = judge_record(_review(image, fp, detail), _source(image), detail)
    assert verdict.vote is False and not verdict.burden


@pytest.mark.parametrize("name", ["camera", "astronaut", "coffee"])
def test_a_reimplementation_within_platform_noise_gets_no(name):
    """The ESP computed its values on another platform: its decode differs by up to 2 levels
    per channel (its descriptor is not bitwise this juror's) and its float rounding flipped
    bits of every fingerprint word, up to the rule's threshold. Not mis-attested."""
    image = _image(name)
    rng = np.random.default_rng(7)
    pixels = np.asarray(image).astype(np.int16) + rng.integers(-2, 3, np.asarray(image).shape)
    elsewhere = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    detail = detail_descriptor(elsewhere)
    assert detail != detail_descriptor(image)  # not bitwise equal: the rule must decide
    fp = _flip(fingerprint(elsewhere), MATCH_THRESHOLD)
    assert fp != fingerprint(image).to_bytes32()
    verdict = judge_record(_review(image, fp, detail), _source(image), detail)
    assert verdict.vote is False, verdict.reason


def test_a_fingerprint_beyond_the_threshold_is_misattested():
    image = _image()
    detail = detail_descriptor(image)
    fp = _flip(fingerprint(image), MATCH_THRESHOLD + 1)
    verdict = judge_record(_review(image, fp, detail), _source(image), detail)
    assert verdict.vote is True
    assert "fingerprint" in verdict.reason


def test_another_images_values_are_misattested():
    """The attack: a copy's bytes attested with an unrelated image's fingerprint and
    descriptor; and the subtler one, its own fingerprint with another image's descriptor."""
    image, other = _image("camera"), _image("astronaut")
    fp_other, detail_other = fingerprint(other).to_bytes32(), detail_descriptor(other)
    review = _review(image, fp_other, detail_other)
    assert judge_record(review, _source(image), detail_other).vote is True
    own_fp = fingerprint(image).to_bytes32()
    verdict = judge_record(_review(image, own_fp, detail_other), _source(image), detail_other)
    assert verdict.vote is True
    assert "detail rule" in verdict.reason


def test_without_the_tokens_bytes_there_is_no_proof():
    """No image, or an image that is not the token's content (another image's bytes served
    for it): "no", a burden vote (the claimant accuses, so it publishes the image)."""
    image, other = _image("camera"), _image("astronaut")
    fp, detail = fingerprint(other).to_bytes32(), detail_descriptor(other)
    review = _review(image, fp, detail)  # mis-attested, but nobody shows the bytes
    for source in (_source(None), _source(other)):
        verdict = judge_record(review, source, detail)
        assert verdict.vote is False and verdict.burden
    garbage = judge_record(review, lambda c, t: b"not an image", detail)
    assert garbage.vote is False and garbage.burden


def test_the_threshold_is_the_deployments():
    image = _image()
    detail = detail_descriptor(image)
    fp = _flip(fingerprint(image), 10)
    review = _review(image, fp, detail)
    assert judge_record(review, _source(image), detail, threshold=10).vote is False
    assert judge_record(review, _source(image), detail, threshold=9).vote is True
