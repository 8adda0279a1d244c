"""`aigc` commands for the generator domain: generate, verify-generation.

Fingerprints come from ``services.provenance`` when it is importable (checked at call time);
without it, audits compare the sha256 of the pixels only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aigc_cli._console import clean_errors, console, err_console, fail
from generators import (
    GenerationRecord,
    GenerationResult,
    Generator,
    GeneratorError,
    get_generator,
    replay,
)
from generators.result import image_sha256

app = typer.Typer()

_IMAGE_SUFFIXES = (".png", ".webp", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")


def _provenance() -> Any | None:
    """``services.provenance`` if it offers ``fingerprint`` (looked up now, not at import)."""
    try:
        from services import provenance
    except ImportError:
        return None
    has_api = hasattr(provenance, "fingerprint") and hasattr(provenance, "Fingerprint")
    return provenance if has_api else None


def _fingerprint_hex(image: Any) -> tuple[str | None, str]:
    """(hex fingerprint, "") or (None, why not)."""
    provenance = _provenance()
    if provenance is None:
        return None, "services.provenance is not available"
    try:
        return str(provenance.fingerprint(image).hex()), ""
    except ValueError as exc:  # provenance errors derive from ValueError (e.g. degenerate image)
        return None, f"fingerprint refused: {exc}"


def _load(
    generator: str | None, checkpoint: Path | None, device: str | None, dtype: str | None
) -> Generator:
    from generators import get_settings

    options: dict[str, Any] = {}
    if device is not None:
        options["device"] = device
    name = generator if generator is not None else ("diffusers" if checkpoint else None)
    if (name or get_settings().generator) == "bundled":
        if dtype is not None:
            raise fail("--dtype applies to the diffusers generator (the bundled one is float32)")
        if checkpoint is not None:
            options["weights"] = checkpoint  # a folder written by `python -m generators.train`
    else:
        if checkpoint is not None:
            options["path"] = checkpoint
        if dtype is not None:
            options["dtype"] = dtype
    with console.status("loading generator"):
        try:
            return get_generator(name, **options)
        except (AssertionError, RuntimeError) as exc:  # torch: a device it was not built for
            where = device or get_settings().generator_device
            raise fail(f"cannot run the generator on device {where!r}: {exc}") from None


def _run(gen: Generator, prompt: str, **kwargs: Any) -> GenerationResult:
    columns = (
        TextColumn("generating"),
        BarColumn(),
        TextColumn("step {task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("generate", total=None)

        def on_step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return gen.generate(prompt, callback=on_step, **kwargs)


def _metadata_table(metadata: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in metadata.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    return table


_GEN_OPT = typer.Option(
    None, "--generator", "-g", help="bundled or diffusers (default: AIGC_GENERATOR)"
)
_CKPT_OPT = typer.Option(
    None, "--checkpoint", help="diffusers checkpoint folder (selects diffusers)"
)
_DEVICE_OPT = typer.Option(None, "--device", help="cpu, cuda[:N] or mps")
_DTYPE_OPT = typer.Option(None, "--dtype", help="float32, float16 or bfloat16 (diffusers only)")


def _check_writable(path: Path, option: str) -> None:
    """A clean exit, before anything is generated or written, when ``path`` cannot be a file:
    a folder is there, or a file stands where one of its parent folders would go."""
    if path.is_dir():
        raise fail(f"{option} {path}: is a folder (name a file in it)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise fail(f"{option} {path}: {parent} is a file, not a folder")
            return


@app.command("generate")
@clean_errors(GeneratorError, OSError)
def generate_cmd(
    prompt: str = typer.Argument(
        ..., help="what to draw, e.g. 'a red circle on a blue background'"
    ),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same image)"),
    output: Path = typer.Option(..., "--output", "-o", help="image file to write (.png)"),
    steps: int | None = typer.Option(None, "--steps", help="denoising steps (default: model's)"),
    width: int | None = typer.Option(None, "--width", help="pixels (default: model's)"),
    height: int | None = typer.Option(None, "--height", help="pixels (default: model's)"),
    guidance_scale: float | None = typer.Option(
        None, "--guidance-scale", help="classifier-free guidance (default: model's)"
    ),
    record: Path | None = typer.Option(None, "--record", help="also write the JSON audit record"),
    generator: str | None = _GEN_OPT,
    checkpoint: Path | None = _CKPT_OPT,
    device: str | None = _DEVICE_OPT,
    dtype: str | None = _DTYPE_OPT,
) -> None:
    """Generate an image from a prompt, save it and print how it was made."""
    if output.suffix.lower() not in _IMAGE_SUFFIXES:
        raise fail(
            f"--output {output}: unsupported image type (use one of {', '.join(_IMAGE_SUFFIXES)})"
        )
    _check_writable(output, "--output")
    if record is not None:
        _check_writable(record, "--record")
    gen = _load(generator, checkpoint, device, dtype)
    result = _run(
        gen,
        prompt,
        seed=seed,
        steps=steps,
        width=width,
        height=height,
        guidance_scale=guidance_scale,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    result.image.save(output)
    fingerprint, why = _fingerprint_hex(result.image)
    metadata = result.metadata()
    metadata["fingerprint"] = fingerprint or f"n/a ({why})"
    console.print(_metadata_table(metadata, f"wrote {output}"))
    if result.unknown_words:
        err_console.print(
            f"[yellow]ignored words the model does not know:[/] {', '.join(result.unknown_words)}"
        )
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(GenerationRecord.from_result(result, fingerprint=fingerprint).to_json())
        console.print(f"record written to {record}")


def _verdict_rows(
    rec: GenerationRecord, image: Any, claimed: Any | None
) -> tuple[list[tuple[str, str, bool | None]], bool]:
    """(check, detail, passed) rows and the overall verdict."""
    new_sha = image_sha256(image)
    rows: list[tuple[str, str, bool | None]] = [
        (
            "image sha256",
            f"recorded {rec.image_sha256[:16]}…, replay {new_sha[:16]}…",
            new_sha == rec.image_sha256,
        )
    ]
    provenance = _provenance()
    fp_ok: bool | None = None
    if provenance is None:
        rows.append(("fingerprint", "not checked: services.provenance is not available", None))
    elif rec.fingerprint is None:
        rows.append(("fingerprint", "not checked: the record carries none", None))
    else:
        try:
            recorded = provenance.Fingerprint.from_hex(rec.fingerprint)
            replayed = provenance.fingerprint(image)
            fp_ok = bool(recorded.matches(replayed))
            rows.append(("fingerprint", f"distance {recorded.distance(replayed)}", fp_ok))
            if claimed is not None:
                claimed_ok = bool(recorded.matches(provenance.fingerprint(claimed)))
                rows.append(("claimed image fingerprint", "vs record", claimed_ok))
                fp_ok = fp_ok and claimed_ok
        except ValueError as exc:
            rows.append(("fingerprint", f"cannot compare: {exc}", False))
            fp_ok = False
    if claimed is not None:
        rows.append(
            ("claimed image sha256", "vs record", image_sha256(claimed) == rec.image_sha256)
        )
    verdict = fp_ok if fp_ok is not None else new_sha == rec.image_sha256
    if claimed is not None and fp_ok is None:
        verdict = verdict and image_sha256(claimed) == rec.image_sha256
    return rows, verdict


@app.command("verify-generation")
@clean_errors(GeneratorError, OSError)
def verify_generation_cmd(
    record: Path = typer.Argument(..., help="JSON record written by `aigc generate --record`"),
    image: Path | None = typer.Option(None, "--image", help="the claimed image, checked too"),
    save: Path | None = typer.Option(None, "--save", help="write the replayed image here"),
    checkpoint: Path | None = _CKPT_OPT,
    device: str | None = _DEVICE_OPT,
    dtype: str | None = _DTYPE_OPT,
) -> None:
    """Re-run a recorded generation and report whether its fingerprint matches the record."""
    from PIL import Image, UnidentifiedImageError

    try:
        rec = GenerationRecord.from_json(record.read_text())
    except (UnicodeDecodeError, GeneratorError) as exc:  # a binary file, bad JSON, a bad field
        raise fail(
            f"{record}: not a generation record (`aigc generate --record` writes one): {exc}"
        ) from None
    claimed = None
    if image is not None:
        try:
            claimed = Image.open(image).convert("RGB")
        except UnidentifiedImageError as exc:
            raise fail(f"--image {image}: not an image file") from exc
    gen = _load(rec.generator, checkpoint, device, dtype)
    columns = (TextColumn("replaying"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        progress.add_task("replay", total=None)
        rerun = replay(rec, gen)
    if save is not None:
        rerun.result.image.save(save)
    table = Table(title=f"audit of {record}")
    for column in ("check", "detail", "result"):
        table.add_column(column)
    table.add_row(
        "weights sha256",
        rec.weights_sha256[:16] + "…",
        "[green]match" if rerun.weights_match else "[red]DIFFERENT",
    )
    table.add_row(
        "scheduler", rec.scheduler, "[green]match" if rerun.scheduler_match else "[red]DIFFERENT"
    )
    rows, verdict = _verdict_rows(rec, rerun.result.image, claimed)
    for name, detail, ok in rows:
        table.add_row(
            name, detail, "[dim]n/a" if ok is None else "[green]match" if ok else "[red]MISMATCH"
        )
    console.print(table)
    verdict = verdict and rerun.weights_match
    if not verdict:
        raise fail("NOT VERIFIED: the replay does not reproduce the recorded image")
    console.print("[bold green]VERIFIED[/]: the recorded generation reproduces the image")
