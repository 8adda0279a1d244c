"""A committee juror's verdict (services/provenance/juror.py): stage 3 on the two checked images,
the side that withholds or forges its image loses, and a salt that survives a restart."""

from __future__ import annotations

import io

import pytest
from eth_utils import keccak
from PIL import Image

from ledger.clients.committee import vote_commitment
from services.content import canonical_hash, plagiarise
from services.provenance import MATCH_THRESHOLD, detail_descriptor, detail_matches, fingerprint
from services.provenance.juror import (
    DirectoryImages,
    Review,
    judge,
    vote_salt,
)
from tests.services.provenance.test_stage3 import _page, _semaphore

JUROR = "0x" + "11" * 20


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _token(image: Image.Image) -> int:
    return int.from_bytes(canonical_hash(image), "big")


def _case(a: Image.Image, b: Image.Image, served: dict[int, bytes | None] | None = None):
    """A review of (a, b) as single Registry tokens and the images the juror finds for them
    (both published, unless ``served`` says otherwise)."""
    ta, tb = _token(a), _token(b)
    review = Review(
        key=keccak(b"review"),
        collection="0x" + "22" * 20,
        original=ta,
        duplicate=tb,
        detail_hash_a=keccak(detail_descriptor(a)),
        detail_hash_b=keccak(detail_descriptor(b)),
        content_ids=True,
    )
    store = {ta: _png(a), tb: _png(b), **(served or {})}
    return review, lambda collection, token_id: store.get(token_id)


@pytest.fixture(scope="module")
def look_alikes() -> tuple[Image.Image, Image.Image]:
    """Two distinct semaphore drawings (arms at 0/30 and 180/30 degrees) that stages 1 and 2
    uphold: the squatter's pair."""
    a, b = _semaphore(0, 30), _semaphore(180, 30)
    assert fingerprint(a).distance(fingerprint(b)) <= MATCH_THRESHOLD
    assert detail_matches(detail_descriptor(a), detail_descriptor(b))
    return a, b


def test_a_true_edited_copy_gets_a_yes() -> None:
    original = _page("disc")
    review, images = _case(original, plagiarise(original))
    verdict = judge(review, images)
    assert verdict.vote is True and "stage 3 matches" in verdict.reason


def test_an_unrelated_pair_the_detail_rule_matches_gets_a_no(look_alikes) -> None:
    review, images = _case(*look_alikes)
    verdict = judge(review, images)
    assert verdict.vote is False and "stage 3 rejects" in verdict.reason


def test_a_withheld_original_loses_for_the_challenger() -> None:
    original = _page("disc")
    copy = plagiarise(original)
    review, images = _case(original, copy, {_token(original): None})
    assert judge(review, images).vote is False  # a real copy, but the challenger shows nothing
    # neither side shows its image: the accuser's burden, the accused keeps its token
    review, images = _case(original, copy, {_token(original): None, _token(copy): None})
    assert judge(review, images).vote is False


def test_a_withheld_duplicate_loses_for_the_accused(look_alikes) -> None:
    a, b = look_alikes
    review, images = _case(a, b, {_token(b): None})
    verdict = judge(review, images)
    assert verdict.vote is True and "hides its image" in verdict.reason


def test_a_forged_image_loses_for_the_side_that_serves_it(look_alikes) -> None:
    a, b = look_alikes
    original = _page("disc")
    # the challenger serves a true copy's original in place of its own token's image
    copy = plagiarise(original)
    review, images = _case(a, copy, {_token(a): _png(original)})
    verdict = judge(review, images)
    assert verdict.vote is False and "detail hash" in verdict.reason
    # the accused serves an unrelated image in place of its own (a copy of the original)
    review, images = _case(original, copy, {_token(copy): _png(b)})
    assert judge(review, images).vote is True
    # bytes that are no image at all
    review, images = _case(a, b, {_token(b): b"not an image"})
    verdict = judge(review, images)
    assert verdict.vote is True and "not a readable image" in verdict.reason


def test_the_content_hash_is_checked_where_the_token_id_is_one(look_alikes) -> None:
    """The accused serves its record's descriptor's image under another token id (its own
    token's pixels are not these): at the single Registry the id is the content hash."""
    a, b = look_alikes
    review, _ = _case(a, b)
    other = review.duplicate ^ 1
    store = {review.original: _png(a), other: _png(b)}
    forged = Review(**{**review.__dict__, "duplicate": other})
    verdict = judge(forged, lambda c, t: store.get(t))
    assert verdict.vote is True and "content hash" in verdict.reason
    # a batch collection's ids are not content hashes: only the detail hash is checked there
    batch = Review(**{**forged.__dict__, "content_ids": False})
    assert judge(batch, lambda c, t: store.get(t)).vote is False


def test_the_salt_and_commitment_are_stable_and_private() -> None:
    key = keccak(b"review")
    juror_key = bytes(range(32))
    salt = vote_salt(juror_key, key)
    assert salt == vote_salt(juror_key, key)  # a restarted juror derives it again
    assert salt != vote_salt(bytes(32), key) and salt != vote_salt(juror_key, keccak(b"other"))
    yes, no = (vote_commitment(key, JUROR, v, salt) for v in (True, False))
    assert yes != no and len(yes) == 32
    # keccak256(abi.encode(key, juror, true, salt)): four 32-byte words, as the contract hashes
    words = key + bytes(12) + bytes.fromhex(JUROR[2:]) + bytes(31) + b"\x01" + salt
    assert yes == keccak(words)
    assert yes.hex() == "4902708e1b6c5ef585c9212bfd40a5c93683864bfc7c3800a35af326bcaa3f45"


def test_directory_images_finds_a_token_by_its_hex_id(tmp_path) -> None:
    image = _page("gear")
    token = _token(image)
    (tmp_path / f"{token:#066x}.png").write_bytes(_png(image))
    store = DirectoryImages(tmp_path)
    assert store("0x" + "00" * 20, token) == _png(image)
    assert store("0x" + "00" * 20, token + 1) is None


def _details(*images: Image.Image):
    """The published detail descriptors of ``images``' tokens (as the ``Registered`` events hold
    them), by token id."""
    table = {_token(i): detail_descriptor(i) for i in images}
    return lambda collection, token_id: table.get(token_id)


def test_a_missing_image_gives_the_detail_rules_verdict_not_a_free_win(look_alikes) -> None:
    """The squatter's review: it challenges an unrelated token whose owner never uploaded its
    image and asks for the review itself. Without the descriptors the jurors vote "yes" (the
    accused "hides" its image) on a pair the detail rule rejects; with them they vote what the
    chain would decide without a review."""
    victim, squatter = _semaphore(0, 30), _page("disc")
    assert not detail_matches(detail_descriptor(squatter), detail_descriptor(victim))
    review, images = _case(squatter, victim, {_token(victim): None})
    assert judge(review, images).vote is True  # the attack, before the descriptors were used
    verdict = judge(review, images, _details(squatter, victim))
    assert verdict.vote is False and "detail rule" in verdict.reason
    # a copier cannot hide behind a challenger's missing image either: the rule still matches
    a, b = look_alikes
    review, images = _case(a, b, {_token(a): None})
    assert judge(review, images).vote is False
    assert judge(review, images, _details(a, b)).vote is True
    # a descriptor that is not the review's (or none) leaves the burden rule in place
    wrong = lambda collection, token_id: detail_descriptor(squatter)  # noqa: E731
    assert judge(review, images, wrong).vote is False
    assert judge(review, images, lambda collection, token_id: None).vote is False
