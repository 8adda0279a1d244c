"""Measure how well a generator follows prompts, on captions whose scenes were held out.

    python -m generators.evaluate --count 200

    python -m generators.evaluate --count 200 --novel-phrasing

Each of the ``count`` held-out captions (:func:`generators.captions.held_out_captions`) is
generated once (seed = its index) and read back by :func:`generators.checker.read_image`; an
image adheres when its background colour, main object colour and main object kind all match.
``--novel-phrasing`` words the same scenes in phrasings never used in training.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from generators.base import Generator
from generators.captions import held_out_captions
from generators.checker import read_image

__all__ = ["GRID_PROMPTS", "AdherenceReport", "main", "measure_adherence", "sample_grid"]

# Prompts for the documentation grid. Each main (colour, shape, background) is a held-out triple.
GRID_PROMPTS = (
    "a blue square on a white background",
    "a large orange circle on a purple background",
    "a white star on a blue background",
    "a green star in the top left on a black background",
    "a yellow triangle on a blue background",
    "a small pink square on a black background",
    "a cyan circle on a striped pink background",
    "an orange diamond and a small green circle on a red background",
    "a purple square at the bottom right on a grey background",
    "a black triangle on a dotted cyan background",
    "a big red star against a pink backdrop",
    "a brown circle in the middle of a cyan background",
)


@dataclass(frozen=True)
class AdherenceReport:
    """Shares of images right on each attribute and on all three, with the failures."""

    count: int
    adherence: float
    background: float
    colour: float
    shape: float
    steps: int
    novel_phrasing: bool = False
    by_shape: dict[str, float] = field(default_factory=dict)
    failures: list[dict[str, object]] = field(default_factory=list)


def measure_adherence(
    generator: Generator,
    *,
    count: int = 200,
    steps: int | None = None,
    guidance_scale: float | None = None,
    novel_phrasing: bool = False,
    on_image: Callable[[int], None] | None = None,
) -> AdherenceReport:
    """Generate each held-out caption once and check it; ``on_image`` is told after each."""
    if count < 1:
        raise ValueError(f"count={count} must be at least 1")
    right = {"all": 0, "background": 0, "colour": 0, "shape": 0}
    shapes: dict[str, list[int]] = {}
    failures: list[dict[str, object]] = []
    used_steps = generator.default_steps if steps is None else steps
    captions = held_out_captions(count, novel_phrasing=novel_phrasing)
    for index, (prompt, scene) in enumerate(captions):
        result = generator.generate(
            prompt, seed=index, steps=used_steps, guidance_scale=guidance_scale
        )
        reading = read_image(result.image)
        checks = {
            "background": reading.background == scene.background,
            "colour": reading.colour == scene.main.colour,
            "shape": reading.shape == scene.main.shape,
        }
        for key, ok in checks.items():
            right[key] += ok
        shapes.setdefault(scene.main.shape, []).append(checks["shape"])
        if all(checks.values()):
            right["all"] += 1
        else:
            failures.append(
                {
                    "index": index,
                    "prompt": prompt,
                    "expected": list(scene.triple),
                    "read": list(reading.triple),
                }
            )
        if on_image is not None:
            on_image(index + 1)
    return AdherenceReport(
        count=count,
        adherence=right["all"] / count,
        background=right["background"] / count,
        colour=right["colour"] / count,
        shape=right["shape"] / count,
        steps=used_steps,
        novel_phrasing=novel_phrasing,
        by_shape={k: sum(v) / len(v) for k, v in sorted(shapes.items())},
        failures=failures,
    )


def sample_grid(
    generator: Generator, prompts: list[str], *, seed: int = 0, columns: int = 4, scale: int = 3
) -> Image.Image:
    """A labelled grid of generated images (each upscaled ``scale`` times, prompt beneath)."""
    if not prompts:
        raise ValueError("prompts must not be empty")
    images = [generator.generate(p, seed=seed).image for p in prompts]
    cell_w = images[0].width * scale
    cell_h = images[0].height * scale + 34
    rows = (len(images) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(grid)
    for i, (prompt, image) in enumerate(zip(prompts, images, strict=True)):
        x, y = (i % columns) * cell_w, (i // columns) * cell_h
        grid.paste(image.resize((cell_w, cell_w), Image.Resampling.NEAREST), (x, y))
        lines, line = ["", ""], 0
        for word in prompt.split():
            if line == 0 and len(lines[0]) + len(word) >= cell_w // 6:
                line = 1
            lines[line] = f"{lines[line]} {word}".strip()
        draw.text((x + 3, y + cell_w + 2), "\n".join(lines), fill="black")
    return grid


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from generators.registry import get_generator

    parser = argparse.ArgumentParser(
        description="Adherence of the bundled model on held-out captions"
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--guidance-scale", type=float, default=None)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument(
        "--novel-phrasing",
        action="store_true",
        help="word the held-out scenes in phrasings never used in training",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the full report here")
    parser.add_argument("--grid", type=Path, default=None, help="also write a sample grid (PNG)")
    args = parser.parse_args(argv)
    generator = get_generator("bundled", weights=args.weights)
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("generating held-out captions", total=args.count)
        report = measure_adherence(
            generator,
            count=args.count,
            steps=args.steps,
            guidance_scale=args.guidance_scale,
            novel_phrasing=args.novel_phrasing,
            on_image=lambda done: progress.update(task, completed=done),
        )
    console = Console()
    console.print(
        f"adherence {report.adherence:.1%} over {report.count} held-out captions "
        f"(background {report.background:.1%}, colour {report.colour:.1%}, "
        f"shape {report.shape:.1%}; {report.steps} steps)"
        + (", phrasings never seen in training" if report.novel_phrasing else "")
    )
    console.print(
        "shape right by kind: "
        + ", ".join(f"{kind} {share:.0%}" for kind, share in report.by_shape.items())
    )
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=1) + "\n")
    if args.grid is not None:
        sample_grid(generator, list(GRID_PROMPTS)).save(args.grid)
        console.print(f"sample grid written to {args.grid}")


if __name__ == "__main__":
    main()
