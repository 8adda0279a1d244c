"""find_plagiarism: ordered by challenge priority as the Registry orders challenges, both ways."""

from __future__ import annotations

import pytest
from PIL import ImageEnhance

from aigc_lab.provenance._procedural import procedural_image
from services.provenance import (
    Fingerprint,
    InvalidFingerprintError,
    NearDuplicateIndex,
    PlagiarismHit,
    detail_descriptor,
    detail_matches,
    find_plagiarism,
)
from services.provenance import watch as watch_module

ORIGINAL = Fingerprint(
    (0x0123456789ABCDEF, 0x1111111111111111, 0x2222222222222222, 0x3333333333333333)
)
COPY = Fingerprint((0x7777777777777777, 0x0123456789ABCDE0, 0x5555555555555555, 0x6666666666666666))
CLOSER = Fingerprint((0x0123456789ABCDEE, 0x1, 0x2, 0x3))
STRANGER = Fingerprint(
    (0xFEDCBA9876543210, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF)
)
PAIRS = [(1, ORIGINAL), (2, STRANGER), (3, CLOSER), (9, COPY)]


def source(as_index: bool) -> NearDuplicateIndex | list[tuple[int, Fingerprint]]:
    if as_index:
        return NearDuplicateIndex.build([p[0] for p in PAIRS], [p[1] for p in PAIRS])
    return PAIRS


@pytest.mark.parametrize("as_index", [False, True])
def test_without_priorities_the_id_orders_as_before(as_index: bool) -> None:
    hits = find_plagiarism(COPY, source(as_index), new_id=5)
    assert hits == [
        PlagiarismHit(other_id=9, distance=0, new_is_original=True, new_id=5),
        PlagiarismHit(other_id=3, distance=3, new_id=5),
        PlagiarismHit(other_id=1, distance=4, new_id=5),
    ]
    assert [(h.original_id, h.duplicate_id) for h in hits] == [(5, 9), (3, 5), (1, 5)]
    # as token 1, every near-duplicate is later: its owner is the one who challenges
    reverse = find_plagiarism(COPY, source(as_index), new_id=1)
    assert [(h.original_id, h.duplicate_id) for h in reverse] == [(1, 9), (1, 3)]


@pytest.mark.parametrize("as_index", [False, True])
def test_priority_block_decides_not_the_reveal_order(as_index: bool) -> None:
    # token 9 is revealed last but its paid lock is the oldest: it is the original of both
    priority = {1: 120, 2: 50, 3: 130, 9: 100}
    hits = find_plagiarism(COPY, source(as_index), new_id=9, order=priority)
    assert [(h.original_id, h.duplicate_id, h.distance) for h in hits] == [(9, 3, 3), (9, 1, 4)]
    assert all(h.new_is_original for h in hits)
    # a later lock registered after an earlier one: the earlier token's owner challenges
    hits = find_plagiarism(COPY, source(as_index), new_id=9, order={**priority, 9: 125})
    assert [(h.original_id, h.duplicate_id) for h in hits] == [(9, 3), (1, 9)]
    # a function works as well as a mapping
    assert find_plagiarism(COPY, source(as_index), new_id=9, order=priority.__getitem__) == (
        find_plagiarism(COPY, source(as_index), new_id=9, order=priority)
    )


def test_equal_priority_challenges_neither_way_and_revoked_are_skipped() -> None:
    priority = {1: 100, 3: 100, 2: 7}
    hits = find_plagiarism(COPY, PAIRS[:3], new_priority=100, order=priority)
    assert hits == []  # same block as both near-duplicates: challenge() reverts either way
    hits = find_plagiarism(COPY, PAIRS[:3], new_priority=101, order=priority, revoked={3})
    assert [(h.original_id, h.duplicate_id) for h in hits] == [(1, None)]


def test_checking_before_registration_and_missing_priorities() -> None:
    pairs = [(10, ORIGINAL), (20, CLOSER)]
    assert [h.other_id for h in find_plagiarism(COPY, pairs)] == [20, 10]
    assert all(not h.new_is_original for h in find_plagiarism(COPY, pairs))
    with pytest.raises(KeyError, match="31"):
        find_plagiarism(COPY, pairs, new_id=31, order={10: 1, 20: 2})
    with pytest.raises(KeyError, match="20"):
        find_plagiarism(COPY, pairs, new_priority=5, order={10: 1})


def test_the_detail_rule_is_asked_original_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def fake(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a != b"no"

    monkeypatch.setattr(watch_module, "detail_matches", fake)
    details = {1: b"old", 3: b"no"}
    hits = find_plagiarism(
        COPY, PAIRS, new_id=9, order={1: 1, 2: 2, 3: 20, 9: 10},
        details=details, new_detail=b"new",
    )  # fmt: skip
    # 1 is the original (detail first); against 3 the new token is the original
    assert [(h.original_id, h.duplicate_id) for h in hits] == [(9, 3), (1, 9)]
    assert sorted(calls) == [(b"new", b"no"), (b"old", b"new")]
    # a candidate without a descriptor cannot be shown to win a contested challenge
    assert find_plagiarism(COPY, PAIRS, new_id=9, details={}, new_detail=b"new") == []


def test_real_descriptors_keep_a_copy_and_drop_an_unrelated_image() -> None:
    image = procedural_image(3)
    copy = ImageEnhance.Brightness(image).enhance(1.2)
    other = procedural_image(4)
    original_detail, copy_detail = detail_descriptor(image), detail_descriptor(copy)
    assert detail_matches(original_detail, copy_detail)
    assert not detail_matches(detail_descriptor(other), copy_detail)
    pairs = [(1, ORIGINAL), (3, CLOSER)]  # both within the compact rule of COPY
    details = {1: original_detail, 3: detail_descriptor(other)}
    hits = find_plagiarism(
        COPY, pairs, new_id=9, order={1: 1, 3: 2, 9: 5}, details=details, new_detail=copy_detail
    )
    assert [(h.original_id, h.duplicate_id) for h in hits] == [(1, 9)]


def test_threshold_and_degenerate_handling() -> None:
    degenerate_earlier = Fingerprint((0, 0x0123456789ABCDEF, 1, 2))
    assert find_plagiarism(COPY, [(1, ORIGINAL)], threshold=3) == []
    assert find_plagiarism(COPY, [(1, degenerate_earlier)]) == []
    with pytest.raises(InvalidFingerprintError, match="degenerate"):
        find_plagiarism(degenerate_earlier, [(1, ORIGINAL)])
