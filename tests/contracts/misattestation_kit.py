"""Steps of a mis-attestation claim at the BatchCourt (``claimMisattested``) that the court's
and the red team's tests share: a single token registered with its pixels' content hash (so that
its bytes authenticate themselves, as the product's are), the claim with its committee review of
the record, the jurors' votes as an honest juror casts them (``judge_record``), the finalize."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import skimage.data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from PIL import Image, ImageOps

from ledger.clients.batch_court import BatchCourtClient, MisattestedItem
from ledger.clients.registry import DisputeState, RecordProof
from services.content import canonical_hash
from services.provenance import detail_descriptor, fingerprint
from services.provenance.juror import Review, judge_record
from tests.conftest import World
from tests.contracts.batch_kit import BatchPlan, Item, random_fingerprints, reveal, tid
from tests.contracts.batch_kit import client as batch_client
from tests.contracts.committee_kit import CommitteeWorld
from tests.contracts.helpers import default_esp, details, paid_lock, register_esp, registration


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def camera() -> Image.Image:
    """The victim's image: scikit-image's camera, in colour."""
    return Image.fromarray(skimage.data.camera()).convert("RGB")


def copy_of(image: Image.Image) -> Image.Image:
    """A plagiarist's edited copy: mirrored and saved as JPEG 30."""
    buf = io.BytesIO()
    ImageOps.mirror(image).save(buf, format="JPEG", quality=30)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def unrelated() -> Image.Image:
    """An unrelated image whose values a mis-attesting ESP puts on the copy."""
    return Image.fromarray(skimage.data.astronaut()).convert("RGB")


def court_balance(world: World) -> int:
    return world.balance(court(world, world.buyer).address)


def register_pixels(
    world: World,
    owner: LocalAccount,
    image: Image.Image,
    *,
    fingerprint: bytes,
    detail: bytes,
    esp: LocalAccount | None = None,
) -> int:
    """Registers ``image`` under its canonical content hash (the product's token id) with the
    attested ``fingerprint`` and ``detail`` (the image's own, or another's)."""
    esp = esp or default_esp(world, owner.address)
    lock = paid_lock(world, owner, esp)
    reg = registration(
        owner.address, esp.address, lock=lock, fingerprint=fingerprint, detail=detail
    )
    reg = replace(reg, content_hash=canonical_hash(image))
    client = world.registry(owner)
    client.commit(reg)
    return client.reveal(reg, lock, client.sign_attestation(esp, reg))


def court(world: World, account: LocalAccount) -> BatchCourtClient:
    return BatchCourtClient(world.deployment, world.tx(account))


def record_of(world: World, token: int) -> RecordProof:
    return world.registry(world.deployer).registered(token).proof


def claim(cw: CommitteeWorld, token: int, claimant: LocalAccount, *, draw: bool = True) -> bytes:
    """``claimant`` claims the token's record mis-attested (deposit + review fee); the review's
    jurors are drawn unless ``draw`` is False. Returns the review key."""
    fee = cw.committee().params().review_fee
    key = court(cw.world, claimant).claim_misattested(
        token, record_of(cw.world, token), review_fee=fee
    )
    return cw.draw(key) if draw else key


@dataclass(frozen=True)
class Images:
    """A content-addressed image source holding the given tokens' bytes."""

    by_token: dict[int, bytes]

    def __call__(self, collection: str, token_id: int) -> bytes | None:
        return self.by_token.get(token_id)


def honest_votes(cw: CommitteeWorld, key: bytes, token: int, images: Images) -> list[bool]:
    """What each drawn juror votes: ``judge_record`` on the record the chain holds."""
    world = cw.world
    registered = world.registry(world.deployer).registered(token)
    review = Review(
        key=key,
        collection=world.registry(world.deployer).address,
        original=0,
        duplicate=token,
        detail_hash_a=registered.proof.fingerprint,
        detail_hash_b=keccak(registered.detail),
        content_ids=True,
    )
    threshold = world.registry(world.deployer).params().match_threshold
    verdict = judge_record(review, images, registered.detail, threshold=threshold)
    return [verdict.vote] * len(cw.committee().review(key).jurors)


def finalize(cw: CommitteeWorld, token: int, by: LocalAccount) -> DisputeState:
    return court(cw.world, by).finalize_misattested(token, record_of(cw.world, token))


