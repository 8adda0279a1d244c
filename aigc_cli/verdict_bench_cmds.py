"""`aigc bench corpus ...` and `aigc bench verdict` (issue 11), registered on import.

* ``aigc bench corpus packages``: the Debian packages the corpus reads, and which are installed.
* ``aigc bench corpus build [--out DIR]``: build the distinct-image corpus (PNGs + index.json).
* ``aigc bench verdict [--corpus DIR] [--sample N] [--json]``: false matches per pair of distinct
  images and recall per edit of a rule. The default, ``--rule v2-stage3``, is the deployed
  verdict at its strongest (the compact and detail stages, then the committee's comparison of
  the two images, stage3.py): what revokes a token whose owner defends it. ``--rule v2`` is the
  on-chain stages alone, ``--rule v1`` the compact fingerprint alone (the wave-1 rule).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigc_cli._console import clean_errors, console, err_console, fail
from aigc_cli.groups import bench_app
from services.provenance import ProvenanceError

if TYPE_CHECKING:
    from aigc_lab.provenance.verdict_bench import FalseMatchReport, RecallReport

corpus_app = typer.Typer(help="The distinct-image corpus of the verdict benchmark (issue 11).")
bench_app.add_typer(corpus_app, name="corpus")

_DEFAULT_DIR = Path(".aigc/corpus")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    )  # fmt: skip


def _installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stdout.strip().endswith("installed")


@corpus_app.command("packages")
def corpus_packages() -> None:
    """List the Debian packages the corpus reads (install: scripts/install-corpus-packages)."""
    from aigc_lab.provenance.corpus_v2 import DEBIAN_PACKAGES

    table = Table(title="corpus packages (scripts/install-corpus-packages installs them)")
    for column in ("package", "images", "installed"):
        table.add_column(column)
    for package, what in DEBIAN_PACKAGES.items():
        table.add_row(package, what, "yes" if _installed(package) else "[yellow]no[/]")
    console.print(table)


@corpus_app.command("build")
@clean_errors(ProvenanceError, OSError)
def corpus_build(
    out: Annotated[
        Path, typer.Option(help="Folder to write PNGs and index.json to")
    ] = _DEFAULT_DIR,
    sources: Annotated[
        str | None, typer.Option(help="Comma-separated sources (default: all)")
    ] = None,
    generated: Annotated[int, typer.Option(min=0, help="Images of the bundled model")] = 800,
    workers: Annotated[int, typer.Option(min=1, help="Decoding processes")] = 2,
    limit_per_source: Annotated[
        int | None, typer.Option(min=1, help="Keep at most N files per source (quick runs)")
    ] = None,
) -> None:
    """Build the distinct-image corpus from installed packages; installs nothing."""
    from aigc_lab.provenance.corpus_v2 import DEBIAN_PACKAGES, SOURCES, build_corpus_v2

    missing = [p for p in DEBIAN_PACKAGES if not _installed(p)]
    if missing:
        err_console.print(
            f"[yellow]not installed (their images are skipped):[/] {', '.join(missing)}; "
            "run scripts/install-corpus-packages"
        )
    chosen = tuple(s.strip() for s in sources.split(",")) if sources else SOURCES
    with _progress() as bar:
        task = bar.add_task("building corpus", total=None)
        summary = build_corpus_v2(
            out, sources=chosen, generated=generated, workers=workers,
            limit_per_source=limit_per_source,
            progress=lambda source, n: bar.update(task, description=f"{source}: {n} images"),
        )  # fmt: skip
    table = Table(title=f"corpus at {summary.out}")
    for column in ("source", "images", "groups", "dropped"):
        table.add_column(column, justify="right" if column != "source" else "left")
    for source in chosen:
        drops = {k.split(":", 1)[1]: v for k, v in summary.dropped.items() if k.startswith(source)}
        text = ", ".join(f"{k} {v}" for k, v in sorted(drops.items())) or "-"
        table.add_row(
            source, str(summary.images.get(source, 0)), str(summary.groups.get(source, 0)), text
        )
    table.add_row("all", str(summary.total_images), str(summary.total_groups), "")
    console.print(table)
    console.print(f"groups merged as the same picture (32x32 RGB check): {summary.merged_groups}")


@bench_app.command("verdict")
@clean_errors(ProvenanceError, OSError)
def bench_verdict(
    corpus: Annotated[Path, typer.Option(help="A built corpus folder")] = _DEFAULT_DIR,
    sample: Annotated[int, typer.Option(min=1, help="Originals edited for recall")] = 500,
    rule: Annotated[
        str,
        typer.Option(
            help="v2-stage3 (the deployed verdict: compact and detail stages, then "
            "stage3.py on the two images, what a committee review revokes by) | v2 (the "
            "on-chain stages only) | v2-trim | v1 (the compact fingerprint alone)"
        ),
    ] = "v2-stage3",
    threshold: Annotated[
        int | None, typer.Option(min=0, max=64, help="Compact threshold (default: the rule's)")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=2, help="Use the first N images only")] = None,
    worst: Annotated[int, typer.Option(min=0, help="Worst false matches to list")] = 15,
    seed: Annotated[int, typer.Option(help="Seed of the sample and the edits")] = 11,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """False matches per pair of distinct images and recall per issue-11 edit of a rule."""
    from aigc_lab.provenance.corpus_v2 import load_corpus
    from aigc_lab.provenance.verdict_bench import load_rule, measure_false_matches, measure_recall

    chosen = load_rule(rule, threshold=threshold)
    images = load_corpus(corpus, limit=limit)
    if len(images) < 2:
        raise fail(f"the corpus at {corpus} has fewer than 2 images")
    with _progress() as bar:
        task = bar.add_task("verdict benchmark", total=None)

        def tick(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        pairs = measure_false_matches(chosen, images, worst=worst, progress=tick)
        recall = measure_recall(chosen, images, sample=sample, seed=seed, progress=tick)
    if json_out:
        print(json.dumps(_payload(chosen.name, chosen.threshold, pairs, recall)))
        return
    _print(chosen.name, chosen.threshold, pairs, recall, corpus)


def _shown(corpus: Path, path: str, origin: str) -> str:
    return f"{corpus / path}\n({origin})" if origin else str(corpus / path)


def _payload(
    name: str, threshold: int, pairs: FalseMatchReport, recall: RecallReport
) -> dict[str, object]:
    fm = asdict(pairs) | {
        "rate": pairs.rate, "upper_95": pairs.upper_95, "compact_rate": pairs.compact_rate,
    }  # fmt: skip
    from aigc_lab.provenance.verdict_bench import compact_sweep

    rc = asdict(recall) | {"mean": recall.mean, "min": recall.minimum}
    sweep = [
        {"threshold": t, "false_match_rate": f, "mean_recall": m, "min_recall": low}
        for t, f, m, low in compact_sweep(pairs, recall, range(25))
    ]
    return {
        "rule": name, "threshold": threshold, "false_matches": fm, "recall": rc,
        "compact_sweep": sweep,
    }  # fmt: skip


def _print(
    name: str, threshold: int, pairs: FalseMatchReport, recall: RecallReport, corpus: Path
) -> None:
    from aigc_lab.provenance.verdict_bench import compact_sweep

    head = Table(title=f"verdict benchmark: rule {name}, compact threshold {threshold}")
    head.add_column("measure")
    head.add_column("value", justify="right")
    head.add_row("images / groups", f"{pairs.images:,} / {pairs.groups:,}")
    head.add_row("pairs of distinct images", f"{pairs.pairs:,}")
    head.add_row("admitted by the compact stage", f"{pairs.compact_admitted:,}")
    staged = pairs.detail_upheld != pairs.false_matches or "stage 3" in name
    if staged:
        head.add_row("upheld by stages 1-2 (stage 3 is asked)", f"{pairs.detail_upheld:,}")
    head.add_row("false matches (full rule)", f"{pairs.false_matches:,}")
    head.add_row("false-match rate per pair", f"{pairs.rate:.2e}")
    head.add_row("95% upper bound", f"{pairs.upper_95:.2e}")
    head.add_row(f"recall over {recall.sample} originals: mean", f"{recall.mean:.3f}")
    head.add_row("recall: worst edit", f"{recall.minimum:.3f}")
    head.add_row("seconds (pairs / recall)", f"{pairs.seconds:.0f} / {recall.seconds:.0f}")
    console.print(head)
    sources = Table(title="false matches by source pair")
    for column in ("sources", "false matches", "pairs", "rate"):
        sources.add_column(column, justify="right" if column != "sources" else "left")
    for key, (hits, count) in sorted(pairs.by_source.items()):
        sources.add_row(key, f"{hits:,}", f"{count:,}", f"{hits / count:.2e}")
    console.print(sources)
    edits = Table(title="recall per edit (copies refused as degenerate are not counted)")
    columns = (
        ("edit", "stages 1-2", "recall", "refused") if staged else ("edit", "recall", "refused")
    )
    for column in columns:
        edits.add_column(column, justify="right" if column != "edit" else "left")
    for edit, value in recall.recall.items():
        style = "" if value >= 0.8 else "[red]"
        cells = [edit, f"{style}{value:.3f}", str(recall.refused[edit])]
        if staged:
            cells.insert(1, f"{recall.detail_recall.get(edit, float('nan')):.3f}")
        edits.add_row(*cells)
    console.print(edits)
    sweep = Table(title="compact stage alone, by threshold (detail stage ignored)")
    for column in ("threshold", "false-match rate", "mean recall", "min recall"):
        sweep.add_column(column, justify="right")
    for t, fmr, mean, low in compact_sweep(pairs, recall, range(4, 21, 2)):
        sweep.add_row(str(t), f"{fmr:.2e}", f"{mean:.3f}", f"{low:.3f}")
    console.print(sweep)
    if pairs.worst:
        worst = Table(title="worst false matches (lowest compact distance first)")
        for column in ("distance", "a", "b"):
            worst.add_column(column, overflow="fold")
        for hit in pairs.worst:
            worst.add_row(
                str(hit.distance),
                _shown(corpus, hit.a, hit.origin_a),
                _shown(corpus, hit.b, hit.origin_b),
            )
        console.print(worst)
