"""Measures generation proofs (:mod:`services.provenance.generation_proof`) on the bundled model.

``python -m aigc_lab.provenance._generation_proof --prompts 12 --seeds 12 --originals 20``

* **Independent generations** (the false matches a proof is for): ``prompts`` distinct captions
  (``generators.captions``) each generated at the same ``seeds`` seeds; every ordered pair of two
  prompts at one seed is a pair of distinct works that share the seed's layout (the bundled
  model's worst case: the issue's "yellow circle on black" matching "green circle on red"); with
  ``--cross`` the pairs across seeds too. For each pair: do stages 1-2 uphold it (the deployed
  compact and detail rules), does stage 3 match it (alone, and with stages 1-2: the committee's
  verdict), and does the duplicate's own opening (its prompt and seed) clear a stage-3 match?
* **Copies** (what a proof must never clear): ``originals`` generations, each edited with every
  edit issue 11 names; the plagiarist's best opening is the original's own (it cannot produce one
  for its edited bytes): does it clear the copy? And a regenerated copy (the original's opening
  run again, a few values moved): does that opening clear it?
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections import Counter
from typing import Any

import numpy as np
from PIL import Image

from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from generators.captions import caption
from generators.maker import image_maker
from generators.scene import sample_scene
from services.provenance import MATCH_THRESHOLD, detail_descriptor, detail_matches, fingerprint
from services.provenance.errors import DegenerateImageError
from services.provenance.generation_proof import GenerationOpening, clears
from services.provenance.stage3 import stage3_matches


def _matches(a: Image.Image, b: Image.Image) -> bool:
    try:
        return stage3_matches(a, b)
    except DegenerateImageError:
        return False


def measure(
    prompts: int, seeds: int, originals: int, *, seed: int = 2027, cross: bool = False
) -> dict[str, Any]:
    rng = random.Random(seed)
    make = image_maker()
    captions: list[str] = []
    while len(captions) < prompts:
        text = caption(sample_scene(rng), rng)
        if text not in captions:
            captions.append(text)
    started = time.perf_counter()
    images = {
        (p, s): make(captions[p], 50_000 + s)[0].convert("RGB")
        for p in range(prompts)
        for s in range(seeds)
    }
    views = {key: (fingerprint(im), detail_descriptor(im)) for key, im in images.items()}
    pairs: Counter[str] = Counter()
    for (pa, sa), (pb, sb) in itertools.permutations(images, 2):
        if pa == pb or (sa != sb and not cross):
            continue  # one prompt at two seeds: also distinct, counted with the cross-seed pairs
        kind = "same seed" if sa == sb else "other seed"
        pairs[f"{kind}: pairs"] += 1
        upheld = views[pa, sa][0].distance(views[pb, sb][0]) <= MATCH_THRESHOLD and detail_matches(
            views[pa, sa][1], views[pb, sb][1]
        )
        pairs[f"{kind}: stages 1-2 uphold"] += upheld
        if not _matches(images[pa, sa], images[pb, sb]):
            continue
        pairs[f"{kind}: stage 3 matches (alone)"] += 1
        pairs[f"{kind}: all three stages match"] += upheld
        opening = GenerationOpening(captions[pb], 50_000 + sb)
        if clears(images[pa, sa], images[pb, sb], opening, make)[0]:
            pairs[f"{kind}: stage 3 matches cleared by the duplicate's opening"] += 1
    copies: Counter[str] = Counter()
    for i in range(originals):
        prompt = caption(sample_scene(rng), rng)
        opening = GenerationOpening(prompt, 90_000 + i)
        original = make(prompt, opening.seed)[0].convert("RGB")
        for edit in ISSUE11_EDITS:
            copy = edit.apply(original, edit_rng(seed, f"proof{i}", edit.name)).convert("RGB")
            copies["copies"] += 1
            if _matches(original, copy):
                copies["stage 3 matches"] += 1
            if clears(original, copy, opening, make)[0]:
                copies["cleared by the original's opening"] += 1
        # the regenerated copy: the original's own bytes with a few values moved by one level
        nudged = np.asarray(original, dtype=np.int16).copy()
        nudged[0, :8, 0] = np.clip(nudged[0, :8, 0] + 1, 0, 255)
        regen = Image.fromarray(nudged.astype(np.uint8))
        copies["regenerated copies"] += 1
        if clears(original, regen, opening, make)[0]:
            copies["regenerated copies cleared"] += 1
    return {
        "prompts": prompts,
        "seeds": seeds,
        "originals": originals,
        "edits": [e.name for e in ISSUE11_EDITS],
        "independent_pairs": dict(sorted(pairs.items())),
        "copies": dict(sorted(copies.items())),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--originals", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--cross", action="store_true", help="also pairs across seeds")
    args = parser.parse_args()
    report = measure(args.prompts, args.seeds, args.originals, seed=args.seed, cross=args.cross)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
