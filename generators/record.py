"""Generation records: the JSON an ESP publishes about an image, and the replay that audits it.

A record carries what :class:`~generators.result.GenerationResult` knows (generator, model id,
weights sha256, scheduler, steps, seed, guidance, size, prompt) plus the sha256 of the image's
pixels and, when the provenance service is installed, its perceptual fingerprint (hex). Anyone
holding the same weights can :func:`replay` it and compare.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from generators.base import Generator
from generators.errors import InvalidRecordError
from generators.result import GenerationResult, prompt_sha256

__all__ = ["RECORD_VERSION", "GenerationRecord", "Replay", "replay"]

RECORD_VERSION = 1
_HEX64 = frozenset("0123456789abcdef")


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRecordError(name, "must be a non-empty string")
    return value


def _sha(payload: dict[str, Any], name: str) -> str:
    value = _text(payload, name).lower()
    if len(value) != 64 or not set(value) <= _HEX64:
        raise InvalidRecordError(name, "must be 64 hexadecimal characters")
    return value


def _int(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecordError(name, "must be a non-negative integer")
    return value


@dataclass(frozen=True)
class GenerationRecord:
    """The audit record of one generation (see the module docstring)."""

    generator: str
    model_id: str
    weights_sha256: str
    scheduler: str
    steps: int
    seed: int
    guidance_scale: float
    width: int
    height: int
    prompt: str
    prompt_sha256: str
    image_sha256: str
    fingerprint: str | None = None
    version: int = RECORD_VERSION

    @classmethod
    def from_result(
        cls, result: GenerationResult, *, fingerprint: str | None = None
    ) -> GenerationRecord:
        return cls(
            generator=result.generator,
            model_id=result.model_id,
            weights_sha256=result.weights_sha256,
            scheduler=result.scheduler,
            steps=result.steps,
            seed=result.seed,
            guidance_scale=result.guidance_scale,
            width=result.width,
            height=result.height,
            prompt=result.prompt,
            prompt_sha256=result.prompt_sha256,
            image_sha256=result.image_sha256,
            fingerprint=fingerprint,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GenerationRecord:
        """Parse and check a record; :class:`InvalidRecordError` names the first bad field."""
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRecordError(
                "json", f"not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from exc
        if not isinstance(payload, dict):
            raise InvalidRecordError("json", "must be a JSON object")
        version = payload.get("version", RECORD_VERSION)
        if version != RECORD_VERSION:
            raise InvalidRecordError("version", f"{version!r} is not supported (expected 1)")
        guidance = payload.get("guidance_scale")
        if isinstance(guidance, bool) or not isinstance(guidance, int | float):
            raise InvalidRecordError("guidance_scale", "must be a number")
        fingerprint = payload.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
            raise InvalidRecordError("fingerprint", "must be a hex string or null")
        record = cls(
            generator=_text(payload, "generator"),
            model_id=_text(payload, "model_id"),
            weights_sha256=_sha(payload, "weights_sha256"),
            scheduler=_text(payload, "scheduler"),
            steps=_int(payload, "steps"),
            seed=_int(payload, "seed"),
            guidance_scale=float(guidance),
            width=_int(payload, "width"),
            height=_int(payload, "height"),
            prompt=_text(payload, "prompt"),
            prompt_sha256=_sha(payload, "prompt_sha256"),
            image_sha256=_sha(payload, "image_sha256"),
            fingerprint=fingerprint,
        )
        if prompt_sha256(record.prompt) != record.prompt_sha256:
            raise InvalidRecordError("prompt_sha256", "does not match the recorded prompt")
        return record


@dataclass(frozen=True)
class Replay:
    """A re-run of a record and what matched: weights, generator settings, pixels."""

    record: GenerationRecord
    result: GenerationResult

    @property
    def weights_match(self) -> bool:
        return self.result.weights_sha256 == self.record.weights_sha256

    @property
    def scheduler_match(self) -> bool:
        return self.result.scheduler == self.record.scheduler

    @property
    def image_match(self) -> bool:
        """Bit-identical pixels (expected on the same machine, libraries and thread count)."""
        return self.result.image_sha256 == self.record.image_sha256


def replay(record: GenerationRecord, generator: Generator) -> Replay:
    """Re-run ``record`` on ``generator`` with the recorded prompt, seed, steps, guidance, size."""
    result = generator.generate(
        record.prompt,
        seed=record.seed,
        steps=record.steps,
        width=record.width,
        height=record.height,
        guidance_scale=record.guidance_scale,
    )
    return Replay(record, result)
