"""Small builders the contract tests share (ESP registration, locks, image registration)."""

from __future__ import annotations

import functools
import hashlib
import io
import secrets

import skimage.data
from eth_account.signers.local import LocalAccount
from PIL import Image, ImageOps

from ledger import LockTerms, Registration, new_secret
from services.provenance.detail import detail_descriptor
from tests.conftest import World

ESP_STAKE = 10**17
FEE = 10**15

# Four distinct, non-degenerate 64-bit words; "near" differs from BASE_FP by one bit per word.
BASE_FP = bytes.fromhex("0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0")
NEAR_FP = bytes.fromhex("0123456789abcdeefedcba98765432110f1e2d3c4b5a69798796a5b4c3d2e1f1")
FAR_FP = bytes.fromhex("aaaaaaaaaaaaaaaa5555555555555555a5a5a5a5a5a5a5a55a5a5a5a5a5a5a5a")


def wait_out_exit_delay(world: World) -> None:
    """Mines past ``EspRegistry.exitDelay``: the blocks a stopped ESP's stake stays at risk for
    the images it attested (issue 12), so that a withdrawal can succeed."""
    world.chain.mine(world.deployment.esp_registry.functions.exitDelay().call() + 1)


def past_reclaim(world: World) -> None:
    """Mines past the reclaim window of every token registered so far: the Registry refuses to
    move a token (into the swap escrow, or by any transfer) within ``registrationWindow +
    commitTtl`` blocks of its reveal or last reclaim (``RegistryTokenReclaimable``), while an
    earlier payer of its bytes could still take it from its holder."""
    p = world.params
    world.chain.mine(p.registration_window_blocks + p.commit_ttl_blocks + 1)


def copier_esp(world: World) -> LocalAccount:
    """A second ESP (dev account 6), registered on first use: the default attester of images
    registered by anyone but the producer, so that a copy and its original come from two ESPs
    (when one ESP attested both, priority cannot decide a challenge: an equivocation)."""
    esp = world.accounts[6]
    if not world.esps(esp).esp_info(esp.address).endpoint:  # never registered
        register_esp(world, esp)
    return esp


def default_esp(world: World, owner: str) -> LocalAccount:
    """The ESP that attests ``owner``'s images unless a test names one."""
    return world.esp if owner.lower() == world.producer.address.lower() else copier_esp(world)


def register_esp(world: World, esp: LocalAccount | None = None) -> LocalAccount:
    esp = esp or world.esp
    world.esps(esp).register(f"http://{esp.address[:10]}.example", price=FEE, stake=ESP_STAKE)
    return esp


def lock_fee(
    world: World,
    *,
    sender: LocalAccount | None = None,
    receiver: str | None = None,
    amount: int = FEE,
    duration: int = 3600,
) -> tuple[LockTerms, bytes]:
    """A generation-fee lock (Ether) from ``sender`` (producer) to ``receiver`` (ESP)."""
    sender = sender or world.producer
    preimage, hashlock = new_secret()
    lock = world.htlc(sender).lock_ether(
        receiver or world.esp.address,
        amount=amount,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + duration,
    )
    return lock, preimage


@functools.cache
def details() -> dict[str, bytes]:
    """Real detail descriptors: ``base`` (scikit-image's camera), ``near`` (a JPEG-30, mirrored
    copy of it: the detail rule matches it) and ``far`` (the astronaut: it does not)."""
    camera = Image.fromarray(skimage.data.camera()).convert("RGB")
    buf = io.BytesIO()
    ImageOps.mirror(camera).save(buf, format="JPEG", quality=30)
    near = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    astronaut = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    return {
        "base": detail_descriptor(camera),
        "near": detail_descriptor(near),
        "far": detail_descriptor(astronaut),
    }


def paid_lock(world: World, owner: LocalAccount, esp: LocalAccount) -> LockTerms:
    """A generation fee from ``owner`` to ``esp`` that the ESP has claimed (the task is paid)."""
    lock, preimage = lock_fee(world, sender=owner, receiver=esp.address)
    world.htlc(esp).withdraw(lock, preimage)
    return lock


def registration(
    owner: str,
    esp: str,
    *,
    lock: LockTerms,
    fingerprint: bytes = BASE_FP,
    detail: bytes | None = None,
    content: bytes | None = None,
) -> Registration:
    content = content if content is not None else secrets.token_bytes(64)
    return Registration(
        content_hash=hashlib.sha256(content).digest(),
        fingerprint=fingerprint,
        detail=detail if detail is not None else details()["base"],
        owner=owner,
        esp=esp,
        task_id=lock.id,
        model_id=hashlib.sha256(b"bundled").digest(),
        seed=7,
    )


def register_image(
    world: World,
    owner: LocalAccount,
    *,
    esp: LocalAccount | None = None,
    fingerprint: bytes = BASE_FP,
    detail: bytes | None = None,
    content: bytes | None = None,
    lock: LockTerms | None = None,
) -> int:
    """Pay a generation, commit, mine, reveal with the ESP's attestation; returns the token id."""
    if esp is None:  # the given lock's receiver, else the owner's default ESP
        esp = (
            next(a for a in world.accounts if a.address.lower() == lock.receiver.lower())
            if lock
            else default_esp(world, owner.address)
        )
    lock = lock or paid_lock(world, owner, esp)
    reg = registration(
        owner.address,
        esp.address,
        lock=lock,
        fingerprint=fingerprint,
        detail=detail,
        content=content,
    )
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(esp, reg))


def challenge_and_finalize(world: World, owner: LocalAccount, original: int, copy: int) -> bool:
    """Opens an uncontested challenge, waits out the window, finalizes it."""
    client = world.registry(owner)
    client.challenge(original, copy)
    world.chain.mine(world.params.dispute_window_blocks + 1)
    return client.finalize(original, copy)
