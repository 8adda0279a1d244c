"""The Fingerprint value object and the near-duplicate rule (mirrors FingerprintRule.sol)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.provenance import (
    MATCH_THRESHOLD,
    Fingerprint,
    InvalidFingerprintError,
    ProvenanceError,
    is_degenerate_fingerprint,
)

WORD = (1 << 64) - 1
words = st.integers(min_value=0, max_value=WORD)
quads = st.tuples(words, words, words, words)
# Deterministic examples (the suite must not depend on a random seed or a local database); the
# lead's on-chain agreement test covers further pairs through the real contract.
deterministic = settings(derandomize=True, max_examples=300, database=None)


def solidity_distance(a: bytes, b: bytes) -> int:
    """A line-by-line port of FingerprintRule.distance (uint256 shifts, SWAR popcount)."""
    m1, m2, m4, h01 = 0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x0101010101010101

    def popcount64(x: int) -> int:
        x = x - ((x >> 1) & m1)
        x = (x & m2) + ((x >> 2) & m2)
        x = (x + (x >> 4)) & m4
        return ((x * h01) & WORD) >> 56

    ua, ub, best = int.from_bytes(a, "big"), int.from_bytes(b, "big"), 64
    for i in range(4):
        wa = (ua >> (64 * i)) & WORD
        for j in range(4):
            best = min(best, popcount64(wa ^ ((ub >> (64 * j)) & WORD)))
    return best


def solidity_is_degenerate(fp: bytes) -> bool:
    u = int.from_bytes(fp, "big")
    return any(((u >> (64 * i)) & WORD) in (0, WORD) for i in range(4))


@deterministic
@given(quads, quads)
def test_distance_agrees_with_the_contract_port(a: tuple, b: tuple) -> None:
    fa, fb = Fingerprint(a), Fingerprint(b)
    expected = solidity_distance(fa.to_bytes32(), fb.to_bytes32())
    assert fa.distance(fb) == expected == fb.distance(fa)
    assert fa.matches(fb) == (expected <= MATCH_THRESHOLD)


@deterministic
@given(
    quads,
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 63)), max_size=24),
    st.permutations(range(4)),
)
def test_near_pairs_around_the_threshold_agree(a: tuple, flips: list, perm: list) -> None:
    b = [a[k] for k in perm]  # word order must not matter
    for word, bit in flips:
        b[word] ^= 1 << bit
    fa, fb = Fingerprint(a), Fingerprint((b[0], b[1], b[2], b[3]))
    expected = solidity_distance(fa.to_bytes32(), fb.to_bytes32())
    assert fa.distance(fb) == expected <= len(flips)
    assert fa.matches(fb) == (expected <= MATCH_THRESHOLD)


@deterministic
@given(quads)
def test_degenerate_agrees_with_the_contract_port(a: tuple) -> None:
    fp = Fingerprint(a)
    assert is_degenerate_fingerprint(fp) == solidity_is_degenerate(fp.to_bytes32())
    assert is_degenerate_fingerprint(fp.to_bytes32()) == fp.is_degenerate()


@deterministic
@given(quads)
def test_bytes_and_hex_round_trip(a: tuple) -> None:
    fp = Fingerprint(a)
    raw = fp.to_bytes32()
    assert len(raw) == 32
    assert Fingerprint.from_bytes32(raw) == fp
    assert Fingerprint.from_hex(fp.hex()) == fp
    assert fp.hex().startswith("0x") and len(fp.hex()) == 66
    assert fp.distance(fp) == 0


def test_word_zero_is_the_most_significant_eight_bytes() -> None:
    fp = Fingerprint((1, 2, 3, 4))
    assert fp.to_bytes32() == bytes.fromhex(
        "00" * 7 + "01" + "00" * 7 + "02" + "00" * 7 + "03" + "00" * 7 + "04"
    )
    assert Fingerprint.from_hex("0X" + "AB" * 32).words == (0xABABABABABABABAB,) * 4


def test_distance_is_the_best_pair_not_the_aligned_pair() -> None:
    a = Fingerprint((0x0F, 0xFF00, 0xF0F0, 0x1234))
    b = Fingerprint((0xFFFF_FFFF, 0xFFFF_0000, 0x7777, 0x1235))  # only (a3, b3) is close
    assert a.distance(b) == 1
    assert a.matches(b, 1) and not a.matches(b, 0)


@pytest.mark.parametrize(
    "bad",
    [b"\x00" * 31, b"\x00" * 33, "0x" + "00" * 31, "0x" + "zz" * 32, 12, None],
)
def test_malformed_fingerprints_raise_a_clear_error(bad: object) -> None:
    reader = Fingerprint.from_hex if isinstance(bad, str) else Fingerprint.from_bytes32
    with pytest.raises(InvalidFingerprintError) as info:
        reader(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ProvenanceError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "words_", [(1, 2, 3), (1, 2, 3, -1), (1, 2, 3, 1 << 64), (1, 2, 3, 1.5), [1, 2, 3, 4]]
)
def test_constructor_checks_its_words(words_: object) -> None:
    with pytest.raises(InvalidFingerprintError):
        Fingerprint(words_)  # type: ignore[arg-type]


def test_matches_rejects_a_bad_threshold_and_distance_a_bad_type() -> None:
    fp = Fingerprint((1, 2, 3, 4))
    with pytest.raises(ValueError, match="threshold"):
        fp.matches(fp, -1)
    with pytest.raises(TypeError):
        fp.distance(b"\x00" * 32)  # type: ignore[arg-type]


def test_value_object_is_frozen_and_hashable() -> None:
    fp = Fingerprint((5, 6, 7, 8))
    assert {fp: 1}[Fingerprint((5, 6, 7, 8))] == 1
    with pytest.raises(AttributeError):
        fp.words = (1, 2, 3, 4)  # type: ignore[misc]
    assert str(fp) == fp.hex()
