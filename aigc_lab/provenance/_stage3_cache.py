"""Cache what stage 3 is asked about, then score stage-3 options on it in minutes (issue 11).

Stage 3 (``services/provenance/stage3.py``) only sees pairs that stages 1 and 2 uphold, so an
option for it can be scored on those alone instead of on the ~72.9M pairs of the corpus:

* ``build``: runs the deployed two stages once (``verdict_bench``'s ``v2`` rule, compact 15,
  with ``keep_upheld``) and writes a JSON file of the distinct pairs they uphold (the false
  matches stage 3 must remove), the recall sample's (original, edit) copies they uphold (which
  stage 3 must keep) and the number of copies tried per edit (recall's denominator). Copies are
  not stored: ``edits.edit_rng`` regenerates each one exactly.
* ``score``: computes :func:`~services.provenance.stage3.stage3_score` of every cached pair and
  copy (optionally with some of ``stage3``'s module constants overridden, ``--set NAME=VALUE``),
  writes the raw scores next to the cache and prints false matches and recall at a grid of
  (share, area) thresholds: the same figures ``aigc bench verdict --rule v2-stage3`` prints for
  the deployed thresholds, without re-running stages 1 and 2.
* ``show``: the pairs still matching at given thresholds, worst first, with their files.

Usage (harness code; the product does not import it)::

    python -m aigc_lab.provenance._stage3_cache build [--corpus .aigc/corpus] [--sample 200]
    python -m aigc_lab.provenance._stage3_cache score [--set LUMA_TOL=24] [--tag name]
    python -m aigc_lab.provenance._stage3_cache show --share 8500 --area 1200
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aigc_lab.provenance.corpus_v2 import DEFAULT_CORPUS_DIR
from aigc_lab.provenance.edits import ISSUE11_EDITS, edit_rng
from services.provenance.errors import CorpusError, DegenerateImageError

DEFAULT_CACHE = Path(".aigc/stage3-cache.json")
_SHARES = (0, 8000, 8500, 9000, 9200, 9400)
_AREAS = (10000, 2000, 1200, 800)
_DETAILS = (0, 3000, 5000, 7000, 8000, 9000)


def build(
    corpus_dir: Path, out: Path, *, sample: int, seed: int, threshold: int | None
) -> dict[str, Any]:
    """Run stages 1 and 2 over the corpus and write what they uphold to ``out``."""
    from aigc_lab.provenance.corpus_v2 import load_corpus
    from aigc_lab.provenance.verdict_bench import load_rule, measure_false_matches, measure_recall

    rule = load_rule("v2", threshold=threshold)
    images = load_corpus(corpus_dir)
    started = time.perf_counter()

    def tick(stage: str, done: int, total: int) -> None:
        if done == total or done % 2000 == 0:
            print(f"  {stage} {done}/{total} ({time.perf_counter() - started:.0f} s)", flush=True)

    pairs = measure_false_matches(rule, images, worst=0, progress=tick, keep_upheld=True)
    recall = measure_recall(rule, images, sample=sample, seed=seed, progress=tick)
    by_path = {item.path: item for item in images}
    document = {
        "version": 1,
        "corpus": str(corpus_dir),
        "rule": rule.name,
        "threshold": rule.threshold,
        "seed": seed,
        "sample": recall.sample,
        "images": pairs.images,
        "distinct_pairs": pairs.pairs,
        "compact_admitted": pairs.compact_admitted,
        "upheld_pairs": [
            [a, b, by_path[a].source, by_path[b].source, by_path[a].origin, by_path[b].origin]
            for a, b in pairs.upheld
        ],
        "tried": recall.tried,
        "two_stage_recall": recall.recall,
        "upheld_copies": recall.upheld,
        "seconds": time.perf_counter() - started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document))
    return document


def _load(cache: Path) -> dict[str, Any]:
    if not cache.is_file():
        raise CorpusError(f"no stage-3 cache at {cache} (run `... _stage3_cache build`)")
    document: dict[str, Any] = json.loads(cache.read_text())
    return document


def _override(settings: Sequence[str]) -> dict[str, object]:
    """Set ``NAME=VALUE`` constants of ``stage3``; returns the old values (to restore)."""
    import services.provenance.stage3 as stage3

    old: dict[str, object] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if not name.isupper() or not hasattr(stage3, name):
            _restore(old)
            raise CorpusError(f"stage3 has no constant {name!r}")
        old.setdefault(name, getattr(stage3, name))
        setattr(stage3, name, float(value) if isinstance(old[name], float) else int(float(value)))
    return old


def _restore(old: dict[str, object]) -> None:
    import services.provenance.stage3 as stage3

    for name, value in old.items():
        setattr(stage3, name, value)


def score(cache: Path, *, settings: Sequence[str] = (), tag: str = "", every: int = 1) -> Path:
    """Stage-3 scores of every cached pair and copy, saved as ``<cache>.<tag>.npz``.

    ``every`` > 1: only the pairs whose earlier image's path hashes (crc32) to 0 modulo
    ``every``, a quick look whose false matches are then counted ``every`` times."""

    document = _load(cache)
    old = _override(settings)
    try:
        return _score(cache, document, tag, every)
    finally:
        _restore(old)


def _score(cache: Path, document: dict[str, Any], tag: str, every: int) -> Path:
    from services.provenance.stage3 import stage3_features, stage3_score

    root = Path(document["corpus"])
    loaded: dict[str, Image.Image] = {}

    def image(path: str) -> Image.Image:
        if path not in loaded:
            with Image.open(root / path) as raw:
                loaded[path] = raw.convert("RGB")
        return loaded[path]

    started = time.perf_counter()
    pairs = sorted(document["upheld_pairs"], key=lambda p: (p[0], p[1]))
    if every > 1:  # whole rows (one earlier image), so that its features are computed once
        pairs = [p for p in pairs if zlib.crc32(p[0].encode()) % every == 0]
    rows = np.zeros((len(pairs), 7), dtype=np.int64)
    current, fa = "", None
    for k, (a, b, *_rest) in enumerate(pairs):
        if a != current:
            current, fa = a, stage3_features(image(a))
        s = stage3_score(fa, stage3_features(image(b), earlier=False))  # type: ignore[arg-type]
        rows[k] = (s.share, s.area, s.colour, s.orientation, s.hypothesis, s.alpha, s.detail)
        if (k + 1) % 2000 == 0:
            print(f"  pairs {k + 1}/{len(pairs)} ({time.perf_counter() - started:.0f} s)")
    copies: list[tuple[str, str]] = sorted(
        (path, edit) for edit, paths in document["upheld_copies"].items() for path in paths
    )
    edits = {e.name: e for e in ISSUE11_EDITS}
    crow = np.zeros((len(copies), 7), dtype=np.int64)
    current = ""
    for k, (path, name) in enumerate(copies):
        original = image(path)
        copy = edits[name].apply(original, edit_rng(document["seed"], path, name))
        try:
            if path != current:
                current, fa = path, stage3_features(original)
            s = stage3_score(fa, copy)  # type: ignore[arg-type]
        except DegenerateImageError:
            continue
        crow[k] = (s.share, s.area, s.colour, s.orientation, s.hypothesis, s.alpha, s.detail)
    out = cache.with_suffix(f".{tag or 'default'}.npz")
    np.savez_compressed(
        out, pairs=rows, copies=crow,
        pair_paths=np.array([[p[0], p[1]] for p in pairs], dtype=object).astype(str),
        every=np.array(every),
        copy_keys=np.array(copies, dtype=str).reshape(-1, 2),
    )  # fmt: skip
    print(f"scored {len(pairs):,} pairs and {len(copies):,} copies in "
          f"{time.perf_counter() - started:.0f} s -> {out}")  # fmt: skip
    return out


def report(
    cache: Path,
    scores: Path,
    *,
    shares: Sequence[int] = _SHARES,
    areas: Sequence[int] = _AREAS,
    details: Sequence[int] = (0,),
) -> list[dict[str, Any]]:
    """False matches and recall (mean, min, per edit) for each (share, area, detail) threshold."""
    document = _load(cache)
    data = np.load(scores)
    pairs, copies, keys = data["pairs"], data["copies"], data["copy_keys"]
    every = int(data["every"]) if "every" in data else 1
    tried = document["tried"]
    total = document["distinct_pairs"]
    rows = []
    has_detail = pairs.shape[1] > 6
    for smin, amax, dmin in ((s, a, d) for d in details for s in shares for a in areas):
        hit = (pairs[:, 0] >= smin) & (pairs[:, 1] <= amax)
        ok = (copies[:, 0] >= smin) & (copies[:, 1] <= amax)
        if has_detail:
            hit &= pairs[:, 6] >= dmin
            ok &= copies[:, 6] >= dmin
        fm = every * int(hit.sum())
        per_edit = {}
        for edit in tried:
            caught = int(ok[keys[:, 1] == edit].sum()) if len(keys) else 0
            per_edit[edit] = caught / tried[edit] if tried[edit] else float("nan")
        values = list(per_edit.values())
        kept = float(ok.mean()) if len(ok) else float("nan")
        rows.append({
            "share": smin, "area": amax, "detail": dmin, "false_matches": fm,
            "rate": fm / total,
            "mean": float(np.nanmean(values)), "min": float(np.nanmin(values)),
            "worst": min(per_edit, key=lambda e: per_edit[e]), "per_edit": per_edit,
            "kept": kept,
        })  # fmt: skip
    return rows


def _print_report(rows: list[dict[str, Any]], document: dict[str, Any]) -> None:
    upheld = len(document["upheld_pairs"])
    two = document["two_stage_recall"]
    print(f"two stages: {upheld:,} false matches over {document['distinct_pairs']:,} pairs "
          f"({upheld / document['distinct_pairs']:.1e}); recall mean "
          f"{np.mean(list(two.values())):.3f} min {min(two.values()):.3f}")  # fmt: skip
    print("(kept: the share of the copies stages 1-2 uphold that stage 3 also upholds)")
    print(f"{'share':>6} {'area':>6} {'detail':>6} {'FM':>7} {'per pair':>9} {'mean':>6} "
          f"{'min':>6} {'kept':>6}  worst")  # fmt: skip
    for r in rows:
        print(f"{r['share']:>6} {r['area']:>6} {r['detail']:>6} {r['false_matches']:>7} "
              f"{r['rate']:>9.1e} "
              f"{r['mean']:>6.3f} {r['min']:>6.3f} {r['kept']:>6.3f}  {r['worst']}")  # fmt: skip


def show(cache: Path, scores: Path, *, share: int, area: int, limit: int, detail: int = 0) -> None:
    """The cached pairs still matching at (share, area, detail), highest share first."""
    document = _load(cache)
    data = np.load(scores)
    pairs, paths = data["pairs"], data["pair_paths"]
    info = {(p[0], p[1]): p for p in document["upheld_pairs"]}
    matched = (pairs[:, 0] >= share) & (pairs[:, 1] <= area)
    if pairs.shape[1] > 6:
        matched &= pairs[:, 6] >= detail
    hit = np.flatnonzero(matched)
    hit = hit[np.lexsort((pairs[hit, 1], -pairs[hit, 0]))]
    print(f"{len(hit):,} pairs match at share >= {share}, area <= {area}, detail >= {detail}")
    turned = int((pairs[hit, 3] != 0).sum())
    print(f"  matched only turned or mirrored (orientation != 0, dihedral twins): {turned:,}")
    by_source: dict[str, list[int]] = {}
    for k in hit:
        _, _, sa, sb, _, _ = info[(paths[k][0], paths[k][1])]
        key = "-".join(sorted((sa, sb)))
        by_source.setdefault(key, [0, 0])[int(pairs[k, 3] != 0)] += 1
    for key, (straight, twin) in sorted(by_source.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {key}: {straight + twin:,} ({twin:,} turned or mirrored)")
    for k in hit[:limit]:
        a, b = paths[k]
        _, _, sa, sb, oa, ob = info[(a, b)]
        s = pairs[k]
        print(f"share {s[0]} area {s[1]} colour {s[2]} o {s[3]} h {s[4]} alpha {s[5]} "
              f"detail {s[6] if len(s) > 6 else '-'}: "
              f"{a} ({sa}: {oa}) | {b} ({sb}: {ob})")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aigc_lab.provenance._stage3_cache")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="run stages 1-2 once and cache what they uphold")
    b.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_DIR)
    b.add_argument("--sample", type=int, default=200)
    b.add_argument("--seed", type=int, default=11)
    b.add_argument("--threshold", type=int, default=None)
    for name in ("build", "score", "report", "show"):
        p = b if name == "build" else sub.add_parser(name)
        p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
        if name != "build":
            p.add_argument("--tag", default="default")
        if name == "score":
            p.add_argument("--set", action="append", default=[], help="stage3 constant=value")
            p.add_argument("--every", type=int, default=1, help="score every N-th pair only")
        if name == "show":
            p.add_argument("--share", type=int, default=None)
            p.add_argument("--area", type=int, default=None)
            p.add_argument("--detail", type=int, default=None)
            p.add_argument("--limit", type=int, default=40)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            doc = build(args.corpus, args.cache, sample=args.sample, seed=args.seed,
                        threshold=args.threshold)  # fmt: skip
            print(
                f"{len(doc['upheld_pairs']):,} pairs, "
                f"{sum(len(v) for v in doc['upheld_copies'].values()):,} copies -> {args.cache}"
            )
            return 0
        scores = args.cache.with_suffix(f".{args.tag}.npz")
        if args.command in ("report", "show") and not scores.is_file():
            raise CorpusError(f"no scores at {scores} (run `... _stage3_cache score`)")
        if args.command == "score":
            scores = score(args.cache, settings=args.set, tag=args.tag, every=args.every)
        if args.command in ("score", "report"):
            rows = report(args.cache, scores, details=_DETAILS)
            _print_report(rows, _load(args.cache))
        if args.command == "show":
            from services.provenance import stage3

            share = stage3.SHARE_MIN if args.share is None else args.share
            area = stage3.AREA_MAX if args.area is None else args.area
            detail = stage3.DETAIL_MIN if args.detail is None else args.detail
            show(args.cache, scores, share=share, area=area, limit=args.limit, detail=detail)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
