"""The contract lifecycle, walked end to end by named actors on a real EVM (``aigc demo``).

Alice (producer) pays ESP-A through a hash-time lock for a generated image, registers it with
ESP-A's attestation (commit-reveal), sells it to Carol through a hash-time-locked swap, Mallory
registers an edited copy through the colluding ESP-B, the copy is noticed by fingerprint and
Carol's challenge revokes it, and the lazy ESP-C never delivers so Alice refunds. Every step is
a real transaction; its gas is reported.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from PIL import Image, ImageOps

from ledger import (
    Chain,
    Deployment,
    EspRegistryClient,
    HtlcClient,
    Registration,
    RegistryClient,
    TokenStatus,
    Transactor,
    deploy,
    new_secret,
)
from ledger.deploy import DeployParams
from services.exchange import (
    buyer_claim_token,
    buyer_lock_payment,
    seller_claim_payment,
    seller_lock_token,
)

ETHER = 10**18
FEE = ETHER // 100
PRICE = ETHER // 10
ACTORS = ("deployer", "Alice", "ESP-A", "Carol", "Mallory", "ESP-B", "ESP-C")


@dataclass(frozen=True)
class Step:
    """One transaction (or off-chain act) of the walk."""

    actor: str
    action: str
    gas: int | None = None
    detail: str = ""


@dataclass
class LifecycleResult:
    steps: list[Step] = field(default_factory=list)
    images: dict[str, Path] = field(default_factory=dict)
    original_token: int = 0
    copy_token: int = 0


ImageMaker = Callable[[str, int], tuple[Image.Image, dict[str, object]]]
Fingerprinter = Callable[[Image.Image], bytes]


def canonical_hash(image: Image.Image) -> bytes:
    """sha256 of the image's RGB pixels with its size: the on-chain content hash."""
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"RGB {rgb.width}x{rgb.height}\n".encode())
    digest.update(rgb.tobytes())
    return digest.digest()


def plagiarise(image: Image.Image) -> Image.Image:
    """What Mallory does: mirror the image and re-encode it as a JPEG of quality 60."""
    buf = io.BytesIO()
    ImageOps.mirror(image.convert("RGB")).save(buf, format="JPEG", quality=60)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


