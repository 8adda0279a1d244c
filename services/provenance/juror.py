"""A committee juror's verdict on a review (stage 3, docs/committee-jurors.md).

The accused of a contested challenge asks the ``CommitteeVerifier`` for a review of the pair
(``requestReview``); after the next block ``draw`` picks jurors among the enrolled, staked ESPs
(seeded by that block's hash, unknown to the requester when it asks), who each re-run the
published comparison (:func:`~services.provenance.stage3.stage3_matches`) on the two
content-addressed images and vote by commit-reveal. This module is what one juror decides and
how it hides the vote until the reveal phase; :mod:`services.provenance.jury` serves the reviews
on chain.

**What a juror votes.** The review names both tokens and the keccak of both detail descriptors
(the records' ``detailHash``). The juror fetches both images (:class:`ApiImages`: the
marketplace's ``GET /v1/products/{token}/image``; :class:`DirectoryImages`: a local
content-addressed store) and believes an image only when it *is* the record's: its detail
descriptor hashes to the review's hash, and for a single Registry token (whose id is its content
hash) its canonical content hash equals the id. Then:

* both shown: ``stage3_matches(original, duplicate)``;
* an image missing or forged, and both *descriptors* known: **the detail rule** on them, what the
  chain decides without a review, so nobody gains by an image it does not publish (a squatter
  that requested the review of a victim who never uploaded its image used to get a free "yes").
  A side's descriptor is known from its shown image (the image's own descriptor, which hashes to
  the review's hash) or from ``details`` (:class:`DetailSource`: a single token's ``Registered``
  event; a batch item's ``ItemOpened`` event or its published manifest: see the jury module),
  believed only when it hashes to the review's hash;
* the original's descriptor unknown (neither its image nor its descriptor published): **no**.
  The challenger accuses, so it must publish what its claim rests on; withholding its image and
  its manifest wins it nothing. Checked first, so when neither side publishes anything the
  accused keeps its token;
* else the duplicate's descriptor unknown: **yes**. The accused published neither its image nor
  its descriptor (at the BatchRegistry its own contest publishes it on chain); one that hides
  both from the jurors loses. The last two are *burden* votes (:attr:`Verdict.burden`): the duty
  waits a part of the commit phase for the missing descriptor before committing one.

**A record review** (:func:`judge_record`; the BatchCourt's ``claimMisattested``, named by a
``ReviewRequested`` with ``original`` 0): not a pair but one single token's record. The question
is whether its ESP attested a fingerprint and a detail descriptor that are not its content's (a
plagiarist's own ESP attesting a copy with an unrelated image's values, so that no challenge of
it is admissible). The token id is the content hash, so its bytes authenticate themselves: the
juror takes them from the content-addressed source, believes them only when
``canonical_hash(bytes) == tokenId`` (a batch item's claim, ``claimMisattestedItem``: the
content hash its item leaf holds, which the court's ``ItemOpened`` publishes with the attested
descriptor), recomputes the fingerprint and the descriptor and votes
"mis-attested" only when a recorded value fails the *public rule* against the recomputed one
(fingerprint distance above the deployment's ``matchThreshold``, or the detail rule rejecting
the pair): never bitwise equality, so an honest ESP whose decoder or floats round differently
is never convicted. No bytes (or bytes of another image): **no**, a burden vote (the claimant
accuses, it publishes the image; the duty waits a part of the commit phase for it).

The verdict is a pure function of the published images and descriptors, so honest jurors agree
and a restarted juror decides the same. Its salt is derived from the juror's account key and the
review key (:func:`vote_salt`): nothing to persist, nothing another juror can predict, so the
commitment hides the vote until the reveal.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import keccak
from PIL import Image

from services.content import canonical_hash
from services.market_client import MarketClient, MarketError
from services.provenance._image import load_image
from services.provenance.detail import detail_descriptor, detail_matches, is_valid_detail
from services.provenance.errors import DegenerateImageError, NotAnImageError
from services.provenance.generation_proof import (
    GenerationOpening,
    Maker,
    clears,
    model_key,
    runnable_maker,
)
from services.provenance.perceptual import fingerprint
from services.provenance.rule import MATCH_THRESHOLD, Fingerprint
from services.provenance.stage3 import stage3_matches

__all__ = [
    "ApiImages",
    "ApiOpeningPublisher",
    "ApiOpenings",
    "DetailSource",
    "DirectoryImages",
    "ImageSource",
    "OpeningSource",
    "Review",
    "Verdict",
    "judge",
    "judge_record",
    "vote_salt",
]


class ImageSource(Protocol):
    """Where a juror finds a token's image: its encoded bytes, or None when it has none."""

    def __call__(self, collection: str, token_id: int) -> bytes | None: ...


