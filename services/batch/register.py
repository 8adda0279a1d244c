"""The producer's side of a batch: check the images against the ESP's attestation, commit,
reveal, and write the manifest the API serves.

:func:`prepare_batch` recomputes every image's content hash, fingerprint and detail descriptor
from its bytes (never from the attestation's word) and refuses a batch whose attestation is not
its ESP's signature for this producer over exactly these images. :func:`register_batch` then
commits ``keccak(itemsRoot, fingerprintsHash, count, owner, salt)`` with ``bondPerItem * count``,
reveals in a later block (a watcher who copies the commitment or the reveal gains nothing: the
commitment binds the owner, and the attestation the producer), and returns the manifest. Run
again with the same salt after a crash between the two, it skips the commit it finds and
reveals (the CLI keeps the salt beside the images until the reveal).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_utils import keccak, to_checksum_address
from PIL import Image

from ledger import EspRegistryClient, HtlcClient, LockStatus
from ledger.errors import ContractRevert
from services.batch.attestation import SignedBatch, reveal_view
from services.batch.errors import BatchError
from services.batch.manifest import BatchManifest
from services.content import canonical_hash
from services.provenance import detail_descriptor

__all__ = ["BatchChain", "LedgerBatchChain", "PreparedBatch", "prepare_batch", "register_batch"]

Fingerprinter = Callable[[Image.Image], bytes]


@dataclass(frozen=True)
class PreparedBatch:
    """A batch ready to commit: the attestation, each item's detail (token order), the salt."""

    signed: SignedBatch
    details: tuple[bytes, ...]
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def commitment(self) -> bytes:
        return self.signed.layout.commitment(owner=self.signed.producer, salt=self.salt)


class BatchChain(Protocol):
    """What registering needs from the BatchRegistry (``ledger``'s client provides it)."""

    def commit_batch(self, commitment: bytes, count: int) -> None: ...

    def reveal_batch(self, prepared: PreparedBatch, *, metadata_uri: str) -> int: ...


def _open(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise BatchError(f"{name}: not an image ({exc})", code="not_an_image") from None
    return image.convert("RGB")


def prepare_batch(
    images: Sequence[tuple[str, bytes]],
    signed: SignedBatch,
    *,
    producer: str,
    fingerprint: Fingerprinter,
) -> PreparedBatch:
    """Checks ``images`` ((name, bytes) pairs) against ``signed``; raises BatchError naming the
    first image or item that disagrees."""
    signed.check()
    if to_checksum_address(signed.producer) != to_checksum_address(producer):
        raise BatchError(
            f"the attestation is for {signed.producer}, not for {producer}", code="not_your_batch"
        )
    order = {it.content_hash: i for i, it in enumerate(signed.layout.items)}
    details: dict[int, bytes] = {}
    for name, data in images:
        image = _open(data, name)
        content_hash = canonical_hash(image)
        index = order.get(content_hash)
        if index is None:
            raise BatchError(f"{name}: not in the ESP's attestation", code="not_attested")
        if index in details:
            raise BatchError(f"{name}: the same image twice", code="batch_duplicate_item")
        item = signed.layout.items[index]
        if fingerprint(image) != item.fingerprint:
            raise BatchError(
                f"{name}: its fingerprint differs from the attested one", code="wrong_fingerprint"
            )
        detail = detail_descriptor(image)
        if keccak(detail) != item.detail_hash:
            raise BatchError(
                f"{name}: its detail differs from the attested one", code="wrong_detail_hash"
            )
        details[index] = detail
    missing = [i for i in range(signed.layout.count) if i not in details]
    if missing:
        raise BatchError(
            f"{len(missing)} attested images are missing (first: 0x"
            f"{signed.layout.items[missing[0]].content_hash.hex()})",
            code="missing_images",
        )
    return PreparedBatch(signed, tuple(details[i] for i in range(signed.layout.count)))


def register_batch(
    prepared: PreparedBatch,
    chain: BatchChain,
    *,
    metadata_uri: str = "",
    progress: Callable[[str], Any] = lambda _msg: None,
) -> BatchManifest:
    """Commits and reveals ``prepared``; returns the manifest of the registered batch."""
    layout = prepared.signed.layout
    preflight = getattr(chain, "preflight", None)
    if preflight is not None and not chain_has_commit(chain, prepared):
        # The bond (bondPerItem x count) is burned if the reveal then fails: refuse first.
        progress("checking the reveal would be accepted")
        preflight(prepared)
    progress(f"committing {layout.count} images")
    try:
        chain.commit_batch(prepared.commitment, layout.count)
    except ContractRevert as exc:
        if exc.name != "BatchCommitExists":
            raise
        # An earlier run (same salt) committed and stopped before revealing: the commitment
        # binds this owner, so whoever committed it, only this owner can reveal it.
        progress("already committed: revealing")
    progress("revealing")
    batch_id = chain.reveal_batch(prepared, metadata_uri=metadata_uri)
    progress(f"registered batch {batch_id}")
    return BatchManifest(batch_id, layout, prepared.details)


def chain_has_commit(chain: BatchChain, prepared: PreparedBatch) -> bool:
    """Whether ``prepared``'s commitment is already on chain (a resumed run: reveal it)."""
    has = getattr(chain, "has_commit", None)
    return bool(has(prepared.commitment)) if has is not None else False


class LedgerBatchChain:
    """:class:`BatchChain` over ``ledger``'s BatchRegistry client (the calls are encoded there)."""

    def __init__(self, client: Any):  # ledger.clients.batch_registry.BatchRegistryClient
        self.client = client

    def has_commit(self, commitment: bytes) -> bool:
        block, _count = self.client.contract.functions.commitOf(commitment).call()
        return int(block) != 0

    def preflight(self, prepared: PreparedBatch) -> None:
        """Raises BatchError when the reveal would be refused for a reason known before the
        commit, so no bond is committed to a batch that cannot register: an attestation for
        another deployment, a lock not paid, an ESP inactive at the lock's block, a
        registration window closing before the reveal's block, or a lock that already
        registered a batch (`BatchTaskUsed`; only its sender, this producer, can use it)."""
        signed = prepared.signed
        deployment = self.client.deployment
        if signed.chain_id != deployment.chain.chain_id or (
            to_checksum_address(signed.contract) != to_checksum_address(self.client.address)
        ):
            raise BatchError(
                "the attestation is for another chain or BatchRegistry", code="wrong_deployment"
            )
        status, locked_at = HtlcClient(deployment).lock_info(signed.task_id)
        if status is not LockStatus.WITHDRAWN:
            raise BatchError(
                f"the generation lock is {status.name.lower()}, not paid", code="unpaid_lock"
            )
        if not EspRegistryClient(deployment).was_active_at(signed.esp, locked_at):
            raise BatchError(
                "the ESP was not active when the lock was made", code="esp_not_registered"
            )
        # The window and one batch per lock: the same rule the ESP applies before it signs.
        refusal = reveal_view(self.client, signed.producer).refusal(signed.task_id, locked_at)
        if refusal is not None:
            raise BatchError(str(refusal), code=refusal.code)

    def commit_batch(self, commitment: bytes, count: int) -> None:
        self.client.commit(commitment, count)

    def reveal_batch(self, prepared: PreparedBatch, *, metadata_uri: str) -> int:
        signed = prepared.signed
        return int(
            self.client.reveal(
                items_root=signed.layout.items_root,
                salt=prepared.salt,
                model_id=signed.model_id,
                metadata_uri=metadata_uri,
                fingerprints=signed.layout.fingerprints,
                lock=signed.lock,
                signature=signed.signature,
            )
        )
