"""sha256 of a folder of weights: every file, in sorted relative-path order, names included."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["folder_sha256"]

_IGNORED = {"training.json", ".gitattributes", "README.md"}


def folder_sha256(folder: Path) -> str:
    """Hash of the files under ``folder`` (path, size and bytes of each), hex.

    Informational files (training logs, READMEs) are left out so that re-documenting a
    checkpoint does not change its identity.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _IGNORED)
    for path in files:
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