class OpeningSource(Protocol):
    """Where a juror finds a token's published generation opening: the model id it names and
    the prompt and seed (None when none is published); ``awaited`` says whether one may still
    come that this juror could check (the token's attested model is one it can run)."""

    def __call__(self, collection: str, token_id: int) -> tuple[str, GenerationOpening] | None: ...

    def awaited(self, collection: str, token_id: int) -> bool: ...


class DetailSource(Protocol):
    """Where a juror finds a token's published detail descriptor (None when it has none)."""

    def __call__(self, collection: str, token_id: int) -> bytes | None: ...


@dataclass(frozen=True)
class Review:
    """One review as ``ReviewRequested`` announced it (what a verdict needs of it).

    ``content_ids`` says whether the collection's token ids are content hashes (the single
    Registry), so that an image can be checked against the id too."""

    key: bytes
    collection: str
    original: int
    duplicate: int
    detail_hash_a: bytes
    detail_hash_b: bytes
    content_ids: bool = False


@dataclass(frozen=True)
class Verdict:
    """A juror's vote (True: the duplicate is a copy of the original) and why, in words.

    ``burden``: decided by who failed to publish a descriptor, not by the pair (one may still be
    published: the accused's contest at the BatchRegistry opens its item on chain).
    ``fallback``: decided by the detail rule on published descriptors because an image is
    missing (stage 3 needs both; the image may still be uploaded).
    ``unopened``: a "yes" of stage 3 while the accused has published no generation opening (it
    may still publish one that clears it)."""

    vote: bool
    reason: str
    burden: bool = False
    fallback: bool = False
    unopened: bool = False

    @property
    def provisional(self) -> bool:
        """Not yet the pair's own verdict (a burden or a detail-rule fallback): a juror's duty
        waits the first quarter of the commit phase before committing it, so that a requester
        that draws at once cannot have the coarser rule decide before the other side uploads
        its image (the detail rule matches about 4.3e-4 of distinct pairs, stage 3 3.6e-5), or
        stage 3's "yes" before the accused publishes the generation opening that clears it."""
        return self.burden or self.fallback or self.unopened


def judge(
    review: Review,
    images: ImageSource,
    details: DetailSource | None = None,
    openings: OpeningSource | None = None,
    makers: Callable[[str], Maker | None] = runnable_maker,
) -> Verdict:
    """The vote of an honest juror on ``review`` (module docstring: who loses what it withholds).

    ``details`` finds the published detail descriptors (:class:`DetailSource`); a missing or
    forged image then gives the detail rule's verdict on the two descriptors, whoever asked for
    the review (the challenger, the accused or a third party): without it a squatter that
    requested the review of a victim who never uploaded its image had the jurors vote "yes" on a
    pair the rule rejects, and a copier could hide behind a challenger's missing image.

    ``openings`` finds the accused's published generation opening: when stage 3 matches the
    pair and the opening, run on a model ``makers`` can run, reproduces the duplicate and not
    the original, the duplicate is its own generation and the vote is "no"
    (:mod:`~services.provenance.generation_proof`)."""
    a, why_a = _checked(review, images, review.original, review.detail_hash_a)
    b, why_b = _checked(review, images, review.duplicate, review.detail_hash_b)
    if a is not None and b is not None:
        try:
            same = stage3_matches(a, b)
        except DegenerateImageError as exc:  # a record's image stage 3 cannot compare
            return Verdict(False, f"stage 3 cannot compare the pair ({exc}): no copy shown")
        if same and openings is not None:
            cleared, published = _generation_cleared(review, a, b, openings, makers)
            if cleared is not None:
                return Verdict(False, f"stage 3 matches, but {cleared}: not a copy")
            if not published and _awaited(openings, review):
                why = "stage 3 matches: a copy (the accused published no generation opening)"
                return Verdict(True, why, unopened=True)
        return Verdict(same, "stage 3 " + ("matches: a copy" if same else "rejects: not a copy"))
    what = f"the original's image {why_a}" if a is None else f"the duplicate's image {why_b}"
    da = _descriptor(review, a, details, review.original, review.detail_hash_a)
    db = _descriptor(review, b, details, review.duplicate, review.detail_hash_b)
    if da is None:
        why = "the challenger publishes neither its image nor its descriptor: no proof"
        return Verdict(False, f"{what}; {why}", burden=True)
    if db is None:
        why = "the accused hides its image and its descriptor"
        return Verdict(True, f"{what}; {why}", burden=True)
    return Verdict(
        detail_matches(da, db),
        f"{what}: the detail rule on the published descriptors decides",
        fallback=True,
    )


