"""Who stage 3 still confuses, and what a gate on the original's structure would buy (issue 11).

Reads a stage-3 cache and its scores (``python -m aigc_lab.provenance._stage3_cache build`` and
``score``) and, for the distinct pairs still matching at the deployed thresholds:

* classifies them by where the two images come from (one package folder, one package, two
  packages), the question whether the corpus counts template families as distinct;
* measures a gate that would refuse to revoke on an original with too little structure: the
  number of *edge cells* of its 64 x 64 luma grid (Pillow ``BOX``; a cell whose gradient
  magnitude, from the differences to its right and lower neighbours, exceeds ``--edge``), at
  thresholds ``--at``; for each, the false matches left and the share of the upheld copies of
  the recall sample whose original passes (what recall would keep at most).

Usage (harness code; the product does not import it)::

    python -m aigc_lab.provenance._structure_gate [--cache .aigc/stage3-cache.json] [--edge 8]
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from services.provenance import stage3

DEFAULT_CACHE = Path(".aigc/stage3-cache.json")


def edge_cells(path: Path, edge: float) -> int:
    """Cells of the image's 64 x 64 luma grid whose gradient magnitude exceeds ``edge``."""
    with Image.open(path) as raw:
        grid = np.asarray(raw.convert("L").resize((64, 64), Image.Resampling.BOX), np.float64)
    gx = np.abs(np.diff(grid, axis=1))[:-1, :]
    gy = np.abs(np.diff(grid, axis=0))[:, :-1]
    return int((np.hypot(gx, gy) > edge).sum())


def _package(origin: str) -> str:
    parts = origin.split("/")
    return parts[3] if origin.startswith("/usr/share/") and len(parts) > 3 else parts[0]


def run(cache: Path, tag: str, edge: float, thresholds: Sequence[int]) -> None:
    document = json.loads(cache.read_text())
    root = Path(document["corpus"])
    data = np.load(cache.with_suffix(f".{tag}.npz"))
    pairs, paths = data["pairs"], data["pair_paths"]
    copies, keys = data["copies"], data["copy_keys"]
    info = {(p[0], p[1]): p for p in document["upheld_pairs"]}

    def matched(rows: np.ndarray) -> np.ndarray:
        return np.flatnonzero((rows[:, 0] >= stage3.SHARE_MIN) & (rows[:, 1] <= stage3.AREA_MAX))

    hit = matched(pairs)
    kinds: Counter[str] = Counter()
    for k in hit:
        *_, origin_a, origin_b = info[(paths[k][0], paths[k][1])]
        if os.path.dirname(origin_a) == os.path.dirname(origin_b):
            kinds["one package folder"] += 1
        elif _package(origin_a) == _package(origin_b):
            kinds["one package"] += 1
        else:
            kinds["two packages"] += 1
    where = ", ".join(f"{k} {v:,}" for k, v in kinds.items())
    print(f"{len(hit):,} distinct pairs match at share >= {stage3.SHARE_MIN}, "
          f"area <= {stage3.AREA_MAX}: {where}")  # fmt: skip
    cells: dict[str, int] = {}

    def structure(path: str) -> int:
        if path not in cells:
            cells[path] = edge_cells(root / path, edge)
        return cells[path]

    originals = np.array([structure(paths[k][0]) for k in hit])
    kept = matched(copies)
    copy_originals = np.array([structure(keys[k][0]) for k in kept])
    for t in thresholds:
        left = int((originals >= t).sum())
        share = float((copy_originals >= t).mean()) if len(kept) else 0.0
        print(f"  original with >= {t} edge cells (gradient > {edge:g}): {left:,} false matches "
              f"left, {share:.3f} of the {len(kept):,} upheld copies kept")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aigc_lab.provenance._structure_gate")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--tag", default="default")
    parser.add_argument("--edge", type=float, default=8.0)
    parser.add_argument("--at", type=int, nargs="+", default=[10, 40, 150, 300])
    args = parser.parse_args(argv)
    if not args.cache.with_suffix(f".{args.tag}.npz").is_file():
        print(f"error: no scores for {args.cache} (run `... _stage3_cache build` and `score`)")
        return 2
    run(args.cache, args.tag, args.edge, args.at)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
