"""Recall of the deployed two stages on the bundled model's own images at the size an ESP
delivers them (64 px), against issue 11's edits.

The wave-2 corpus (`corpus_v2`) brings every image to at least 128 px before editing, so its
recall figures describe 128-256 px images; a registered generation of the bundled model is 64 px,
where a JPEG block, a noise grain or a caption glyph covers four times the share of a detail
view's cell. This measures that case directly (docs/provenance.md, "Recall at the bundled
model's native size")::

    python -m aigc_lab.provenance._native_recall --images 60
    python -m aigc_lab.provenance._native_recall --images 60 --upscale 128   # delivered 2x

A copy the fingerprint refuses (``downscale4`` of a 64 px image is 16 px, under ``MIN_SIDE``)
cannot be registered, so it is counted apart and left out of the mean.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from typing import Any

from PIL import Image

from aigc_lab.provenance._corpus_sources import _generator
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from generators.captions import caption
from generators.scene import sample_scene
from services.provenance import detail_descriptor, detail_matches, fingerprint
from services.provenance.errors import ProvenanceError


def measure(images: int, *, upscale: int | None = None, seed: int = 777) -> dict[str, Any]:
    """Per edit: copies scored, copies refused, compact-stage and two-stage recall."""
    rng = random.Random(seed)
    generator = _generator()
    scored: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    compact: Counter[str] = Counter()
    both: Counter[str] = Counter()
    for i in range(images):
        prompt = caption(sample_scene(rng), rng)
        image = generator.generate(prompt, seed=90_000 + i).image.convert("RGB")
        if upscale:
            image = image.resize((upscale, upscale), Image.Resampling.BICUBIC)
        fa, da = fingerprint(image), detail_descriptor(image)
        for edit in ISSUE11_EDITS:
            copy = edit.apply(image, edit_rng(seed, f"native{i}", edit.name))
            try:
                fb, db = fingerprint(copy), detail_descriptor(copy)
            except ProvenanceError:
                refused[edit.name] += 1
                continue
            scored[edit.name] += 1
            if fa.matches(fb):
                compact[edit.name] += 1
                both[edit.name] += detail_matches(da, db)
    per_edit: dict[str, dict[str, Any]] = {
        e.name: {
            "copies": scored[e.name],
            "refused": refused[e.name],
            "compact": compact[e.name] / scored[e.name] if scored[e.name] else None,
            "both": both[e.name] / scored[e.name] if scored[e.name] else None,
        }
        for e in ISSUE11_EDITS
    }
    recalls = [v["both"] for v in per_edit.values() if v["both"] is not None]
    worst = min(per_edit, key=lambda k: 2.0 if per_edit[k]["both"] is None else per_edit[k]["both"])
    return {
        "images": images,
        "size": upscale or "native",
        "per_edit": per_edit,
        "mean": sum(recalls) / len(recalls),
        "min": min(recalls),
        "worst_edit": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--upscale", type=int, default=None, help="bicubic resize before editing")
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = measure(args.images, upscale=args.upscale, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, v in report["per_edit"].items():
        if v["both"] is None:
            print(f"{name:14s} refused {v['refused']} of {v['refused']} (cannot be registered)")
        else:
            print(f"{name:14s} compact {v['compact']:.3f}  both {v['both']:.3f}  ({v['copies']})")
    print(f"mean {report['mean']:.3f}, min {report['min']:.3f} ({report['worst_edit']})")


if __name__ == "__main__":
    main()