def judge_record(
    review: Review,
    images: ImageSource,
    recorded_detail: bytes | None,
    *,
    threshold: int = MATCH_THRESHOLD,
    content_hash: int | None = None,
) -> Verdict:
    """The vote of an honest juror on a record review (module docstring): True when token
    ``review.duplicate``'s attested values are not its content's. ``review.detail_hash_a`` is the
    attested fingerprint, ``review.detail_hash_b`` the attested descriptor's hash;
    ``recorded_detail`` the descriptor its ``Registered`` event published (believed only when
    it hashes to the review's hash); ``threshold`` the deployment's ``matchThreshold``.
    ``content_hash``: the bytes' canonical hash when it is not the token id (a batch item's,
    from the court's ``ItemOpened``, which proved it against the batch's items root).

    Only the public rules convict: the recorded fingerprint farther than ``threshold`` from
    the recomputed one, or the detail rule rejecting recorded vs recomputed descriptors. A
    re-implementation within a platform's noise (a decoder's or a float's rounding) stays well
    inside both, so an honest ESP is never convicted for not matching this juror bit for bit."""
    token = review.duplicate
    raw = images(review.collection, token)
    if raw is None:
        why = "the token's image is not published: no proof (the claimant's burden)"
        return Verdict(False, why, burden=True)
    try:
        image = load_image(raw, name=f"token {token}")
    except NotAnImageError:
        return Verdict(False, "the published image is not readable: no proof", burden=True)
    if int.from_bytes(canonical_hash(image), "big") != (
        token if content_hash is None else content_hash
    ):
        why = "the published image is not the token's content (hash differs): no proof"
        return Verdict(False, why, burden=True)
    try:
        recomputed_fp = fingerprint(image)
        recomputed_detail = detail_descriptor(image)
    except DegenerateImageError as exc:
        return Verdict(False, f"the rules cannot describe the image ({exc}): no proof")
    distance = recomputed_fp.distance(Fingerprint.from_bytes32(review.detail_hash_a))
    if distance > threshold:
        why = f"the attested fingerprint is {distance} bits from the image's (> {threshold})"
        return Verdict(True, f"mis-attested: {why}")
    if recorded_detail is None or keccak(recorded_detail) != review.detail_hash_b:
        # the Registered event is the chain's own (the Registry checked its hash at the reveal)
        return Verdict(False, "the fingerprint holds; the attested descriptor is not published")
    # either order matching clears it (the rule turns its second argument): the doubt is the ESP's
    if not (
        detail_matches(recorded_detail, recomputed_detail)
        or detail_matches(recomputed_detail, recorded_detail)
    ):
        return Verdict(True, "mis-attested: the detail rule rejects the attested descriptor")
    return Verdict(False, f"the attested values are the image's (distance {distance}, detail rule)")


def _generation_cleared(
    review: Review,
    original: Image.Image,
    duplicate: Image.Image,
    openings: OpeningSource,
    makers: Callable[[str], Maker | None],
) -> tuple[str | None, bool]:
    """Why the duplicate's published generation opening clears it (None when it does not: a
    model this juror cannot run, not reproduced, or the original's), and whether one is
    published at all."""
    try:
        found = openings(review.collection, review.duplicate)
    except Exception:  # an API or network error: no opening, the pixels decide
        return None, False
    if found is None:
        return None, False
    model_id, opening = found
    make = makers(model_id)
    if make is None:
        return None, True
    try:
        ok, why = clears(original, duplicate, opening, make)
    except Exception:  # an opening the model cannot run (served by an untrusted API): no proof
        return None, True
    return (why if ok else None), True


def _awaited(openings: OpeningSource, review: Review) -> bool:
    try:
        return openings.awaited(review.collection, review.duplicate)
    except Exception:  # an API error: nothing to wait for
        return False


def _descriptor(
    review: Review,
    image: Image.Image | None,
    details: DetailSource | None,
    token_id: int,
    detail_hash: bytes,
) -> bytes | None:
    """A side's detail descriptor: its checked image's own, else the published one when it is
    the review's (hashes to ``detail_hash``) and valid; None when neither is known."""
    if image is not None:
        return detail_descriptor(image)  # `_checked` saw it hash to the review's hash
    if details is None:
        return None
    try:
        found = details(review.collection, token_id)
    except Exception:  # a chain or API error: no descriptor, the burden decides
        return None
    if found is None or keccak(found) != detail_hash or not is_valid_detail(found):
        return None
    return found