class LifecycleWalk:
    """Runs the walk on ``chain``; ``report`` is called after each step (for progress output)."""

    def __init__(
        self,
        chain: Chain,
        *,
        make_image: ImageMaker,
        fingerprint: Fingerprinter,
        out_dir: Path,
        params: DeployParams | None = None,
        report: Callable[[Step], None] = lambda step: None,
    ):
        self.chain = chain
        self.make_image = make_image
        self.fingerprint = fingerprint
        self.out_dir = out_dir
        self.params = params or DeployParams()
        self.report = report
        self.result = LifecycleResult()
        self.who: dict[str, LocalAccount] = dict(zip(ACTORS, chain.dev_accounts(), strict=False))
        self.dep: Deployment | None = None

    def _tx(self, actor: str) -> Transactor:
        return Transactor(self.chain, self.who[actor])

    def _step(
        self, actor: str, action: str, client: object | None = None, detail: str = ""
    ) -> None:
        receipt = getattr(client, "last_receipt", None) if client is not None else None
        step = Step(actor, action, int(receipt["gasUsed"]) if receipt else None, detail)
        self.result.steps.append(step)
        self.report(step)

    def htlc(self, actor: str) -> HtlcClient:
        assert self.dep is not None
        return HtlcClient(self.dep, self._tx(actor))

    def esps(self, actor: str) -> EspRegistryClient:
        assert self.dep is not None
        return EspRegistryClient(self.dep, self._tx(actor))

    def registry(self, actor: str) -> RegistryClient:
        assert self.dep is not None
        return RegistryClient(self.dep, self._tx(actor))

    def run(
        self, prompt: str = "a red circle on a blue background", seed: int = 1
    ) -> LifecycleResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.dep = deploy(self.chain, self.who["deployer"], self.params)
        self._step(
            "deployer", "deploy HashTimeLock, EspRegistry, Registry", detail=self.chain.describe()
        )
        for esp in ("ESP-A", "ESP-B", "ESP-C"):
            client = self.esps(esp)
            client.register(
                f"http://{esp.lower()}.local", price=FEE, stake=self.params.esp_min_stake
            )
            self._step(esp, "register as ESP with stake", client)

        image, meta, lock = self._paid_generation(prompt, seed)
        self.result.original_token = self._register("Alice", "ESP-A", image, meta, lock.id)
        self._swap_to_carol()
        self._plagiarism(image, meta)
        self._lazy_esp()
        return self.result

    def _paid_generation(self, prompt: str, seed: int):  # type: ignore[no-untyped-def]
        secret, hashlock = new_secret()  # ESP-A's secret; it quotes sha256(secret)
        self._step("ESP-A", "quote: price and hashlock", detail=f"h=0x{hashlock.hex()[:16]}...")
        alice = self.htlc("Alice")
        lock = alice.lock_ether(
            self.who["ESP-A"].address,
            amount=FEE,
            hashlock=hashlock,
            timelock=self.chain.timestamp() + 3600,
        )
        self._step("Alice", "lock the generation fee for ESP-A", alice)
        image, meta = self.make_image(prompt, seed)
        path = self.out_dir / "original.png"
        image.save(path)
        self.result.images["original"] = path
        self._step("ESP-A", f"generate '{prompt}' (seed {seed})", detail=str(path))
        esp = self.htlc("ESP-A")
        esp.withdraw(lock, secret)
        self._step("ESP-A", "claim the fee, revealing the secret", esp)
        revealed = alice.revealed_preimage(lock)
        assert revealed == secret, "the secret must be readable from the chain"
        self._step("Alice", "read the secret from the chain and open the delivery")
        feedback = self.esps("Alice")
        feedback.submit_feedback(lock, positive=True)
        self._step("Alice", "positive feedback on ESP-A (backed by the settled lock)", feedback)
        return image, meta, lock

    def _register(
        self, owner: str, esp: str, image: Image.Image, meta: dict[str, object], task: bytes
    ) -> int:
        reg = Registration(
            content_hash=canonical_hash(image),
            fingerprint=self.fingerprint(image),
            owner=self.who[owner].address,
            esp=self.who[esp].address,
            task_id=task,
            model_id=hashlib.sha256(str(meta.get("model_id", "")).encode()).digest(),
            seed=int(str(meta.get("seed", 0))),
        )
        client = self.registry(owner)
        attestation = client.sign_attestation(self.who[esp], reg)
        self._step(
            esp,
            "sign the EIP-712 attestation",
            detail=f"fingerprint 0x{reg.fingerprint.hex()[:16]}...",
        )
        client.commit(reg)
        self._step(owner, "commit the registration", client)
        self.chain.mine(1)
        token = client.reveal(reg, attestation)
        self._step(
            owner,
            "reveal: register and mint the token",
            client,
            detail=f"token {hex(token)[:18]}...",
        )
        return token

    def _swap_to_carol(self) -> None:
        token = self.result.original_token
        registry = self.registry("Alice")
        registry.approve(self.htlc("Alice").address, token)
        self._step("Alice", "approve the escrow for the token", registry)
        now = self.chain.timestamp()
        seller = self.htlc("Alice")
        offer = seller_lock_token(
            seller,
            token=registry.address,
            token_id=token,
            buyer=self.who["Carol"].address,
            timelock=now + 7200,
        )
        self._step("Alice", "lock the token for Carol (T1 = +2 h)", seller)
        buyer = self.htlc("Carol")
        payment = buyer_lock_payment(
            buyer,
            offer.asset_lock,
            token=registry.address,
            token_id=token,
            price=PRICE,
            timelock=now + 3600,
        )
        self._step("Carol", "check Alice's lock, lock the price (T2 = +1 h <= T1 - margin)", buyer)
        seller_claim_payment(seller, payment, offer)
        self._step("Alice", "take the price, revealing the swap secret", seller)
        buyer_claim_token(buyer, payment, offer.asset_lock)
        self._step("Carol", "take the token with the revealed secret", buyer)

    def _plagiarism(self, image: Image.Image, meta: dict[str, object]) -> None:
        copy = plagiarise(image)
        path = self.out_dir / "plagiarised.png"
        copy.save(path)
        self.result.images["plagiarised"] = path
        self._step("Mallory", "mirror and re-encode Alice's image", detail=str(path))
        self.result.copy_token = self._register("Mallory", "ESP-B", copy, meta, b"\x00" * 32)
        registry = self.registry("Carol")
        original = registry.record(self.result.original_token)
        duplicate = registry.record(self.result.copy_token)
        distance = registry.fingerprint_distance(original.fingerprint, duplicate.fingerprint)
        self._step("watch", "notice the near-duplicate", detail=f"distance {distance}")
        upheld = registry.challenge(self.result.original_token, self.result.copy_token)
        status = registry.record(self.result.copy_token).status
        self._step(
            "Carol",
            f"challenge: {'upheld' if upheld else 'rejected'}, copy {status.name.lower()}",
            registry,
        )
        assert status is TokenStatus.REVOKED, "the edited copy should have been revoked"

    def _lazy_esp(self) -> None:
        _, hashlock = new_secret()
        alice = self.htlc("Alice")
        lock = alice.lock_ether(
            self.who["ESP-C"].address,
            amount=FEE,
            hashlock=hashlock,
            timelock=self.chain.timestamp() + self.params.min_lock_duration + 60,
        )
        self._step("Alice", "lock a fee for ESP-C", alice)
        self.chain.increase_time(self.params.min_lock_duration + 61)
        self._step("ESP-C", "never delivers; the deadline passes")
        alice.refund(lock)
        self._step("Alice", "refund the fee after the deadline", alice)
        record = self.esps("Carol")
        record.record_refund(lock)
        self._step("anyone", "record the refund against ESP-C's reputation", record)
