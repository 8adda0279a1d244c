"""find_plagiarism: earlier registrations only, nearest first, on an index or plain pairs."""

from __future__ import annotations

import pytest

from services.provenance import (
    Fingerprint,
    InvalidFingerprintError,
    NearDuplicateIndex,
    PlagiarismHit,
    find_plagiarism,
)

ORIGINAL = Fingerprint(
    (0x0123456789ABCDEF, 0x1111111111111111, 0x2222222222222222, 0x3333333333333333)
)
COPY = Fingerprint((0x7777777777777777, 0x0123456789ABCDE0, 0x5555555555555555, 0x6666666666666666))
CLOSER = Fingerprint((0x0123456789ABCDEE, 0x1, 0x2, 0x3))
STRANGER = Fingerprint(
    (0xFEDCBA9876543210, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF)
)


@pytest.mark.parametrize("as_index", [False, True])
def test_only_earlier_near_duplicates_are_returned(as_index: bool) -> None:
    pairs = [(1, ORIGINAL), (2, STRANGER), (3, CLOSER), (9, COPY)]
    source = (
        NearDuplicateIndex.build([p[0] for p in pairs], [p[1] for p in pairs])
        if as_index
        else pairs
    )
    hits = find_plagiarism(COPY, source, new_id=5)
    assert hits == [
        PlagiarismHit(earlier_id=3, distance=3),
        PlagiarismHit(earlier_id=1, distance=4),
    ]
    assert find_plagiarism(COPY, source, new_id=1) == []


def test_explicit_registration_order_and_no_new_id() -> None:
    pairs = [(10, ORIGINAL), (20, CLOSER)]
    order = {10: (7, 1), 20: (9, 0), 30: (8, 4)}  # (block, log index)
    assert [h.earlier_id for h in find_plagiarism(COPY, pairs, new_id=30, order=order)] == [10]
    assert [h.earlier_id for h in find_plagiarism(COPY, pairs)] == [20, 10]
    with pytest.raises(KeyError, match="31"):
        find_plagiarism(COPY, pairs, new_id=31, order=order)


def test_threshold_and_degenerate_handling() -> None:
    degenerate_earlier = Fingerprint((0, 0x0123456789ABCDEF, 1, 2))
    assert find_plagiarism(COPY, [(1, ORIGINAL)], threshold=3) == []
    assert find_plagiarism(COPY, [(1, degenerate_earlier)]) == []
    with pytest.raises(InvalidFingerprintError, match="degenerate"):
        find_plagiarism(degenerate_earlier, [(1, ORIGINAL)])
