"""Train the bundled model from scratch on procedurally rendered, captioned scenes.

    python -m generators.train --out /tmp/stage-a
    python -m generators.train --init-from /tmp/stage-a --seed 1 --steps 2000 --lr 5e-4 \
        --foreground-weight 5 --out /tmp/stage-b
    python -m generators.train --init-from /tmp/stage-b --seed 2 --steps 1200 --lr 4e-4 \
        --foreground-weight 5 --out /tmp/stage-c
    python -m generators.train --init-from /tmp/stage-c --seed 3 --steps 8000 --stop-after 5000 \
        --batch-size 64 --lr 5e-4 --ema 0.998 --threads 2 --foreground-weight 5 --out /tmp/stage-d
    python -m generators.train --init-from /tmp/stage-d --seed 4 --steps 2500 --batch-size 64 \
        --lr 3e-4 --ema 0.998 --threads 2 --foreground-weight 5 --more-phrasings \
        --out generators/weights/bundled

(the commands that made the committed weights, also in ``training.json`` beside them: stage A
trains the decoder, then the UNet and text encoder from scratch; stages B to E go on with the
loss weighted towards objects, D with larger batches, E with more phrasings of the background).
Every image is rendered on the fly from a seeded random stream, so the same seeds, steps and
thread count reproduce the same weights. Scenes whose main (colour, shape, background) triple
is held out (:func:`generators.scene.held_out_triples`) are never shown: adherence is measured
on them. The exponential moving average of the weights is what gets saved.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from generators.architecture import (
    SCHEDULER_CONFIG,
    build_text_encoder,
    build_train_scheduler,
    build_unet,
)
from generators.bundled import BundledGenerator
from generators.captions import caption, training_templates
from generators.decoder import LatentDecoder, encode
from generators.pipeline import ShapesPipeline
from generators.render import render_array
from generators.scene import Scene, held_out_triples, sample_scene
from generators.tokenizer import WordTokenizer, build_vocabulary

__all__ = ["main", "save_weights"]

DEFAULT_OUT = Path(__file__).parent / "weights" / "bundled"


def _batch(
    rng: random.Random,
    size: int,
    drop: float,
    foreground: float = 1.0,
    templates: tuple[str, ...] | None = None,
) -> tuple[torch.Tensor, list[str], torch.Tensor | None]:
    """Rendered images, captions (``drop`` of them blank) and per-pixel loss weights.

    With ``foreground`` > 1 the weights are that much higher on objects than on the background:
    objects cover a tenth of the pixels but carry most of what a caption says.
    """
    exclude = held_out_triples()
    scenes = [sample_scene(rng, exclude=exclude) for _ in range(size)]
    prompts = [caption(s, rng, templates=templates) if rng.random() >= drop else "" for s in scenes]
    pixels = torch.from_numpy(np.stack([render_array(s) for s in scenes]))
    if foreground == 1.0:
        return pixels, prompts, None
    masks = []
    for scene in scenes:
        silhouettes = tuple(replace(o, colour="white") for o in scene.objects)
        mask = render_array(Scene("black", "plain", silhouettes))[:1] * 0.5 + 0.5
        masks.append(1.0 + (foreground - 1.0) * mask)
    return pixels, prompts, torch.from_numpy(np.stack(masks))


def save_weights(pipe: ShapesPipeline, out: Path, info: dict[str, object]) -> None:
    """Write the pipeline as a folder: unet/, text_encoder/, decoder/, tokenizer/, scheduler/."""
    out.mkdir(parents=True, exist_ok=True)
    pipe.unet.save_pretrained(out / "unet", safe_serialization=True)
    pipe.text_encoder.save_pretrained(out / "text_encoder", safe_serialization=True)
    pipe.decoder.save_pretrained(out / "decoder", safe_serialization=True)
    pipe.tokenizer.save(out / "tokenizer")
    (out / "scheduler").mkdir(exist_ok=True)
    (out / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(pipe.scheduler_config, indent=1) + "\n"
    )
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")


def _lr(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_decoder(
    decoder: LatentDecoder, rng: random.Random, *, steps: int, batch_size: int, progress: Progress
) -> float:
    """Stage 1: fit the decoder to map 2x2-averaged renders back to the renders (L1 + L2)."""
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=2e-3, weight_decay=0.0)
    task = progress.add_task("decoder", total=steps, loss=float("nan"))
    running = 0.0
    decoder.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr(step, steps, 2e-3, warmup=min(50, steps // 10 + 1))
        pixels, _, _ = _batch(rng, batch_size, drop=0.0)
        out = decoder(encode(pixels))
        loss = (out - pixels).abs().mean() + (out - pixels).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running = loss.item() if step == 0 else 0.95 * running + 0.05 * loss.item()
        progress.update(task, advance=1, loss=running)
    decoder.eval().requires_grad_(False)
    return running


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--decoder-steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=8e-4)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-bf16",
        dest="bf16",
        action="store_false",
        help="train in float32 (slower; the default uses bf16 autocast)",
    )
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop (and save) after this many steps, keeping the schedule of --steps",
    )
    parser.add_argument(
        "--foreground-weight",
        type=float,
        default=1.0,
        help="loss weight of object pixels relative to background pixels",
    )
    parser.add_argument(
        "--more-phrasings",
        action="store_true",
        help="also caption in generators.captions.MORE_TEMPLATES (the background first, ...)",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from a weights folder (its decoder is kept, stage 1 skipped)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "threads", "save_every", "decoder_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    stop = args.steps if args.stop_after is None else args.stop_after
    if not 1 <= stop <= args.steps:
        parser.error("--stop-after must be between 1 and --steps")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    noise_gen = torch.Generator().manual_seed(args.seed + 1)
    tokenizer = WordTokenizer(build_vocabulary())
    if args.init_from is not None:
        start = BundledGenerator(args.init_from).pipeline
        unet, text_encoder, decoder = start.unet, start.text_encoder, start.decoder
    else:
        unet = build_unet()
        text_encoder = build_text_encoder(len(tokenizer), tokenizer.max_length)
        decoder = LatentDecoder()
    pipe = ShapesPipeline(
        unet=unet,
        text_encoder=text_encoder,
        decoder=decoder,
        tokenizer=tokenizer,
        scheduler_config=dict(SCHEDULER_CONFIG),
    )
    started, running = time.time(), 0.0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        if args.init_from is None:
            decoder_loss = train_decoder(
                decoder,
                rng,
                steps=args.decoder_steps,
                batch_size=args.batch_size,
                progress=progress,
            )
        else:
            decoder.requires_grad_(False)
            decoder_loss = float("nan")
        progress.console.log(
            f"decoder loss {decoder_loss:.4f} elapsed {time.time() - started:.0f}s"
        )
        pipe.unet.train()
        pipe.text_encoder.train()
        ema = ShapesPipeline(
            unet=copy.deepcopy(pipe.unet),
            text_encoder=copy.deepcopy(pipe.text_encoder),
            decoder=decoder,
            tokenizer=tokenizer,
            scheduler_config=dict(SCHEDULER_CONFIG),
        )
        params = [*pipe.unet.parameters(), *pipe.text_encoder.parameters()]
        ema_params = [*ema.unet.parameters(), *ema.text_encoder.parameters()]
        optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
        train_scheduler = build_train_scheduler()
        templates = training_templates(more_phrasings=args.more_phrasings)
        task = progress.add_task("train", total=stop, loss=float("nan"))
        for step in range(stop):
            for group in optimizer.param_groups:
                group["lr"] = _lr(step, args.steps, args.lr, warmup=min(200, args.steps // 10 + 1))
            pixels, prompts, weights = _batch(
                rng, args.batch_size, 0.1, args.foreground_weight, templates
            )
            loss = pipe.training_loss(
                pixels,
                prompts,
                noise_gen,
                train_scheduler,
                bfloat16=args.bf16,
                pixel_weights=weights,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            decay = min(args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                torch._foreach_lerp_(ema_params, params, 1 - decay)
            running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
            progress.update(task, advance=1, loss=running)
            last = step + 1 == stop
            if (step + 1) % 100 == 0 or last:
                progress.console.log(
                    f"step {step + 1} loss {running:.4f} elapsed {time.time() - started:.0f}s"
                )
            if (step + 1) % args.save_every == 0 or last:
                info = {
                    "init_from": None if args.init_from is None else args.init_from.name,
                    "foreground_weight": args.foreground_weight,
                    "more_phrasings": args.more_phrasings,
                    "decoder_steps": args.decoder_steps,
                    "decoder_loss": None if math.isnan(decoder_loss) else round(decoder_loss, 5),
                    "steps": step + 1,
                    "schedule_steps": args.steps,
                    "batch_size": args.batch_size,
                    "lr": args.lr,
                    "ema": args.ema,
                    "seed": args.seed,
                    "threads": args.threads,
                    "bf16": args.bf16,
                    "loss": round(running, 5),
                    "seconds": round(time.time() - started, 1),
                }
                save_weights(ema, args.out, info)


if __name__ == "__main__":
    main()