def _checked(
    review: Review, images: ImageSource, token_id: int, detail_hash: bytes
) -> tuple[Image.Image | None, str]:
    """The token's image when it is the record's, else (None, what is wrong with it)."""
    raw = images(review.collection, token_id)
    if raw is None:
        return None, "is not published"
    try:
        image = load_image(raw, name=f"token {token_id}")
        if keccak(detail_descriptor(image)) != detail_hash:
            return None, "does not match the record's detail hash"
    except (NotAnImageError, DegenerateImageError):
        return None, "is not a readable image"
    if review.content_ids and int.from_bytes(canonical_hash(image), "big") != token_id:
        return None, "does not match the token's content hash"
    return image, ""


def vote_salt(account_key: bytes, review_key: bytes) -> bytes:
    """The salt of a juror's commitment: HMAC-SHA256 of the review key under a key derived from
    the juror's account key. Restart-safe (no state), unguessable by anyone else."""
    key = hashlib.sha256(b"aigc-juror-salt" + account_key).digest()
    return hmac.new(key, review_key, hashlib.sha256).digest()


class ApiImages:
    """Images from the marketplace API (``GET /v1/products/{token}/image``); 404 is None."""

    def __init__(self, client: MarketClient):
        self.client = client

    def __call__(self, collection: str, token_id: int) -> bytes | None:
        try:
            return self.client.get_bytes(f"/v1/products/{token_id}/image")
        except MarketError as exc:
            if exc.status == 404:
                return None
            raise


class ApiOpenings:
    """Generation openings from the marketplace API (``GET /v1/products/{token}/generation``);
    404 is None. The API stores only an opening it saw reproduce the image, but a juror checks
    again on its own model: the API is not trusted."""

    def __init__(self, client: MarketClient):
        self.client = client

    def __call__(self, collection: str, token_id: int) -> tuple[str, GenerationOpening] | None:
        try:
            body = self.client.get(f"/v1/products/{token_id}/generation")
        except MarketError as exc:
            if exc.status == 404:
                return None
            raise
        try:
            return str(body["model_id"]), GenerationOpening(str(body["prompt"]), int(body["seed"]))
        except (KeyError, TypeError, ValueError):
            return None  # a malformed answer proves nothing

    def awaited(self, collection: str, token_id: int) -> bool:
        """Whether the token's attested model is the bundled one (which this juror runs)."""
        from generators import get_generator

        try:
            product = self.client.get(f"/v1/products/{token_id}")
        except MarketError as exc:
            if exc.status == 404:
                return False
            raise
        attested = str(product.get("model_id", "")).lower().removeprefix("0x")
        return attested == model_key(get_generator("bundled").model_id).hex()


class ApiOpeningPublisher:
    """Publishes the generation opening of one of the account's own tokens (the accused's
    defence: :mod:`~services.provenance.generation_proof`): the prompt of the account's task
    whose delivery is the token's image, and the generation seed its ESP delivered with it
    (``generation_seed`` of the delivery), to ``PUT /v1/products/{token}/generation``. It reveals
    the prompt, so only a defender calls it, for a token that stage 3 would otherwise take.
    Returns what it did, or None when it knows no opening (no such task, no seed delivered)."""

    def __init__(self, client: MarketClient):
        self.client = client

    def __call__(self, token_id: int) -> str | None:
        content = f"0x{token_id:064x}"
        after: str | None = None
        while True:
            params: dict[str, Any] = {"status": "delivered,claimed,registered", "limit": 200}
            if after is not None:
                params["after"] = after
            page = self.client.get("/v1/tasks", **params)
            for task in page["items"]:
                delivery = task.get("delivery") or {}
                seed = delivery.get("generation_seed")
                if str(delivery.get("content_hash", "")).lower() != content or not seed:
                    continue
                if not task.get("prompt"):
                    return None
                body = {"prompt": task["prompt"], "seed": str(seed)}
                try:
                    self.client.put(f"/v1/products/{token_id}/generation", json=body)
                except MarketError as exc:
                    return f"the opening of {token_id} was refused ({exc.code})"
                return f"published the generation opening of {token_id}"
            after = page.get("next")
            if not after:
                return None


class DirectoryImages:
    """Images from a local folder, one file per token named by its id in hex (``0x`` + 64
    digits, any extension), as a juror that mirrors published images keeps them."""

    def __init__(self, root: Path):
        self.root = root

    def __call__(self, collection: str, token_id: int) -> bytes | None:
        for path in sorted(self.root.glob(f"{token_id:#066x}.*")):
            return path.read_bytes()
        return None
