"""Exceptions of the generators package: one root, :class:`GeneratorError`, and its subclasses."""

from __future__ import annotations

__all__ = [
    "CheckpointNotFoundError",
    "GeneratorError",
    "InvalidGenerationArgumentError",
    "InvalidRecordError",
    "NotAPipelineError",
    "UnknownGeneratorError",
    "WeightsMissingError",
]


class GeneratorError(Exception):
    """Raised when anything in the generators package fails; the root of its exceptions."""


class InvalidGenerationArgumentError(GeneratorError, ValueError):
    """Raised when an argument of a generation request is out of range or of the wrong kind."""

    def __init__(self, argument: str, value: object, reason: str) -> None:
        self.argument = argument
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {argument}={value!r}: {reason}")


class UnknownGeneratorError(GeneratorError, KeyError):
    """Raised when a generator name is not in the registry."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown generator {name!r}; known generators: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would quote the whole message otherwise
        return str(self.args[0])


class CheckpointNotFoundError(GeneratorError, FileNotFoundError):
    """Raised when a checkpoint folder does not exist or is not a directory."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"checkpoint folder not found: {path}")


class NotAPipelineError(GeneratorError):
    """Raised when a folder exists but does not hold a loadable diffusers text-to-image pipeline."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} is not a diffusers text-to-image pipeline: {reason}")


class WeightsMissingError(GeneratorError):
    """Raised when the bundled model's committed weights are absent or incomplete."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"bundled weights unusable at {path}: {reason}")


class InvalidRecordError(GeneratorError, ValueError):
    """Raised when a generation record (JSON) is unreadable or a field is missing or malformed."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"generation record: {field}: {reason}")
