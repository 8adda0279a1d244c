"""The producer's side of a paid generation, over the marketplace API and the chain.

post a task -> lock the quoted fee under the ESP's hashlock and acknowledge it on chain with the
ESP's signed quote (the open lock then holds the ESP's stake, and its outcome counts) -> once the
ESP claimed the fee (the secret is on chain), download the sealed image, derive the key (ECDH with
the ESP + the secret), open it and check it against the ESP's attestation -> register it
(commit, reveal) -> feedback. A delivery that does not match its attestation raises
:class:`DeliveryMismatch` carrying the delivery key, which
:meth:`ProducerSession.report_fraud` turns into a verifiable fraud proof.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from ledger import EspRegistryClient, HtlcClient, LockTerms, Registration, RegistryClient
from ledger.clients.esp_registry import generation_lock, recover_quoter
from services.content import canonical_hash
from services.exchange import ExchangeError, SealError, delivery_key, open_sealed
from services.market_client import MarketClient
from services.provenance import detail_descriptor


class DeliveryMismatch(ExchangeError):
    """Raised when an opened delivery differs from what the ESP attested (or cannot be opened)."""

    def __init__(self, task_id: str, reason: str, key: bytes):
        super().__init__(f"task {task_id}: {reason}")
        self.task_id = task_id
        self.key = key


class ProducerSession:
    def __init__(
        self,
        client: MarketClient,
        htlc: HtlcClient,
        registry: RegistryClient,
        esps: EspRegistryClient,
        *,
        fingerprint: Callable[[Image.Image], bytes],
    ):
        self.client = client
        self.htlc = htlc
        self.registry = registry
        self.esps = esps
        self.fingerprint = fingerprint

    def post(
        self, prompt: str, *, seed: int, max_price: int, esp: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": prompt, "seed": seed, "max_price": max_price}
        if esp is not None:
            body["esp"] = esp
        return dict(self.client.post("/v1/tasks", json=body))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/v1/tasks/{task_id}"))

    def lock_fee(self, task: dict[str, Any]) -> LockTerms:
        """Locks the quoted price for the ESP under its hashlock until the quoted deadline, then
        acknowledges the lock with the ESP's signed quote (checked before any Ether moves)."""
        if task["status"] != "quoted":
            raise ExchangeError(f"task {task['id']} is {task['status']}, not quoted")
        terms = generation_lock(
            producer=self.client.address,
            esp=task["esp"],
            price=int(task["price"]),
            hashlock=bytes.fromhex(task["hashlock"][2:]),
            deadline=int(task["deadline"]),
        )
        signature = bytes.fromhex(str(task.get("quote_signature") or "0x")[2:])
        signer = recover_quoter(
            terms,
            signature,
            chain_id=self.esps.deployment.chain.chain_id,
            esp_registry=self.esps.address,
        )
        if signer != terms.receiver:
            raise ExchangeError(f"task {task['id']}: the quote is not signed by its ESP")
        lock = self.htlc.lock_ether(
            terms.receiver, amount=terms.amount, hashlock=terms.hashlock, timelock=terms.timelock
        )
        self.esps.acknowledge(lock, signature)
        return lock

    def collect(self, task: dict[str, Any]) -> tuple[Image.Image, bytes]:
        """Opens and checks a claimed delivery; returns (image, the ESP's attestation)."""
        lock = LockTerms.from_json(task["lock"])
        secret = self.htlc.revealed_preimage(lock)  # from the chain, not from the API's word
        if secret is None:
            raise ExchangeError(f"task {task['id']}: the ESP has not claimed the fee yet")
        task_id = bytes.fromhex(task["id"][2:])
        esp_key = bytes.fromhex(self.client.get(f"/v1/accounts/{task['esp']}")["public_key"][2:])
        key = delivery_key(
            own_private=bytes(self.client.account.key),
            peer_public=esp_key,
            preimage=secret,
            task_id=task_id,
        )
        sealed = self.client.get_bytes(f"/v1/tasks/{task['id']}/sealed")
        meta = task["delivery"]
        try:
            image = Image.open(io.BytesIO(open_sealed(sealed, key=key, task_id=task_id))).convert(
                "RGB"
            )
        except (SealError, OSError) as exc:
            raise DeliveryMismatch(task["id"], f"delivery does not open: {exc}", key) from None
        if "0x" + canonical_hash(image).hex() != meta["content_hash"].lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested content hash", key)
        if "0x" + self.fingerprint(image).hex() != meta["fingerprint"].lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested fingerprint", key)
        if "0x" + detail_descriptor(image).hex() != str(meta.get("detail", "")).lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested detail", key)
        return image, bytes.fromhex(meta["attestation"][2:])

    def register(self, task: dict[str, Any], image: Image.Image, attestation: bytes) -> int:
        meta = task["delivery"]
        lock = LockTerms.from_json(task["lock"])  # the paid generation: priority and registrant
        reg = Registration(
            content_hash=canonical_hash(image),
            fingerprint=bytes.fromhex(meta["fingerprint"][2:]),
            detail=bytes.fromhex(meta["detail"][2:]),
            owner=self.client.address,
            esp=task["esp"],
            task_id=lock.id,
            model_id=bytes.fromhex(meta["model_id"][2:]),
            seed=int(task["seed"]),
        )
        self.registry.commit(reg)  # with the bond; the reveal lands in a later block
        return self.registry.reveal(reg, lock, attestation)

    def feedback(self, task: dict[str, Any], *, positive: bool) -> None:
        self.esps.submit_feedback(LockTerms.from_json(task["lock"]), positive=positive)

    def report_fraud(self, mismatch: DeliveryMismatch) -> dict[str, Any]:
        return dict(
            self.client.post(
                f"/v1/tasks/{mismatch.task_id}/fraud", json={"key": "0x" + mismatch.key.hex()}
            )
        )
