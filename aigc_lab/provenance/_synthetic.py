"""Synthetic but realistic compact fingerprints for the search benchmark.

A generator calibrated on real fingerprints of the package photographs (and their tiles)
reproduces the per-bit frequencies of word 0 and the bit-flip rate between neighbouring views,
so the four words of an entry are correlated the way real ones are; ``duplicate_share`` of the
entries are edited copies of earlier ones, and each row's origin is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aigc_lab.provenance.corpus import build_corpus
from services.provenance.errors import DegenerateImageError
from services.provenance.perceptual import fingerprint

__all__ = ["FingerprintModel", "calibrate", "noisy", "realistic", "realistic_fingerprints"]

_BITS = np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64)


@dataclass(frozen=True)
class FingerprintModel:
    """Bit frequencies of word 0 and flip rates between views k and k+1, from real images."""

    bit_p: NDArray[np.float64]
    flip: tuple[float, float, float]
    samples: int

    def sample(self, rng: np.random.Generator, count: int) -> NDArray[np.uint64]:
        """``count`` x 4 words drawn from the model (never degenerate)."""
        bits = rng.random((count, 64)) < self.bit_p
        words = np.empty((count, 4), dtype=np.uint64)
        words[:, 0] = _pack(bits)
        for k, rate in enumerate(self.flip):
            bits = bits ^ (rng.random((count, 64)) < rate)
            words[:, k + 1] = _pack(bits)
        return _repair(words)


def _pack(bits: NDArray[np.bool_]) -> NDArray[np.uint64]:
    return np.asarray(
        (bits.astype(np.uint64) * _BITS).sum(axis=1, dtype=np.uint64), dtype=np.uint64
    )


def _repair(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Nudge the (astronomically rare) all-zero / all-one words so nothing is degenerate."""
    words[words == 0] = np.uint64(1)
    words[words == np.uint64(2**64 - 1)] = np.uint64(2**64 - 2)
    return words


def calibrate(*, limit: int | None = None) -> FingerprintModel:
    """Fit the generator on the package photographs and their tiles (no procedural images)."""
    words = []
    for item in build_corpus(procedural=0, limit=limit):
        try:
            words.append(fingerprint(item.image).words)
        except DegenerateImageError:
            continue
    real = np.array(words, dtype=np.uint64)
    bits = (real[:, :, None] & _BITS) != 0
    bit_p = np.clip(bits[:, 0, :].mean(axis=0), 0.05, 0.95)
    flips = [float((bits[:, k] != bits[:, k + 1]).mean()) for k in range(3)]
    return FingerprintModel(bit_p=bit_p, flip=(flips[0], flips[1], flips[2]), samples=len(real))


def noisy(rng: np.random.Generator, words: NDArray[np.uint64], rate: float) -> NDArray[np.uint64]:
    noise = _pack(rng.random((words.size, 64)) < rate).reshape(words.shape)
    return _repair(words ^ noise)


def realistic_fingerprints(
    model: FingerprintModel, size: int, *, seed: int, duplicate_share: float = 0.02
) -> NDArray[np.uint64]:
    """``size`` x 4 words; ``duplicate_share`` of rows are edited copies of earlier rows."""
    return realistic(model, size, seed=seed, duplicate_share=duplicate_share)[0]


def realistic(
    model: FingerprintModel, size: int, *, seed: int, duplicate_share: float = 0.02
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """The words and each row's origin (the row whose sample it is, or a copy of)."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, 4), dtype=np.uint64)
    origin = np.arange(size, dtype=np.int64)
    step = 131_072
    for start in range(0, size, step):
        out[start : start + step] = model.sample(rng, min(step, size - start))
    copies = int(size * duplicate_share)
    if copies and size > 1:
        targets = rng.integers(1, size, size=copies)
        sources = (rng.random(copies) * targets).astype(np.int64)
        out[targets] = noisy(rng, out[sources], 4 / 64)
        origin[targets] = sources  # the copy is of the source's own sample (read before writing)
    return out, origin
