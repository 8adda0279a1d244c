"""One near-duplicate rule, implemented twice: the contract and services.provenance agree.

Random pairs, pairs built to sit exactly around the threshold, and fingerprints of real images
and their edits go to both implementations; every verdict and distance must be identical.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageOps

from ledger.deploy import DEFAULT_MATCH_THRESHOLD
from services.provenance import MATCH_THRESHOLD, Fingerprint, fingerprint, is_degenerate_fingerprint


def _flip_bits(word: int, n: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), n):
        word ^= 1 << bit
    return word


def _pairs(seed: int = 7) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(40):  # unrelated fingerprints
        pairs.append((rng.randbytes(32), rng.randbytes(32)))
    for n in range(MATCH_THRESHOLD - 4, MATCH_THRESHOLD + 5):  # around the threshold, any word pair
        words = [rng.getrandbits(64) for _ in range(4)]
        other = [rng.getrandbits(64) for _ in range(4)]
        i, j = rng.randrange(4), rng.randrange(4)
        other[j] = _flip_bits(words[i], n, rng)
        pack = lambda ws: b"".join(w.to_bytes(8, "big") for w in ws)  # noqa: E731
        pairs.append((pack(words), pack(other)))
    for _ in range(5):  # degenerate words
        a = bytearray(rng.randbytes(32))
        k = rng.randrange(4)
        a[8 * k : 8 * k + 8] = rng.choice([b"\x00" * 8, b"\xff" * 8])
        pairs.append((bytes(a), rng.randbytes(32)))
    rng_np = np.random.default_rng(seed)
    for _ in range(4):  # real images and the edits a plagiarist makes
        img = Image.fromarray(rng_np.integers(0, 255, (8, 8, 3), dtype=np.uint8)).resize((96, 96))
        fp = fingerprint(img).to_bytes32()
        for edit in (
            ImageOps.mirror(img),
            img.rotate(3),
            img.crop((5, 5, 96, 96)),
            ImageOps.grayscale(img),
        ):
            pairs.append((fp, fingerprint(edit).to_bytes32()))
        pairs.append(
            (
                fp,
                fingerprint(
                    Image.fromarray(rng_np.integers(0, 255, (8, 8, 3), dtype=np.uint8)).resize(
                        (96, 96)
                    )
                ).to_bytes32(),
            )
        )
    return pairs


def test_ledger_default_threshold_is_the_provenance_one():
    assert DEFAULT_MATCH_THRESHOLD == MATCH_THRESHOLD


def test_on_chain_and_off_chain_verdicts_agree(world):
    registry = world.registry(world.producer)
    threshold = registry.params()["match_threshold"]
    view = registry.contract.functions
    for a, b in _pairs():
        fa, fb = Fingerprint.from_bytes32(a), Fingerprint.from_bytes32(b)
        assert registry.fingerprint_distance(a, b) == fa.distance(fb)
        assert registry.fingerprints_match(a, b) == fa.matches(fb, threshold=threshold)
        assert view.isDegenerateFingerprint(a).call() == is_degenerate_fingerprint(a)
