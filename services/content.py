"""Image content: the canonical hash the chain registers, and the edits a plagiarist makes."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageOps


def canonical_hash(image: Image.Image) -> bytes:
    """sha256 of the image's RGB pixels with its size: the on-chain content hash (and token id).

    Independent of any file encoder, so the same pixels registered as PNG or WebP hash the same.
    """
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"RGB {rgb.width}x{rgb.height}\n".encode())
    digest.update(rgb.tobytes())
    return digest.digest()


def plagiarise(image: Image.Image) -> Image.Image:
    """What the demo's plagiarist does: mirror the image, re-encode it as JPEG (quality 60)."""
    buf = io.BytesIO()
    ImageOps.mirror(image.convert("RGB")).save(buf, format="JPEG", quality=60)
    buf.seek(0)
    return Image.open(buf).convert("RGB")
