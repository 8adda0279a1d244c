"""The demo's batch chapter (issue 16), after the single-image rounds: a producer pays one ESP for
a few images and registers them as one batch, through the code a user runs (a batch request the
ESP's worker answers through the API, then ``services.batch.register``: one commit, one reveal, a
token each); a plagiarist batches an edited copy of one of them with images of her own through a
colluding ESP, and the copy alone is revoked while its siblings stay active; the challenger's
reward is held (issue 11) and paid by ``settle`` once the demo's chain has mined the hold.

Every token is read back from the chain (``ownerOf``, ``tokenURI``, ``royaltyInfo``), and the
token URI is fetched from the API, so the report shows what a wallet or a marketplace would see.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

from eth_utils import keccak, to_checksum_address
from PIL import Image

from aigc_lab.demo.actors import Actor, Cast, fp32
from aigc_lab.demo.stack import Stack
from ledger import LockTerms, new_secret
from ledger.merkle import split_token_id, token_id
from services.batch import BatchRequest, Delivery, RequestItem, SignedBatch, attest_batch
from services.batch.attestation import reveal_view
from services.batch.manifest import BatchManifest
from services.batch.register import LedgerBatchChain, prepare_batch, register_batch
from services.content import canonical_hash, plagiarise
from services.provenance import detail_descriptor

BATCH_PRODUCER, BATCH_ESP = "Bob", "ESP-A"
BATCH_PROMPTS = (
    "a red lighthouse on a green cliff",
    "a yellow kite over a blue sea",
    "a purple owl in a white tree",
    "an orange boat on a black lake",
)
COPIER_PROMPTS = ("a pink cactus in a cyan pot", "a white fox on an orange field")


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _uint(value: Any) -> int:
    """A token id as the API writes it (a decimal string; hex with 0x also read)."""
    text = str(value)
    return int(text, 16) if text.startswith("0x") else int(text)


class BatchChapter:
    """Runs the batch chapter on the story's stack and cast; fills ``batches`` and
    ``challenges`` (dicts for the report and summary.json) and ``images`` (token -> PNG path)."""

    def __init__(
        self,
        stack: Stack,
        cast: Cast,
        *,
        price: int,
        sale_price: int,
        seed: int,
        image_path: Callable[[int], Any],
        say: Callable[[str], None] = print,
    ):
        self.stack, self.cast, self.seed = stack, cast, seed
        self.price, self.sale_price = price, sale_price
        self.image_path, self.say = image_path, say
        self.batches: list[dict[str, Any]] = []
        self.challenges: list[dict[str, Any]] = []
        self.images: dict[str, Any] = {}

    def run(self) -> None:
        producer = self.cast.actors[BATCH_PRODUCER]
        images = self._paid_images(producer, self.cast.actors[BATCH_ESP])
        signed = self._ask_esp(producer, BATCH_ESP, images)
        manifest = self._register(producer, signed, images, role="producer")
        original = token_id(manifest.batch_id, 0)
        self._plagiarise(original)

    # -- the producer's batch ------------------------------------------------------------------
    def _paid_images(self, producer: Actor, esp: Actor) -> list[Image.Image]:
        """Paid generations of every prompt at ``esp``, side by side (one round of each step)."""
        session = self.cast.producers[producer.name]
        tasks = [
            session.post(prompt, seed=self.seed + i, max_price=2 * self.price, esp=esp.address)
            for i, prompt in enumerate(BATCH_PROMPTS)
        ]
        self.cast.serve()  # quotes
        for task in tasks:
            session.lock_fee(session.task(task["id"]))
        self.stack.sync()
        self.cast.serve()  # deliveries
        self.cast.serve()  # claims (each reveals its secret)
        self.stack.sync()
        images = []
        for task in tasks:
            image, _attestation = session.collect(session.task(task["id"]))
            images.append(image)
        self.say(
            f"batch: {producer.name} paid {esp.name} for {len(images)} images "
            f"({len(tasks)} locks) and asks it for one batch attestation"
        )
        return images

    def _ask_esp(self, producer: Actor, esp: str, images: list[Image.Image]) -> SignedBatch:
        """A batch request through the API; the ESP's worker answers it (or names its rule)."""
        items = [
            {
                "content_hash": "0x" + canonical_hash(im).hex(),
                "fingerprint": "0x" + fp32(im).hex(),
                "detail_hash": "0x" + keccak(detail_descriptor(im)).hex(),
            }
            for im in images
        ]
        body = {"esp": self.cast.actors[esp].address, "task_id": None, "items": items}
        asked = producer.client.post("/v1/batch-requests", json=body)
        self.cast.serve()  # the worker answers pending batch requests
        answer = producer.client.get(f"/v1/batch-requests/{asked['id']}")
        if answer["status"] != "attested":
            raise RuntimeError(f"{esp} did not attest the demo's batch: {answer.get('refusal')}")
        return SignedBatch.from_json(answer["attestation"])

    def _register(
        self, owner: Actor, signed: SignedBatch, images: list[Image.Image], *, role: str
    ) -> BatchManifest:
        """``services.batch.register`` (check every image, commit, reveal), then the manifest
        published and the images attached through the API; records the batch for the report."""
        pngs = [(f"{i}.png", _png(im)) for i, im in enumerate(images)]
        prepared = prepare_batch(pngs, signed, producer=owner.address, fingerprint=fp32)
        gas = self.cast.gas.used
        before = {op: len(gas.get(op, ())) for op in ("batch commit", "batch reveal")}
        manifest = register_batch(prepared, LedgerBatchChain(owner.batches))
        spent = {op: sum(gas[op][before[op] :]) for op in before}
        self.stack.sync()
        owner.client.post(
            f"/v1/batches/{manifest.batch_id}/manifest", json={"items": manifest.to_json()["items"]}
        )
        self.stack.sync()
        by_hash = {canonical_hash(im): im for im in images}
        tokens = [token_id(manifest.batch_id, i) for i in range(manifest.layout.count)]
        for token, item in zip(tokens, manifest.layout.items, strict=True):
            image = by_hash[item.content_hash]
            owner.client.put(
                f"/v1/products/{token}/image",
                files={"image": ("image.png", _png(image), "image/png")},
            )
            path = self.image_path(token)
            image.save(path)
            self.images[str(token)] = path
        self.stack.sync()
        count = manifest.layout.count
        self.batches.append(
            {
                "batch_id": manifest.batch_id,
                "role": role,
                "producer": owner.name,
                "esp": self.cast.name_of[signed.esp],
                "task_id": "0x" + signed.task_id.hex(),
                "count": count,
                "token_ids": [str(t) for t in tokens],
                "gas": {
                    "commit": spent["batch commit"],
                    "reveal": spent["batch reveal"],
                    "per_image": (spent["batch commit"] + spent["batch reveal"]) // count,
                },
                "tokens": [self._token(owner, t) for t in tokens],
            }
        )
        self.say(
            f"  {owner.name} registered batch {manifest.batch_id}: {count} tokens in one commit "
            f"and one reveal, {(spent['batch commit'] + spent['batch reveal']) // count:,} gas "
            "per image"
        )
        return manifest

    def _token(self, reader: Actor, token: int) -> dict[str, Any]:
        """What a wallet sees of ``token``: the chain's ownerOf, tokenURI and royaltyInfo (at the
        demo's sale price), the metadata the URI serves, the API's status."""
        batches = reader.batches
        owner = batches.owner_of(token)
        uri = batches.token_uri(token)
        receiver, royalty = batches.royalty_info(token, self.sale_price)
        base = str(self.stack.http.base_url).rstrip("/")
        metadata = (
            self.stack.http.get(uri.removeprefix(base)).json() if uri.startswith(base) else {}
        )
        attributes = {a.get("trait_type"): a.get("value") for a in metadata.get("attributes", [])}
        return {
            "token_id": str(token),
            "index": split_token_id(token)[1],
            "owner": self.cast.name_of.get(owner, owner),
            "token_uri": uri,
            "metadata_content_hash": attributes.get("Content hash"),  # what the URI serves
            "royalty_receiver": self.cast.name_of.get(receiver, receiver),
            "royalty": royalty,
            "status": self._status(token),
        }

    def _status(self, token: int) -> str:
        return str(self.stack.http.get(f"/v1/products/{token}").json()["status"])

    # -- the plagiarist's batch ----------------------------------------------------------------
    def _plagiarise(self, original: int) -> None:
        """Mallory batches an edited copy of ``original`` with two images of her own, attested by
        the colluding ESP-B (which signs the copy as its own: the rule function fed its lies);
        the watch tells the original's owner, who challenges the one item; it is revoked alone."""
        mallory, colluder = self.cast.actors["Mallory"], self.cast.actors["ESP-B"]
        data = self.stack.http.get(f"/v1/products/{original}/image").content
        copy = plagiarise(Image.open(io.BytesIO(data)))
        # One paid generation lock from Mallory to ESP-B: a batch's priority is its lock's block,
        # later than the original's, so the copy cannot pre-empt it.
        preimage, hashlock = new_secret()
        lock = mallory.htlc.lock_ether(
            colluder.address,
            amount=self.price,
            hashlock=hashlock,
            timelock=self.stack.chain.timestamp() + 3600,
        )
        colluder.htlc.withdraw(lock, preimage)
        made = [self.cast.make_image(p, self.seed + 10 + i) for i, p in enumerate(COPIER_PROMPTS)]
        images = [copy] + [image.convert("RGB") for image, _meta in made]
        model = hashlib.sha256(str(made[0][1].get("model_id", "")).encode()).digest()
        signed = self._collude(mallory, colluder, lock, images, model)
        manifest = self._register(mallory, signed, images, role="plagiarist")
        copy_token = token_id(manifest.batch_id, manifest.layout.index_of(canonical_hash(copy)))
        self.say(
            f"  Mallory batched an edited copy of {original} with {len(images) - 1} images of her "
            f"own through ESP-B: the copy is {copy_token}"
        )
        owner_name = self.cast.name_of[
            self.stack.http.get(f"/v1/products/{original}").json()["owner"]
        ]
        owner = self.cast.actors[owner_name]
        notes = [
            n
            for n in owner.client.get("/v1/notifications")["items"]
            if n["kind"] == "plagiarism_suspected" and _uint(n["duplicate"]) == copy_token
        ]
        if not notes:
            raise RuntimeError(f"the plagiarism watch did not flag {copy_token} to {owner.name}")
        note = notes[0]
        prepared = note["prepared_challenge"]
        self.say(
            f"  the watch told {owner.name} (distance {note['distance']}, the challenge prepared "
            f"at {prepared['endpoint']}); {owner.name} challenges the one item"
        )
        proofs = [self._fp_proof(t) for t in (original, copy_token)]
        owner.batches.challenge(original, *proofs[0], copy_token, *proofs[1])
        self.stack.sync()
        window = owner.batches.params().dispute_window
        self.stack.chain.mine(window + 1)  # Mallory does not contest: her copy would lose
        upheld = owner.batches.finalize(original, copy_token)
        self.stack.sync()
        settled = self._settle(owner, original, copy_token) if upheld else None
        siblings = [t for t in self.batches[-1]["token_ids"] if _uint(t) != copy_token]
        originals = self.batches[0]["token_ids"]
        self.challenges.append(
            {
                "original": str(original),
                "duplicate": str(copy_token),
                "challenger": owner.name,
                "distance": note["distance"],
                "detail_checked": note.get("detail_checked"),
                "upheld": upheld,
                "settled": settled,
                "copy_status": self._status(copy_token),
                "sibling_statuses": {t: self._status(_uint(t)) for t in siblings},
                "original_batch_statuses": {t: self._status(_uint(t)) for t in originals},
            }
        )
        for batch in self.batches:  # the report shows each token's state after the challenge
            for tok in batch["tokens"]:
                tok["status"] = self._status(_uint(tok["token_id"]))
        self.say(
            f"  the BatchRegistry revoked {copy_token} alone; its {len(siblings)} siblings and "
            f"{owner.name}'s batch stay active"
        )

    def _settle(self, owner: Actor, original: int, copy_token: int) -> dict[str, Any]:
        """The upheld challenge revoked the copy and paid nothing: the owner's deposit and reward
        are held until ``settle``, after the hold, so a challenger whose own token is revoked as
        a copy meanwhile keeps nothing. The demo mines the hold and settles; returns the
        dispute's state, what the challenger received (wei) and the copy's ESP's slash, which is
        burned (paid to a challenger it would be farmable with one's own false matches)."""
        hold = int(self.stack.deployment.manifest.params["reward_hold_blocks"])
        w3, me = self.stack.chain.w3, to_checksum_address(owner.address)
        self.stack.chain.mine(hold)
        esp_b = self.cast.actors["ESP-B"].address
        stake_before = owner.esps.esp_info(esp_b).stake
        before = int(w3.eth.get_balance(me))
        state = owner.batches.settle(original, copy_token).name.lower()
        receipt = owner.batches.last_receipt
        assert receipt is not None  # the settle just sent
        fee = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        paid = int(w3.eth.get_balance(me)) - before + fee
        slashed = stake_before - owner.esps.esp_info(esp_b).stake
        self.stack.sync()
        self.say(
            f"  the reward was held for {hold} blocks; {owner.name} settled ({state}): its "
            f"deposit and reward, {paid / 10**18:.4f} ETH; ESP-B lost {slashed / 10**18:.4f} ETH "
            "of its stake, burned"
        )
        return {
            "state": state,
            "hold_blocks": hold,
            "paid_wei": paid,
            "slash_burned_wei": slashed,
            "slash_owed_wei": owner.esps.compensation_of(owner.address),
        }

    def _collude(
        self,
        mallory: Actor,
        colluder: Actor,
        lock: LockTerms,
        images: list[Image.Image],
        model: bytes,
    ) -> SignedBatch:
        """ESP-B's attestation: the ESP's own rule (``attest_batch``) over delivery records it
        made up (the copy listed as its own generation for Mallory's lock)."""
        deliveries = {
            canonical_hash(im): Delivery(
                content_hash=canonical_hash(im),
                producer=mallory.address,
                lock=lock,
                fingerprint=fp32(im),
                detail_hash=keccak(detail_descriptor(im)),
                seed=i + 1,
                model_id=model,
            )
            for i, im in enumerate(images)
        }
        request = BatchRequest(
            mallory.address,
            None,
            tuple(
                RequestItem(d.content_hash, d.fingerprint, d.detail_hash)
                for d in deliveries.values()
            ),
        )
        batches = colluder.batches
        return attest_batch(
            request,
            deliveries,
            colluder.htlc.lock_info,
            esp=colluder.account,
            chain_id=self.stack.chain.chain_id,
            contract=batches.address,
            max_batch=batches.params().max_batch,
            reveal=reveal_view(batches, mallory.address),
        )

    def _fp_proof(self, token: int) -> tuple[bytes, list[bytes]]:
        """A batched item's fingerprint and its proof, as the API serves them to anyone."""
        batch_id, index = split_token_id(token)
        proof = self.stack.http.get(f"/v1/batches/{batch_id}/items/{index}/proof").json()
        return (
            bytes.fromhex(proof["fingerprint"][2:]),
            [bytes.fromhex(p[2:]) for p in proof["fingerprint_proof"]],
        )
