"""`aigc` commands for the provenance domain (registered on import by :mod:`aigc_cli.main`).

* ``aigc fingerprint IMAGE...``: one hex fingerprint per file.
* ``aigc compare A B``: the rule's distance and verdict for two images (or hex fingerprints).
* ``aigc bench provenance``: recall per plagiarist edit and false-match rate, ours vs pHash, and
  the adversarial evasion budget.
* ``aigc bench search``: our near-duplicate index versus FAISS's binary indexes and a BK-tree,
  in the same run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigc_cli._console import clean_errors, console, err_console, fail
from aigc_cli.groups import bench_app
from services.provenance import (
    MATCH_THRESHOLD,
    Fingerprint,
    ProvenanceError,
    fingerprint,
    load_image,
)

if TYPE_CHECKING:
    from aigc_lab.provenance._corpus_search import CorpusSearchReport
    from aigc_lab.provenance.corpus import CorpusImage
    from aigc_lab.provenance.evaluation import RobustnessReport
    from aigc_lab.provenance.search_bench import SearchReport

app = typer.Typer()
EvasionRow = dict[str, float | str | bool]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    )  # fmt: skip


def _fingerprint_of(source: str) -> Fingerprint:
    """A hex fingerprint given literally, or the fingerprint of an image file."""
    if source.lower().startswith("0x") and not Path(source).exists():
        return Fingerprint.from_hex(source)
    return fingerprint(load_image(source))


@app.command("fingerprint")
def fingerprint_cmd(
    images: Annotated[list[Path], typer.Argument(help="Image files to fingerprint")],
) -> None:
    """Print one hex fingerprint per image file (errors go to stderr; exit 1 if any failed)."""
    failed = 0
    for path in images:
        try:
            value = fingerprint(load_image(path))
        except ProvenanceError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            failed += 1
            continue
        console.print(f"{value.hex()}  {escape(str(path))}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@app.command("compare")
@clean_errors(ProvenanceError)
def compare_cmd(
    first: Annotated[str, typer.Argument(help="Image file or 0x-prefixed fingerprint")],
    second: Annotated[str, typer.Argument(help="Image file or 0x-prefixed fingerprint")],
    threshold: Annotated[
        int, typer.Option(help="Largest distance called a match")
    ] = MATCH_THRESHOLD,
) -> None:
    """Print the rule's distance between two images and whether they are near-duplicates."""
    if not 0 <= threshold <= 64:
        raise fail(f"--threshold must be in 0..64, got {threshold}")
    a, b = _fingerprint_of(first), _fingerprint_of(second)
    distance = a.distance(b)
    if distance <= threshold:
        verdict = f"[bold green]match[/]: near-duplicates (distance {distance} <= {threshold})"
    else:
        verdict = f"[bold]no match[/]: different images (distance {distance} > {threshold})"
    console.print(f"distance {distance}")
    console.print(verdict)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


