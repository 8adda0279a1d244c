"""Measure other view sets of the compact fingerprint against the deployed one (issue 11).

The compact fingerprint (``services/provenance/perceptual.py``) hashes four views, each a
``(left, top, right, bottom)`` share trimmed from the image (``perceptual._VIEWS``); the
one-sided 10% crop and the text overlay are the edits stages 1-2 lose most, and they lose them
in the compact stage (docs/provenance.md, "Recall on the plagiarist's edits"). This tool swaps
the views (in this process only) and measures:

* ``sample``: the compact stage alone, at threshold 15, on a seeded sample of originals x every
  issue-11 edit, and the pairs of distinct images admitted at 12-17 among a random subset (a
  proxy for the admission rate; minutes, not the full run's quarter hour);
* ``build``: ``_stage3_cache build`` with the views swapped (stages 1-2 over the whole corpus,
  cached for stage 3; ``... _stage3_cache score --cache <file>`` then scores stage 3 on it);
* ``rethreshold``: the compact distance of every cached pair and copy under a view set, applied
  with the stage-3 scores of a ``score`` run: false matches and recall of stages 1-2 and of
  all three at the cache's compact threshold and the three below it (a lower threshold admits a
  subset of what the cache holds, so no second run over the corpus is needed).

Usage (harness code; the product does not import it)::

    python -m aigc_lab.provenance._compact_views sample --views base lt12 l
    python -m aigc_lab.provenance._compact_views build --views lt12 --threshold 15
    python -m aigc_lab.provenance._compact_views rethreshold --views lt12 \\
        --cache .aigc/stage3-cache-lt12-t15.json --scores .aigc/stage3-cache-lt12-t15.rgb2q.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import services.provenance.perceptual as perceptual
from aigc_lab.provenance.corpus_v2 import DEFAULT_CORPUS_DIR
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from services.provenance.errors import CorpusError, DegenerateImageError
from services.provenance.rule import Fingerprint

_NONE = (0.0, 0.0, 0.0, 0.0)
VIEW_SETS: dict[str, tuple[perceptual.Trims, ...]] = {
    "base": ((0.0,) * 4, (0.05,) * 4, (0.10,) * 4, (0.15,) * 4),
    # one view trimmed by 10% from the left (its mirror covers the right of a symmetric image)
    "l": ((0.0,) * 4, (0.05,) * 4, (0.10,) * 4, (0.10, 0.0, 0.0, 0.0)),
    "c": ((0.0,) * 4, (0.06,) * 4, (0.12,) * 4, (0.10, 0.0, 0.0, 0.0)),
    # two one-sided views (left, top): the transposition covers the other axis
    "lt": ((0.0,) * 4, (0.10,) * 4, (0.10, 0.0, 0.0, 0.0), (0.0, 0.10, 0.0, 0.0)),
    "lt12": ((0.0,) * 4, (0.12,) * 4, (0.10, 0.0, 0.0, 0.0), (0.0, 0.10, 0.0, 0.0)),
    "lt8": ((0.0,) * 4, (0.08,) * 4, (0.10, 0.0, 0.0, 0.0), (0.0, 0.10, 0.0, 0.0)),
    "lt5": ((0.0,) * 4, (0.05,) * 4, (0.10, 0.0, 0.0, 0.0), (0.0, 0.10, 0.0, 0.0)),
    "l8t8": ((0.0,) * 4, (0.10,) * 4, (0.08, 0.0, 0.0, 0.0), (0.0, 0.08, 0.0, 0.0)),
    # a horizontal-only 5% trim (the width a one-sided crop keeps, shifted by half of it)
    "x5": ((0.0,) * 4, (0.05,) * 4, (0.10,) * 4, (0.05, 0.0, 0.05, 0.0)),
    "xy5": ((0.0,) * 4, (0.05,) * 4, (0.05, 0.0, 0.05, 0.0), (0.0, 0.05, 0.0, 0.05)),
    "m4": ((0.0,) * 4, (0.04,) * 4, (0.08,) * 4, (0.13,) * 4),
}
"""The view sets measured (docs/provenance.md); ``base`` is the deployed one."""


@contextmanager
def views(name: str) -> Iterator[None]:
    """Within the block, ``perceptual.fingerprint`` uses the views of set ``name``."""
    if name not in VIEW_SETS:
        raise CorpusError(f"unknown view set {name!r} (one of {', '.join(VIEW_SETS)})")
    old = perceptual._VIEWS
    perceptual._VIEWS = VIEW_SETS[name]  # type: ignore[assignment]
    try:
        yield
    finally:
        perceptual._VIEWS = old


def _open(root: Path, path: str) -> Image.Image:
    with Image.open(root / path) as raw:
        return raw.convert("RGB")


def sample(
    corpus: Path,
    names: Sequence[str],
    *,
    originals: int = 150,
    subset: int = 2500,
    seed: int = 11,
    subset_seed: int = 5,
) -> dict[str, dict[str, Any]]:
    """Compact-stage recall per edit at 15 and distinct pairs admitted at 12-17, per view set."""
    records = json.loads((corpus / "index.json").read_text())["images"]
    out: dict[str, dict[str, Any]] = {name: {"recall": {}, "admitted": {}} for name in names}
    order = np.random.default_rng(seed).permutation(len(records))
    distances: dict[str, dict[str, list[int]]] = {
        n: {e.name: [] for e in ISSUE11_EDITS} for n in names
    }
    done = 0
    for k in order:
        if done == originals:
            break
        record = records[int(k)]
        image = _open(corpus, record["path"])
        try:
            perceptual.fingerprint(image)
        except DegenerateImageError:
            continue
        done += 1
        for edit in ISSUE11_EDITS:
            copy = edit.apply(image, edit_rng(seed, record["path"], edit.name))
            for name in names:
                with views(name):
                    try:
                        d = perceptual.fingerprint(image).distance(perceptual.fingerprint(copy))
                    except DegenerateImageError:
                        continue
                distances[name][edit.name].append(d)
    for name in names:
        out[name]["recall"] = {
            e: float(np.mean(np.array(d) <= 15)) for e, d in distances[name].items() if d
        }
    chosen = np.random.default_rng(subset_seed).choice(
        len(records), min(subset, len(records)), replace=False
    )
    words: dict[str, list[tuple[int, ...]]] = {name: [] for name in names}
    groups = []
    for k in chosen:
        record = records[int(k)]
        image = _open(corpus, record["path"])
        try:
            row = {}
            for name in names:
                with views(name):
                    row[name] = perceptual.fingerprint(image).words
        except DegenerateImageError:
            continue
        for name in names:
            words[name].append(row[name])
        groups.append(record["group"])
    g = np.array(groups)
    distinct = np.triu(g[:, None] != g[None, :], 1)
    for name in names:
        w = np.array(words[name], dtype=np.uint64).reshape(-1, 4)
        best = np.full((len(w), len(w)), 64, dtype=np.uint8)
        for i in range(4):
            for j in range(4):
                np.minimum(best, np.bitwise_count(w[:, i, None] ^ w[None, :, j]), out=best)
        d = best[distinct]
        out[name]["pairs"] = int(d.size)
        out[name]["admitted"] = {t: int((d <= t).sum()) for t in range(12, 18)}
    return out


def build(corpus: Path, name: str, threshold: int, *, sample_size: int = 200) -> Path:
    """``_stage3_cache build`` with view set ``name``; returns the cache file written."""
    from aigc_lab.provenance import _stage3_cache

    out = Path(f".aigc/stage3-cache-{name}-t{threshold}.json")
    with views(name):
        _stage3_cache.build(corpus, out, sample=sample_size, seed=11, threshold=threshold)
    return out


def rethreshold(cache: Path, scores: Path, name: str) -> list[dict[str, Any]]:
    """Stages 1-2 and 1-3 at the cache's compact threshold and the three below, view set
    ``name`` (the one the cache was built with); stage 3 at its deployed thresholds."""
    from services.provenance.stage3 import AREA_MAX, SHARE_MIN

    document = json.loads(cache.read_text())
    data = np.load(scores)
    every = int(data["every"])
    root = Path(document["corpus"])
    prints: dict[str, Fingerprint] = {}
    edits = {e.name: e for e in ISSUE11_EDITS}
    with views(name):

        def fp(path: str) -> Fingerprint:
            if path not in prints:
                prints[path] = perceptual.fingerprint(_open(root, path))
            return prints[path]

        pair_d = np.array([fp(a).distance(fp(b)) for a, b in data["pair_paths"]], dtype=int)
        keys = data["copy_keys"]
        copy_d = []
        for path, edit in keys:
            copy = edits[edit].apply(_open(root, path), edit_rng(document["seed"], path, edit))
            try:
                copy_d.append(fp(path).distance(perceptual.fingerprint(copy)))
            except DegenerateImageError:
                copy_d.append(99)
    pairs, copies = data["pairs"], data["copies"]
    s3_pairs = (pairs[:, 0] >= SHARE_MIN) & (pairs[:, 1] <= AREA_MAX)
    s3_copies = (copies[:, 0] >= SHARE_MIN) & (copies[:, 1] <= AREA_MAX)
    tried = document["tried"]
    rows = []
    top = int(document["threshold"])
    for t in range(top, top - 4, -1):
        for stages, pm, cm in (("1-2", True, True), ("1-3", s3_pairs, s3_copies)):
            fm = every * int(((pair_d <= t) & pm).sum())
            ok = (np.array(copy_d) <= t) & cm
            recall = {e: int(ok[keys[:, 1] == e].sum()) / tried[e] for e in tried if tried[e]}
            rows.append({"threshold": t, "stages": stages, "false_matches": fm,
                         "rate": fm / document["distinct_pairs"], "recall": recall})  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aigc_lab.provenance._compact_views")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="compact-stage recall and admission on a sample")
    s.add_argument("--views", nargs="+", default=["base"])
    s.add_argument("--originals", type=int, default=150)
    s.add_argument("--subset", type=int, default=2500)
    b = sub.add_parser("build", help="_stage3_cache build with other views")
    b.add_argument("--views", required=True)
    b.add_argument("--threshold", type=int, default=15)
    r = sub.add_parser("rethreshold", help="lower compact thresholds from a cache and its scores")
    r.add_argument("--views", required=True)
    r.add_argument("--cache", type=Path, required=True)
    r.add_argument("--scores", type=Path, required=True)
    for p in (s, b):
        p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "sample":
            result = sample(args.corpus, args.views, originals=args.originals, subset=args.subset)
            for name, row in result.items():
                rec = row["recall"]
                mean, low = np.mean(list(rec.values())), min(rec.values())
                print(f"{name}: compact recall at 15 mean {mean:.3f} min {low:.3f}; "
                      f"admitted of {row['pairs']:,} pairs {row['admitted']}")  # fmt: skip
                print("   ", " ".join(f"{e}:{v:.3f}" for e, v in rec.items()))
        elif args.command == "build":
            print(f"-> {build(args.corpus, args.views, args.threshold)}")
        else:
            for row in rethreshold(args.cache, args.scores, args.views):
                rec = row["recall"]
                print(f"compact {row['threshold']} stages {row['stages']}: "
                      f"{row['false_matches']:,} false matches ({row['rate']:.1e}), recall mean "
                      f"{np.mean(list(rec.values())):.3f} min {min(rec.values()):.3f}")  # fmt: skip
                print("   ", " ".join(f"{e}:{v:.3f}" for e, v in rec.items()))
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
