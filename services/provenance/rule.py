"""The 32-byte fingerprint value object and the one near-duplicate rule.

The rule is implemented twice, here and in ``contracts/FingerprintRule.sol``, and a test feeds
many pairs to both and requires identical verdicts. Keep the two in lockstep:

* a fingerprint is 32 bytes read as four unsigned 64-bit words, big-endian, word 0 being the most
  significant 8 bytes;
* ``distance(a, b)`` is the smallest Hamming distance over the 16 (word of a, word of b) pairs,
  0..64;
* ``a`` and ``b`` match when ``distance(a, b) <= threshold``; the Registry is deployed with
  :data:`MATCH_THRESHOLD`;
* a fingerprint is degenerate when any word is all zeros or all ones (what a flat or blank view
  hashes to); degenerate fingerprints cannot be registered or win a challenge.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.provenance.errors import InvalidFingerprintError

__all__ = ["MATCH_THRESHOLD", "WORD_MASK", "Fingerprint", "is_degenerate_fingerprint"]

MATCH_THRESHOLD: int = 15
"""Largest distance still called a near-duplicate; the Registry's constructor argument.

Chosen on the evaluation corpus (docs/provenance.md): at 15 the measured false-match rate over
pairs of distinct images is about 0.05%, half the 0.1% budget; at 16 it exceeds the budget.
"""

WORD_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A perceptual fingerprint: exactly four 64-bit words, stored on chain as one ``bytes32``."""

    words: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        words = self.words
        if not isinstance(words, tuple) or len(words) != 4:
            raise InvalidFingerprintError(words, "expected a tuple of four 64-bit words")
        for word in words:
            if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word <= WORD_MASK:
                raise InvalidFingerprintError(words, f"word {word!r} is not an unsigned 64-bit int")

    @classmethod
    def from_bytes32(cls, raw: bytes) -> Fingerprint:
        """Read the 32 bytes the contract stores (big-endian words, word 0 first)."""
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise InvalidFingerprintError(raw, f"expected 32 bytes, got {type(raw).__name__}")
        data = bytes(raw)
        if len(data) != 32:
            raise InvalidFingerprintError(data, f"expected 32 bytes, got {len(data)}")
        w = tuple(int.from_bytes(data[8 * i : 8 * i + 8], "big") for i in range(4))
        return cls((w[0], w[1], w[2], w[3]))

    @classmethod
    def from_hex(cls, text: str) -> Fingerprint:
        """Parse ``0x`` + 64 hex digits (the ``0x`` is optional, case is ignored)."""
        if not isinstance(text, str):
            raise InvalidFingerprintError(text, f"expected a hex string, got {type(text).__name__}")
        digits = text.strip()
        digits = digits[2:] if digits[:2].lower() == "0x" else digits
        if len(digits) != 64:
            raise InvalidFingerprintError(text, f"expected 64 hex digits, got {len(digits)}")
        try:
            data = bytes.fromhex(digits)
        except ValueError as exc:
            raise InvalidFingerprintError(text, "not hexadecimal") from exc
        return cls.from_bytes32(data)

    def to_bytes32(self) -> bytes:
        """The 32 bytes to store on chain: word 0 in the most significant 8 bytes."""
        return b"".join(word.to_bytes(8, "big") for word in self.words)

    def hex(self) -> str:
        """``0x`` followed by 64 lower-case hex digits."""
        return "0x" + self.to_bytes32().hex()

    def distance(self, other: Fingerprint) -> int:
        """Smallest Hamming distance over the 16 word pairs (0..64), as the contract computes."""
        if not isinstance(other, Fingerprint):
            raise TypeError(f"distance() needs a Fingerprint, got {type(other).__name__}")
        return min((a ^ b).bit_count() for a in self.words for b in other.words)

    def matches(self, other: Fingerprint, threshold: int = MATCH_THRESHOLD) -> bool:
        """True when ``other`` is a near-duplicate: ``distance(other) <= threshold``."""
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValueError(f"threshold must be a non-negative int, got {threshold!r}")
        return self.distance(other) <= threshold

    def is_degenerate(self) -> bool:
        """True when a word is all zeros or all ones (see :func:`is_degenerate_fingerprint`)."""
        return any(word in (0, WORD_MASK) for word in self.words)

    def __str__(self) -> str:
        return self.hex()


def is_degenerate_fingerprint(fp: Fingerprint | bytes) -> bool:
    """The contract's ``isDegenerate``: a word of all zeros or all ones (a flat or blank view)."""
    value = fp if isinstance(fp, Fingerprint) else Fingerprint.from_bytes32(fp)
    return value.is_degenerate()