def register_item_pixels(
    world: World,
    owner: LocalAccount,
    image: Image.Image,
    *,
    fingerprint: bytes,
    detail: bytes,
    esp: LocalAccount | None = None,
) -> MisattestedItem:
    """Registers ``image`` (its canonical content hash) as an item of a two-item batch, with
    the attested ``fingerprint`` and ``detail`` (the image's own, or another's); the other item
    is an unrelated random one. Returns the claim's opening of ``image``'s item."""
    esp = esp or default_esp(world, owner.address)
    other = Item(keccak(b"another item"), random_fingerprints(1, 7)[0], details()["far"], 2)
    mine = Item(canonical_hash(image), fingerprint, detail, 1)
    items = tuple(sorted((mine, other), key=lambda it: it.fingerprint))
    p = BatchPlan(items, owner.address, esp.address)
    lock = paid_lock(world, owner, esp)
    batch_client(world, owner).commit(p.commitment(), p.count)
    world.chain.mine(1)
    batch_id = reveal(world, owner, p, lock, esp)
    index = items.index(mine)
    proof = tuple(p.fp_proof(index))
    item = MisattestedItem(
        tid(batch_id, index), fingerprint, proof, detail, p.opening(index), esp.address
    )
    MANIFESTS[item.token_id] = {
        "items": [
            {
                "content_hash": "0x" + it.content_hash.hex(),
                "fingerprint": "0x" + it.fingerprint.hex(),
                "detail": "0x" + it.detail.hex(),
                "seed": str(it.seed),
            }
            for it in items
        ]
    }
    return item


# The manifest (``POST /v1/batches/{id}/manifest`` body) of each item's batch registered by
# :func:`register_item_pixels`, by the item's token id.
MANIFESTS: dict[int, dict[str, object]] = {}


def claim_item(
    cw: CommitteeWorld, item: MisattestedItem, claimant: LocalAccount, *, draw: bool = True
) -> bytes:
    """``claimant`` claims batch item ``item`` mis-attested (deposit + review fee); the
    review's jurors are drawn unless ``draw`` is False. Returns the review key."""
    fee = cw.committee().params().review_fee
    key = court(cw.world, claimant).claim_misattested_item(item, review_fee=fee)
    return cw.draw(key) if draw else key


def finalize_item(cw: CommitteeWorld, item: MisattestedItem, by: LocalAccount) -> DisputeState:
    return court(cw.world, by).finalize_misattested(item.token_id, item.record)


def honest_item_votes(
    cw: CommitteeWorld, key: bytes, item: MisattestedItem, images: Images
) -> list[bool]:
    """What each drawn juror votes on an item's record: ``judge_record`` on the bytes whose
    canonical hash is the item's content hash, against its attested leaf values."""
    world = cw.world
    review = Review(
        key=key,
        collection=batch_client(world, world.deployer).address,
        original=0,
        duplicate=item.token_id,
        detail_hash_a=item.fingerprint,
        detail_hash_b=keccak(item.detail),
    )
    threshold = world.registry(world.deployer).params().match_threshold
    verdict = judge_record(
        review,
        images,
        item.detail,
        threshold=threshold,
        content_hash=int.from_bytes(item.opening.content_hash, "big"),
    )
    return [verdict.vote] * len(cw.committee().review(key).jurors)


__all__ = [
    "MANIFESTS",
    "Images",
    "claim",
    "claim_item",
    "court",
    "finalize",
    "finalize_item",
    "honest_item_votes",
    "honest_votes",
    "png",
    "record_of",
    "register_item_pixels",
    "register_pixels",
]


def _plagiarist_esp_and_lies(cw: CommitteeWorld) -> dict:
    """The producer's ESP registered, the plagiarist's own ESP (dev account 8), and the
    unrelated astronaut's fingerprint and detail descriptor that ESP attests for the copy."""
    cw.producer_esp()
    lie = unrelated()
    return {
        "esp": register_esp(cw.world, cw.world.accounts[8]),
        "fingerprint": fingerprint(lie).to_bytes32(),
        "detail": detail_descriptor(lie),
    }


def misattested_single(cw: CommitteeWorld) -> int:
    """The attacker's edited copy of the camera image as a single token, attested by its own
    ESP with the astronaut's values; five jurors enrolled to review a claim of it."""
    token = register_pixels(
        cw.world, cw.world.attacker, copy_of(camera()), **_plagiarist_esp_and_lies(cw)
    )
    cw.enroll(5)
    return token


def misattested_batch_item(cw: CommitteeWorld) -> MisattestedItem:
    """The same copy as a batch item (:func:`register_item_pixels`); five jurors enrolled."""
    item = register_item_pixels(
        cw.world, cw.world.attacker, copy_of(camera()), **_plagiarist_esp_and_lies(cw)
    )
    cw.enroll(5)
    return item
