"""The producer's side of a paid generation, over the marketplace API and the chain.

post a task (its ESP sees a commitment to the prompt, under a salt this client draws and checks,
until the fee lock is indexed) -> lock the quoted fee under the ESP's hashlock and acknowledge it
on chain with the ESP's signed quote (the open lock then holds the ESP's stake, and its outcome
counts; the API then releases the prompt to the ESP) -> once the ESP claimed the fee (the secret
is on chain), download the sealed image, derive the key (ECDH with the ESP + the secret), open it
and check it against the ESP's attestation -> register it (commit, reveal) -> feedback. A
delivery that does not match its attestation raises :class:`DeliveryMismatch` carrying the
delivery key, which :meth:`ProducerSession.report_fraud` turns into a verifiable fraud proof.

Deliveries are sealed to the producer's delivery key once :meth:`ProducerSession.use_delivery_key`
registered it: the key is derived from the account's signature over a fixed message (a wallet's
``personal_sign``; here a local signer stands in for it), so the same wallet re-derives it on any
device. Older deliveries sealed to the account key still open (docs/delivery.md).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any

from eth_account.messages import encode_defunct
from PIL import Image

from ledger import EspRegistryClient, HtlcClient, LockTerms, Registration, RegistryClient
from ledger.clients.esp_registry import generation_lock, recover_quoter
from services.content import canonical_hash
from services.exchange import (
    DeliveryKey,
    ExchangeError,
    SealError,
    compressed,
    delivery_key,
    delivery_key_message,
    derive_delivery_key,
    open_sealed,
    prove_possession,
    public_key_bytes,
    recipient_sealing_key,
    sealed_recipient,
)
from services.generation import (
    check_deadline_within_window,
    latest_quote_deadline,
    prompt_commitment,
)
from services.market_client import MarketClient
from services.provenance import detail_descriptor


class DeliveryMismatch(ExchangeError):
    """Raised when an opened delivery differs from what the ESP attested (or cannot be opened)."""

    def __init__(self, task_id: str, reason: str, key: bytes):
        super().__init__(f"task {task_id}: {reason}")
        self.task_id = task_id
        self.key = key


Signer = Callable[[str], bytes]  # personal_sign: message text -> 65-byte signature


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
        self.delivery: DeliveryKey | None = None

    def use_delivery_key(self, sign: Signer | None = None) -> DeliveryKey:
        """Derives the delivery key from the account's signature and makes sure it is the one
        registered: registers it when none is, or when the registered one differs (a signer that
        is not deterministic, or a key registered elsewhere; deliveries sealed to that key then
        need it). ``sign`` stands in for the wallet's personal_sign (default: the account key)."""
        account = self.client.account
        if sign is None:

            def sign(text: str) -> bytes:
                return bytes(account.sign_message(encode_defunct(text=text)).signature)

        current = self.client.get(f"/v1/accounts/{self.client.address}/delivery-key")
        chain_id, domain = self.htlc.deployment.chain.chain_id, current["domain"]
        message = delivery_key_message(
            account=self.client.address, chain_id=chain_id, domain=domain
        )
        if current["chain_id"] != chain_id or current["message"] != message:
            raise ExchangeError("the API's delivery-key message is not for this chain and account")
        key = derive_delivery_key(
            sign(message), account=self.client.address, chain_id=chain_id, domain=domain
        )
        if current["delivery_key"] != "0x" + key.public.hex():
            proof = prove_possession(
                key, account=self.client.address, chain_id=chain_id, domain=domain
            )
            self.client.put(
                "/v1/accounts/me/delivery-key",
                json={"public_key": "0x" + key.public.hex(), "proof": "0x" + proof.hex()},
            )
        self.delivery = key
        return key

    def post(
        self, prompt: str, *, seed: int, max_price: int, esp: str | None = None
    ) -> dict[str, Any]:
        """Posts a task under a fresh salt of this client's; raises :class:`ExchangeError` when the
        API's prompt commitment (what the ESP quotes on) is not the one of this prompt and salt."""
        salt = secrets.token_bytes(32)
        body: dict[str, Any] = {
            "prompt": prompt,
            "prompt_salt": "0x" + salt.hex(),
            "seed": seed,
            "max_price": max_price,
        }
        if esp is not None:
            body["esp"] = esp
        task = dict(self.client.post("/v1/tasks", json=body))
        if task["prompt_commitment"] != "0x" + prompt_commitment(prompt, salt).hex():
            raise ExchangeError(f"task {task['id']}: the API commits the ESP to another prompt")
        return task

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/v1/tasks/{task_id}"))

    def lock_fee(self, task: dict[str, Any]) -> LockTerms:
        """Locks the quoted price for the ESP under its hashlock until the quoted deadline, then
        acknowledges the lock with the ESP's signed quote (checked before any Ether moves, as is
        the deadline: :class:`~services.generation.QuoteRefused`
        ``deadline_beyond_registration_window`` when an ESP claiming at it would deliver after
        the Registry's registration window for this lock closed)."""
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
        # The ESP may claim (deliver) as late as the deadline: refuse one that would leave no
        # time to commit inside the Registry's window, read from the chain (not the API's word).
        check_deadline_within_window(
            terms.timelock,
            latest_quote_deadline(
                self.htlc.deployment.chain.timestamp(),
                window_blocks=self.registry.params().registration_window,
            ),
        )
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
        sealed = self.client.get_bytes(f"/v1/tasks/{task['id']}/sealed")
        key = self._key(sealed, esp_key=esp_key, preimage=secret, task_id=task_id)
        meta = task["delivery"]
        try:
            image = Image.open(io.BytesIO(open_sealed(sealed, key=key, task_id=task_id))).convert(
                "RGB"
            )
        except (SealError, OSError) as exc:
            recipient = sealed_recipient(sealed)
            hint = (
                f" (it names recipient key 0x{recipient.hex()}: open it with the wallet or device"
                " whose delivery key that is)"
                if recipient is not None
                else ""
            )
            raise DeliveryMismatch(
                task["id"], f"delivery does not open: {exc}{hint}", key
            ) from None
        if "0x" + canonical_hash(image).hex() != meta["content_hash"].lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested content hash", key)
        if "0x" + self.fingerprint(image).hex() != meta["fingerprint"].lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested fingerprint", key)
        if "0x" + detail_descriptor(image).hex() != str(meta.get("detail", "")).lower():
            raise DeliveryMismatch(task["id"], "image differs from the attested detail", key)
        return image, bytes.fromhex(meta["attestation"][2:])

    def _key(self, sealed: bytes, *, esp_key: bytes, preimage: bytes, task_id: bytes) -> bytes:
        """The key of this delivery: v2 to a key this client holds (its delivery key or its
        account key) when the sealed bytes name one, else v1 to the account key."""
        own = bytes(self.client.account.key)
        recipient = sealed_recipient(sealed)
        for secret in (self.delivery.secret if self.delivery else None, own):
            if secret is not None and recipient == compressed(public_key_bytes(secret)):
                return recipient_sealing_key(
                    recipient_private=secret, esp_public=esp_key, preimage=preimage, task_id=task_id
                )
        return delivery_key(
            own_private=own, peer_public=esp_key, preimage=preimage, task_id=task_id
        )

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
