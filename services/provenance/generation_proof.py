"""Generation proofs: an accused image shown to be its own model's output, not a copy.

Every registration carries an ESP's attestation that the image is a generation of a model
(``modelId``). A copy of someone else's image (cropped, re-encoded, captioned...) is *not* the
output of any prompt and seed; an honest generation is, and whoever knows its prompt and the
seed the ESP generated with can show it. Stage 3's pixel comparison cannot tell two
independent generations that share a layout (the bundled model fixes the layout by the seed, so
"a yellow circle on black" and "a green circle on red" of one seed match) from a copy; a
generation proof can: a committee juror re-runs the published opening on its own copy of the
model and votes "no copy" when it reproduces the accused image (:func:`clears`).

**The opening** (:class:`GenerationOpening`): the prompt and the generation seed (the seed the
ESP's worker actually generated with: ``EspWorker.generation_seed``, not the requested one the
attestation names; any values are accepted, the reproduction is the evidence). It is bound to
nothing on chain and needs not be: finding a prompt and seed whose output is a given edited copy
is a preimage search over the model.

**Reproduced** (:func:`reproduces`): the regenerated pixels equal the image's up to the float
noise of another CPU. Measured on this machine's three kernel sets (``ATEN_CPU_CAPABILITY`` =
default, avx2, avx512; 40 bundled generations: ``ATEN_CPU_CAPABILITY=avx2 python -m
services.provenance.generation_proof save avx2.npy`` once per set, then ``... compare
default.npy avx2.npy avx512.npy``), the outputs differ by at most 1 level in at most 0.02% of
the channel values (25-30 of 40 bit-identical). The tolerance is 3 levels and 0.5% of the
values, 3 and 30 times those margins and far below what a plagiarist's edit changes (a JPEG-30
re-encode moves most values; stage 3's own tolerance is 5-20 levels over a 64 x 64 grid).

**Not the original's generation** (:func:`clears`): a proof clears the accused only when the
regeneration does *not* also reproduce the original. A plagiarist who learnt the original's
opening (published when that token was accused itself) could regenerate its bytes, change a
few values within the tolerance (a new content hash) and register them: its opening reproduces
its copy, but reproduces the original too, so it clears nothing.

Only models the juror can run are checked (:data:`RUNNABLE`: ``modelId`` is the sha256 of the
generator's model id, as the ESP worker attests it); for any other model the pixel verdict
stands, as before.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

# the generators' own bounds: an opening outside them regenerates nothing
from generators.base import MAX_PROMPT_CHARS, MAX_SEED

__all__ = [
    "MAX_CHANNEL_DIFF",
    "MAX_DIFFERING_SHARE",
    "MAX_PROMPT_CHARS",
    "MAX_SEED",
    "GenerationOpening",
    "Maker",
    "clears",
    "model_key",
    "reproduces",
    "runnable_maker",
]

MAX_CHANNEL_DIFF = 3  # levels (of 255) one channel value may move: measured noise is 1
MAX_DIFFERING_SHARE = 0.005  # share of channel values that may move at all: measured 0.0002

Maker = Callable[[str, int], tuple[Image.Image, dict[str, Any]]]


@dataclass(frozen=True)
class GenerationOpening:
    """The prompt and generation seed an image was made from (see the module docstring)."""

    prompt: str
    seed: int

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError("the opening's prompt must be a non-empty string")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise ValueError(f"the opening's prompt is longer than {MAX_PROMPT_CHARS} characters")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("the opening's seed must be an integer")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"the opening's seed must be between 0 and {MAX_SEED}")


def model_key(model_id: str) -> bytes:
    """The attested ``modelId`` of a generator's model id (sha256 of its text, as the ESP worker
    attests it)."""
    return hashlib.sha256(model_id.encode()).digest()


_MAKERS: dict[str, Maker] = {}


def runnable_maker(model_id: str) -> Maker | None:
    """``make(prompt, seed)`` of the model ``model_id`` when this process can run it (the
    bundled model, whose weights ship with the package), else None. Built once per process."""
    if model_id in _MAKERS:
        return _MAKERS[model_id]
    from generators import get_generator

    generator = get_generator("bundled")
    if generator.model_id != model_id:
        return None

    def make(prompt: str, seed: int) -> tuple[Image.Image, dict[str, Any]]:
        result = generator.generate(prompt, seed=seed)
        return result.image, result.metadata()

    _MAKERS[model_id] = make
    return make


def reproduces(generated: Image.Image, image: Image.Image) -> bool:
    """Whether ``image`` is ``generated`` up to another machine's float noise (same size, every
    RGB value within :data:`MAX_CHANNEL_DIFF`, at most :data:`MAX_DIFFERING_SHARE` moved)."""
    if generated.size != image.size:
        return False
    a = np.asarray(generated.convert("RGB"), dtype=np.int16)
    b = np.asarray(image.convert("RGB"), dtype=np.int16)
    diff = np.abs(a - b)
    return int(diff.max()) <= MAX_CHANNEL_DIFF and float((diff > 0).mean()) <= MAX_DIFFERING_SHARE


def clears(
    original: Image.Image,
    duplicate: Image.Image,
    opening: GenerationOpening,
    make: Maker,
) -> tuple[bool, str]:
    """Whether ``opening`` shows ``duplicate`` to be its own generation (run with ``make``, the
    model the duplicate's record attests) and not the original's; and why, in words."""
    generated, _ = make(opening.prompt, opening.seed)
    if not reproduces(generated, duplicate):
        return False, "its published generation does not reproduce it"
    if reproduces(generated, original):
        return False, "its published generation reproduces the original too: a regenerated copy"
    return True, "its published generation (prompt and seed) reproduces it: its own image"


def _noise(images: int = 40) -> None:  # pragma: no cover - a measurement, run by hand
    """Prints how far this process's bundled generations are from each other's under another
    kernel set: run once per ``ATEN_CPU_CAPABILITY`` with ``save PATH``, then ``compare``."""
    from generators.maker import image_maker

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command == "save":
        make = image_maker()
        shapes = ["circle", "square", "star", "diamond", "triangle"]
        colours = ["red", "green", "blue", "yellow", "purple"]
        out = []
        for i in range(images):
            prompt = f"a {colours[i % 5]} {shapes[(i // 5) % 5]} on a white background"
            out.append(np.asarray(make(prompt, 7000 + i)[0].convert("RGB")))
        np.save(sys.argv[2], np.stack(out))
        return
    if command == "compare":
        arrays = [np.load(p).astype(np.int16) for p in sys.argv[2:]]
        for i in range(len(arrays)):
            for j in range(i + 1, len(arrays)):
                d = np.abs(arrays[i] - arrays[j])
                per = d.reshape(len(d), -1)
                print(
                    f"{sys.argv[2 + i]} vs {sys.argv[2 + j]}: max {int(per.max())} levels, "
                    f"at most {float((per > 0).mean(axis=1).max()):.5f} of the values moved, "
                    f"{int((per.max(axis=1) == 0).sum())} of {len(per)} bit-identical"
                )
        return
    raise SystemExit(
        "usage: python -m services.provenance.generation_proof save PATH | compare A B .."
    )


if __name__ == "__main__":  # pragma: no cover
    _noise()