@bench_app.command("provenance")
@clean_errors(ProvenanceError, OSError)
def bench_provenance(
    procedural: Annotated[
        int, typer.Option(help="Procedurally drawn images added to the corpus")
    ] = 150,
    tiles: Annotated[bool, typer.Option(help="Add 2x2 tiles of the larger photographs")] = True,
    photos: Annotated[bool, typer.Option(help="Include the package photographs")] = True,
    faces: Annotated[
        int, typer.Option(help="Add N aligned LFW face crops (false-match stress)")
    ] = 0,
    corpus_seed: Annotated[int, typer.Option(help="First seed of the procedural images")] = 2024,
    edit_set: Annotated[str, typer.Option(help="plagiarist | held-out | all")] = "plagiarist",
    limit: Annotated[int | None, typer.Option(help="Keep only the first N corpus images")] = None,
    edits: Annotated[
        str | None, typer.Option(help="Comma-separated edit names (default: all)")
    ] = None,
    threshold: Annotated[
        int, typer.Option(min=0, max=64, help="Our rule's threshold")
    ] = MATCH_THRESHOLD,
    phash_threshold: Annotated[
        int, typer.Option(min=0, max=64, help="pHash reference threshold")
    ] = 10,
    evasion: Annotated[
        int, typer.Option(min=0, help="Images for the evasion measurement (0: skip)")
    ] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the edits' random choices")] = 7,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Recall per plagiarist edit and false-match rate: our fingerprint versus 64-bit pHash."""
    from aigc_lab.provenance.corpus import build_corpus
    from aigc_lab.provenance.edits import EDITS, edit_by_name
    from aigc_lab.provenance.evaluation import evaluate_robustness
    from aigc_lab.provenance.held_out import HELD_OUT_EDITS

    sets = {"plagiarist": EDITS, "held-out": HELD_OUT_EDITS, "all": (*EDITS, *HELD_OUT_EDITS)}
    if edit_set not in sets:
        raise fail(f"--edit-set must be one of {', '.join(sets)}, got {edit_set!r}")
    chosen = [edit_by_name(n.strip()) for n in edits.split(",")] if edits else list(sets[edit_set])
    corpus = build_corpus(
        procedural=procedural, tiles=tiles, photos=photos, faces=faces, seed=corpus_seed,
        limit=limit,
    )  # fmt: skip
    with _progress() as bar:
        task = bar.add_task(f"{len(corpus)} images x {len(chosen)} edits", total=len(corpus))
        report = evaluate_robustness(
            corpus, chosen, threshold=threshold, phash_threshold=phash_threshold, seed=seed,
            progress=lambda: bar.advance(task),
        )  # fmt: skip
    evasion_rows = _evasion(corpus, evasion, threshold) if evasion > 0 else []
    if json_out:
        payload = asdict(report) | {"mean_recall": report.mean_recall, "evasion": evasion_rows}
        console.print_json(json.dumps(payload))
        return
    _print_robustness(report, evasion_rows)


def _print_robustness(report: RobustnessReport, evasion_rows: list[EvasionRow]) -> None:
    table = Table(title=f"Recall per edit over {report.originals} originals")
    table.add_column("edit")
    table.add_column(f"ours (d <= {report.threshold})", justify="right")
    table.add_column(f"pHash (d <= {report.phash_threshold})", justify="right")
    table.add_column(f"pHash (d <= {report.phash_budget_threshold}, FMR budget)", justify="right")
    table.add_column("refused", justify="right")
    for name, value in report.recall.items():
        table.add_row(
            name, _pct(value), _pct(report.phash_recall[name]),
            _pct(report.phash_budget_recall[name]), str(report.refused[name]),
        )  # fmt: skip
    table.add_row(
        "[bold]mean / min[/]",
        f"{_pct(report.mean_recall)} / {_pct(report.min_recall)}",
        _mean_min(report.phash_recall),
        _mean_min(report.phash_budget_recall),
        "",
    )
    table.add_row(
        "[bold]false-match rate[/]", f"{100 * report.false_match_rate:.3f}%",
        f"{100 * report.phash_false_match_rate:.3f}%",
        f"{100 * report.phash_budget_false_match_rate:.3f}%", f"{report.distinct_pairs:,} pairs",
    )  # fmt: skip
    console.print(table)
    roc = Table(title="Our rule at neighbouring thresholds")
    for column in ("threshold", "false-match rate", "mean recall", "min recall"):
        roc.add_column(column, justify="right")
    for t, fmr, mean_recall, min_recall in report.roc:
        roc.add_row(str(t), f"{100 * fmr:.3f}%", _pct(mean_recall), _pct(min_recall))
    console.print(roc)
    if report.skipped_originals:
        console.print(f"degenerate originals left out: {', '.join(report.skipped_originals)}")
    if evasion_rows:
        ev = Table(
            title="Adversarial evasion: smallest pattern peak (grey levels) that breaks the match"
        )
        for column in ("image", "targeted", "PSNR dB", "random", "PSNR dB"):
            ev.add_column(column, justify="right")
        for row in evasion_rows:
            ev.add_row(
                str(row["image"]), _amp(row, "targeted"), f"{row['targeted_psnr_db']:.1f}",
                _amp(row, "random"), f"{row['random_psnr_db']:.1f}",
            )  # fmt: skip
        console.print(ev)


def _mean_min(recall: dict[str, float]) -> str:
    values = list(recall.values())
    return f"{_pct(sum(values) / len(values))} / {_pct(min(values))}"


def _amp(row: EvasionRow, kind: str) -> str:
    value = f"{row[f'{kind}_amplitude']:.1f}"
    return value if row[f"{kind}_evaded"] else f">{value}"


def _evasion(corpus: Sequence[CorpusImage], count: int, threshold: int) -> list[EvasionRow]:
    import numpy as np

    from aigc_lab.provenance.adversarial import minimal_evasion

    rows: list[EvasionRow] = []
    picked = [item for item in corpus if not item.name.startswith("procedural")][:count]
    with _progress() as bar:
        task = bar.add_task("adversarial evasion", total=len(picked))
        for item in picked:
            try:
                hit = minimal_evasion(item.image, threshold=threshold)
                rnd = minimal_evasion(
                    item.image, targeted=False, rng=np.random.default_rng(1), threshold=threshold
                )
            except ProvenanceError:
                bar.advance(task)
                continue
            rows.append(
                {
                    "image": item.name,
                    "targeted_amplitude": hit.amplitude,
                    "targeted_psnr_db": hit.psnr_db,
                    "targeted_evaded": hit.evaded,
                    "random_amplitude": rnd.amplitude,
                    "random_psnr_db": rnd.psnr_db,
                    "random_evaded": rnd.evaded,
                }
            )
            bar.advance(task)
    return rows


@bench_app.command("search")
@clean_errors(ProvenanceError, OSError, MemoryError)
def bench_search(
    size: Annotated[int, typer.Option(help="Registered fingerprints in the index")] = 1_000_000,
    baseline_size: Annotated[int, typer.Option(help="Entries in the BK-tree baseline")] = 20_000,
    queries: Annotated[int, typer.Option(help="Queries timed on each index")] = 200,
    baseline_queries: Annotated[int, typer.Option(help="Queries timed on the BK-tree")] = 20,
    slow_queries: Annotated[
        int, typer.Option(help="Queries timed on FAISS IndexBinaryMultiHash (slow)")
    ] = 10,
    detail_false_rate: Annotated[
        float | None,
        typer.Option(
            help="P(detail rule matches | compact rule matches) between distinct images, as "
            "measured on real images by `aigc bench verdict`; the false candidates per query "
            "after the final rule are estimated with it"
        ),
    ] = None,
    faiss: Annotated[bool, typer.Option(help="Time FAISS's binary indexes too")] = True,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="A built distinct-image corpus (`aigc bench corpus build`): also measure the "
            "false candidates directly on real images, and estimate with their rate"
        ),
    ] = None,
    corpus_queries: Annotated[
        int, typer.Option(min=1, help="Edited corpus images queried with --corpus")
    ] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic fingerprints")] = 11,
    threshold: Annotated[
        int, typer.Option(help="Compact-rule threshold the index answers at (1..23)")
    ] = MATCH_THRESHOLD,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Our index against FAISS (one thread) and a BK-tree at SIZE fingerprints, in one run."""
    from aigc_lab.provenance.search_bench import run_search_benchmark

    if size < 2 or baseline_size < 2 or queries < 1 or baseline_queries < 1 or slow_queries < 1:
        raise fail("--size and --baseline-size must be >= 2, query counts >= 1")
    if detail_false_rate is not None and not 0.0 <= detail_false_rate <= 1.0:
        raise fail(f"--detail-false-rate must be in 0..1, got {detail_false_rate}")
    if not 1 <= threshold <= 23:
        raise fail(f"--threshold must be in 1..23, got {threshold}")
    real = None
    with _progress() as bar:
        task = bar.add_task("search benchmark", total=None)
        if corpus is not None:
            from aigc_lab.provenance._corpus_search import measure_on_corpus
            from aigc_lab.provenance.corpus_v2 import load_corpus

            bar.update(task, description=f"loading the corpus at {corpus}")
            real = measure_on_corpus(
                load_corpus(corpus), queries=corpus_queries, seed=seed, threshold=threshold,
                progress=lambda msg: bar.update(task, description=msg),
            )  # fmt: skip
            if detail_false_rate is None and real.false_compact_total:
                detail_false_rate = real.conditional_rate
        report = run_search_benchmark(
            size=size, baseline_size=baseline_size, queries=queries,
            baseline_queries=baseline_queries, seed=seed, slow_queries=slow_queries,
            detail_false_rate=detail_false_rate, with_faiss=faiss, threshold=threshold,
            progress=lambda msg: bar.update(task, description=msg),
        )  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    extra: dict[str, object] = {"load_average_1m": load}
    if real is not None:
        extra["corpus"] = asdict(real) | {"conditional_rate": real.conditional_rate}
    if json_out:
        console.print_json(json.dumps(asdict(report) | extra))
        return
    _print_search(report, load)
    if real is not None:
        _print_corpus(real, report.size)


def _print_corpus(real: CorpusSearchReport, size: int) -> None:
    table = Table(title=f"Real images: {real.stored:,} corpus images stored, edited copies queried")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rate = real.conditional_rate
    rows = [
        ("queries (edited copies; refused as degenerate)", f"{real.queries} ({real.refused})"),
        ("candidates per query (compact rule)", f"{real.candidates_per_query:.2f}"),
        ("false candidates per query (compact rule)", f"{real.false_candidates_per_query:.3f}"),
        ("false candidates per query, final rule", f"{real.false_after_final_per_query:.4f}"),
        (f"the same, scaled to {size:,} registrations", f"{real.false_after_final_at(size):.3f}"),
        ("own original found, compact rule", f"{real.own_found_compact:.1%}"),
        ("own original found, final rule", f"{real.own_found_final:.1%}"),
        (
            "P(detail match | compact match), distinct images",
            f"{rate:.2e}"
            + (" (95% bound, none seen)" if real.false_final_total == 0 else "")
            + f" = {real.false_final_total} / {real.false_compact_total}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def _print_search(report: SearchReport, load: float) -> None:
    ms = 1000.0
    options = Table(
        title=f"Near-duplicate search, {report.size:,} fingerprints, one thread "
        f"(load average {load:.1f})",
        caption="median, p95: wall clock per query; CPU: median CPU time of this process per "
        "query; n: queries timed; recall: of the exact answer (yellow where not exact)",
    )
    for column in ("index", "build", "memory", "median", "p95", "CPU", "n", "recall"):
        options.add_column(column, justify="left" if column == "index" else "right")
    for option in report.options:
        options.add_row(
            option.name, f"{option.build_s:.2f} s", f"{option.memory_mb:,.0f} MB",
            f"{option.query_median_s * ms:.2f} ms", f"{option.query_p95_s * ms:.2f} ms",
            f"{option.query_cpu_median_s * ms:.2f} ms", str(option.queries),
            f"{option.recall:.1%}" if option.exact else f"[yellow]{option.recall:.1%}[/]",
        )  # fmt: skip
    console.print(options)
    if report.false_after_final_estimate is None:
        final = "not estimated: pass --detail-false-rate (from `aigc bench verdict`)"
    else:
        final = (
            f"{report.false_after_final_estimate:.4f} (ESTIMATE: "
            f"{report.false_candidates_per_query:.1f} x detail false-match rate "
            f"{report.detail_false_rate:.2e} given a compact match, measured on real images)"
        )
    table = Table(title="Our index in detail, candidates and the BK-tree baseline")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("index build", f"{report.build_s:.2f} s"),
        ("index load (from .npz)", f"{report.load_s:.2f} s"),
        ("query median", f"{report.query_median_s * ms:.2f} ms"),
        ("query p95", f"{report.query_p95_s * ms:.2f} ms"),
        ("query median, CPU time of this process", f"{report.query_cpu_median_s * ms:.2f} ms"),
        ("candidates per query (compact rule)", f"{report.mean_hits:.1f}"),
        ("of which the query's own image", f"{report.true_matches_per_query:.2f}"),
        ("false candidates per query (compact rule)", f"{report.false_candidates_per_query:.1f}"),
        ("false candidates per query after the final rule", final),
        (f"BK-tree build, {report.baseline_size:,} entries", f"{report.baseline_build_s:.2f} s"),
        (f"BK-tree query median, {report.baseline_size:,}", f"{report.bk_median_s * ms:.1f} ms"),
        (
            f"index query median, {report.baseline_size:,}",
            f"{report.index_at_baseline_median_s * ms:.2f} ms",
        ),
        ("same answers as the BK-tree", "yes" if report.same_results else "[bold red]NO[/]"),
        ("speed-up at equal size", f"{report.speedup_same_size:,.0f}x"),
        ("BK-tree cost exponent (size^k)", f"{report.bk_exponent:.2f}"),
        (f"BK-tree query at {report.size:,} (extrapolated)", f"{report.bk_extrapolated_s:.1f} s"),
        (f"speed-up at {report.size:,} (extrapolated)", f"{report.speedup_extrapolated:,.0f}x"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
