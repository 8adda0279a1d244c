"""The story, round after round: reputation-based ESP choice, paid generation with sealed
delivery, registration, a swap to the consumer (with royalties on resales), a plagiarist and the
challenge that revokes the copy, and a lazy ESP whose producers get refunds; then the batch
chapter (:mod:`aigc_lab.demo.batches`): one batch of paid images, a batched copy revoked alone."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from aigc_lab.demo.actors import ESPS, PRODUCERS, Actor, Cast, fp32
from aigc_lab.demo.batches import BatchChapter
from aigc_lab.demo.stack import Stack
from ledger import LockTerms, Registration, new_secret
from ledger.clients.registry import sign_attestation
from services.content import canonical_hash, plagiarise
from services.exchange import (
    buyer_claim_token,
    buyer_pay,
    seller_claim_payment,
    seller_lock_token,
)
from services.listing import Offer, sign_offer
from services.provenance import detail_descriptor, detail_matches, fingerprint

COLOURS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "white", "black")
SHAPES = ("circle", "square", "triangle", "diamond", "star")


def _a(word: str) -> str:
    """The indefinite article for ``word`` ("an orange", "a red")."""
    return "an" if word[0] in "aeiou" else "a"


@dataclass(frozen=True)
class DemoConfig:
    rounds: int = 4
    lazy_from: int = 2  # the round from which ESP-C stops delivering
    price: int = 10**15
    sale_price: int = 5 * 10**16
    deadline_s: int = 600
    seed: int = 2026


@dataclass
class DemoResult:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    challenges: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)  # issue 16: aigc_lab.demo.batches
    batch_challenges: list[dict[str, Any]] = field(default_factory=list)
    reputation: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ESPS})
    load: dict[str, list[int]] = field(default_factory=lambda: {e: [] for e in ESPS})
    images: dict[str, Path] = field(default_factory=dict)
    gas: dict[str, list[int]] = field(default_factory=dict)


class Story:
    def __init__(
        self,
        stack: Stack,
        cast: Cast,
        config: DemoConfig,
        out_dir: Path,
        say: Callable[[str], None] = print,
        tick: Callable[[], None] = lambda: None,
    ):
        self.stack, self.cast, self.config, self.out = stack, cast, config, out_dir
        self.say, self.tick = say, tick
        self.rng = random.Random(config.seed)
        self.result = DemoResult()
        (out_dir / "images").mkdir(parents=True, exist_ok=True)

    def run(self) -> DemoResult:
        for r in range(1, self.config.rounds + 1):
            self.round(r)
        self._batches()
        self.result.gas = dict(self.cast.gas.used)
        return self.result

    def round(self, r: int) -> None:
        self.cast.workers["ESP-C"].lazy = r >= self.config.lazy_from
        stuck: list[tuple[str, dict[str, Any]]] = []
        made: list[dict[str, Any]] = []
        for name in PRODUCERS:
            task = self._generation(name, r, esp=self._pinned(name, r))
            if task["status"] == "registered":
                made.append(task)
            else:
                stuck.append((name, task))
            self.tick()
        if stuck:
            self._refund(stuck)
        if made:
            self._sell(made[0], r)
        self._resell(r)
        if r == min(2, self.config.rounds):
            self._plagiarism()
        self._snapshot(r)

    def _pinned(self, name: str, r: int) -> str | None:
        """Who goes to whom outside reputation: in round 1 each producer tries one ESP (ESP-C
        gets its start); in the round ESP-C turns lazy, its earlier customer Dave returns to it.
        Every other choice is the API's reputation-based selection."""
        esp = None
        if r == 1:
            esp = dict(zip(PRODUCERS, ESPS, strict=True))[name]
        elif r == self.config.lazy_from and name == "Dave":
            esp = "ESP-C"
        return self.cast.actors[esp].address if esp else None

    # -- one paid generation -------------------------------------------------------------------
    def _generation(self, name: str, r: int, *, esp: str | None) -> dict[str, Any]:
        producer = self.cast.producers[name]
        colour, bg = self.rng.sample(COLOURS, 2)
        prompt = f"{_a(colour)} {colour} {self.rng.choice(SHAPES)} on {_a(bg)} {bg} background"
        seed = self.rng.randrange(1, 10**6)
        task = producer.post(prompt, seed=seed, max_price=2 * self.config.price, esp=esp)
        esp = self.cast.name_of[task["esp"]]
        self.cast.serve()  # quote
        producer.lock_fee(producer.task(task["id"]))
        self.stack.sync()
        self.cast.serve()  # deliver (unless lazy)
        self.cast.serve()  # claim
        self.stack.sync()
        task = producer.task(task["id"])
        record = {
            "round": r,
            "producer": name,
            "esp": esp,
            "prompt": prompt,
            "seed": seed,
            "status": task["status"],
            "price": int(task["price"]),
            "id": task["id"],
        }
        if task["status"] == "claimed":
            image, attestation = producer.collect(task)
            token = producer.register(task, image, attestation)
            producer.feedback(task, positive=True)
            self.stack.sync()  # the API learns of the registration before the image is attached
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            producer.client.put(
                f"/v1/products/{token}/image",
                files={"image": ("image.png", buf.getvalue(), "image/png")},
            )
            self.stack.sync()
            task = producer.task(task["id"])
            path = self.out / "images" / f"{token:064x}.png"
            image.save(path)
            self.result.images[str(token)] = path  # token ids: decimal strings, as the API's
            record.update(status=task["status"], token=str(token))
            self.say(
                f"round {r}: {name} got '{prompt}' from {esp}, registered 0x{token:064x}"[:110]
            )
        else:
            self.say(f"round {r}: {esp} took {name}'s fee lock and delivered nothing")
        self.result.tasks.append(record)
        return {**task, "status": record["status"]}

    def _refund(self, stuck: list[tuple[str, dict[str, Any]]]) -> None:
        self.stack.chain.increase_time(self.config.deadline_s + 1)
        for name, task in stuck:
            actor = self.cast.actors[name]
            lock = LockTerms.from_json(task["lock"])
            actor.htlc.refund(lock)
            actor.esps.record_refund(lock)
            culprit = self.cast.name_of[lock.receiver]
            self.say(f"  {name} refunded after the deadline; the refund counts against {culprit}")
            for t in self.result.tasks:
                if t["id"] == task["id"]:
                    t["status"] = "refunded"
        self.stack.sync()

    # -- trading -------------------------------------------------------------------------------
    def _sell(self, task: dict[str, Any], r: int) -> None:
        token = int(task["token_id"])  # a decimal string, like every uint256 the API returns
        seller, buyer = (
            self.cast.actors[self.cast.name_of[task["producer"]]],
            self.cast.actors["Carol"],
        )
        self._swap(seller, buyer, token, r)

    def _resell(self, r: int) -> None:
        """Carol resells an earlier purchase to Bob: the producer earns an ERC-2981 royalty."""
        carol = self.cast.actors["Carol"]
        sold = {t["token"] for t in self.result.trades if t["seller"] == "Carol"}
        held = [
            t["token"]
            for t in self.result.trades
            if t["buyer"] == "Carol" and t["round"] < r and t["token"] not in sold
        ]
        if held:
            self._swap(carol, self.cast.actors["Bob"], int(held[0]), r)

    def _swap(self, seller: Actor, buyer: Actor, token: int, r: int) -> None:
        dep, chain, price = self.stack.deployment, self.stack.chain, self.config.sale_price
        # The escrow (and the market) take a token once no earlier payer can reclaim it:
        # registrationWindow + commitTtl blocks after its reveal (RegistryTokenReclaimable).
        wait = seller.registry.reclaimable_until(token) - chain.w3.eth.block_number
        if wait > 0:
            chain.mine(wait)
        offer = Offer(
            token, seller.address, price, chain.timestamp() + 86400, self.rng.randrange(2**64)
        )
        sig = sign_offer(
            seller.account, offer, chain_id=chain.chain_id, registry=dep.registry.address
        )
        listing = seller.client.post(
            "/v1/listings",
            json={
                "token_id": str(token),
                "price": str(price),
                "expiry": offer.expiry,
                "nonce": str(offer.nonce),
                "signature": "0x" + sig.hex(),
            },
        )
        trade = buyer.client.post("/v1/trades", json={"listing_id": listing["id"]})
        seller.registry.approve(dep.htlc.address, token)
        held = seller_lock_token(
            seller.htlc,
            token=dep.registry.address,
            token_id=token,
            buyer=buyer.address,
            timelock=chain.timestamp() + 7200,
        )
        self.stack.sync()
        # The buyer checks the token lock and locks every leg the offer requires: the seller's
        # share and, on a resale, the producer's ERC-2981 royalty (services.exchange.trade).
        paid = buyer_pay(
            buyer.htlc,
            buyer.registry,
            held.asset_lock,
            seller=seller.address,
            token_id=token,
            price=price,
            timelock=held.asset_lock.timelock - 1200,
        )
        self.stack.sync()
        seller_claim_payment(seller.htlc, paid.payment, held, registry=seller.registry, price=price)
        secret = buyer_claim_token(buyer.htlc, paid.payment, held.asset_lock)
        if paid.royalty is not None:  # pays the producer with the now-public secret
            buyer.htlc.withdraw(paid.royalty, secret)
        royalty = paid.royalty.amount if paid.royalty is not None else 0
        royalty_to = paid.royalty.receiver if paid.royalty is not None else seller.address
        self.stack.sync()
        state = buyer.client.get(f"/v1/trades/{trade['id']}")
        self.result.trades.append(
            {
                "round": r,
                "token": str(token),
                "seller": seller.name,
                "buyer": buyer.name,
                "price": price,
                "royalty": royalty,
                "royalty_to": self.cast.name_of.get(royalty_to, royalty_to),
                "status": state["status"],
            }
        )
        self.say(
            f"  {seller.name} sold 0x{token:064x}"[:60]
            + f"... to {buyer.name}"
            + (f" (royalty {royalty} wei)" if royalty else "")
        )

    # -- plagiarism ----------------------------------------------------------------------------
    def _plagiarism_target(self) -> tuple[str, Image.Image] | None:
        """The first product Mallory can copy so that the story can follow it: made by another
        ESP than her colluding ESP-B (one ESP attesting both is an equivocation, which revokes
        nothing), and whose copy both stages of the rule catch. A JPEG re-encoding of a 64-pixel
        generation can move its compact fingerprint beyond the threshold (seed 11: distance 21),
        and the watch, like the contract, then does not report it."""
        for t in self.result.tasks:
            if not t.get("token") or t["esp"] == "ESP-B":
                continue
            data = self.stack.http.get(f"/v1/products/{t['token']}/image").content
            original = Image.open(io.BytesIO(data))
            copy = plagiarise(original)
            caught = fingerprint(original).matches(fingerprint(copy)) and detail_matches(
                detail_descriptor(original), detail_descriptor(copy)
            )
            if caught:
                return t["token"], copy
        return None

    def _plagiarism(self) -> None:
        mallory, colluder = self.cast.actors["Mallory"], self.cast.actors["ESP-B"]
        picked = self._plagiarism_target()
        if picked is None:
            self.say(
                "  Mallory found no product whose mirrored, re-encoded copy the watch would "
                "catch (the compact fingerprints of these small images moved too far): no copy"
            )
            return
        target, copy = picked
        # Proof-of-AIGC v2: a registration needs a paid generation lock to the attesting ESP,
        # and takes its priority from that lock, so Mallory pays the colluding ESP now (later
        # than the original's lock) and her copy can never pre-empt the original.
        preimage, hashlock = new_secret()
        lock = mallory.htlc.lock_ether(
            colluder.address,
            amount=10**15,
            hashlock=hashlock,
            timelock=self.stack.chain.timestamp() + 3600,
        )
        colluder.htlc.withdraw(lock, preimage)
        reg = Registration(
            content_hash=canonical_hash(copy),
            fingerprint=fp32(copy),
            detail=detail_descriptor(copy),
            owner=mallory.address,
            esp=colluder.address,
            task_id=lock.id,
            model_id=bytes(32),
            seed=1,
        )
        attestation = sign_attestation(
            colluder.account,
            reg,
            chain_id=self.stack.chain.chain_id,
            registry=self.stack.deployment.registry.address,
        )
        mallory.registry.commit(reg)
        copy_token = str(mallory.registry.reveal(reg, lock, attestation))
        path = self.out / "images" / f"{int(copy_token):064x}.png"
        copy.save(path)
        self.result.images[copy_token] = path
        self.stack.sync()
        self.say(
            f"  Mallory registered a mirrored, re-encoded copy through ESP-B: {copy_token[:18]}..."
        )
        owner_address = self.stack.http.get(f"/v1/products/{target}").json()["owner"]
        owner = self.cast.actors[self.cast.name_of[owner_address]]
        note = next(
            n
            for n in owner.client.get("/v1/notifications")["items"]
            if n["duplicate"] == copy_token
        )
        self.say(
            f"  the watch told {owner.name} (distance {note['distance']}); {owner.name} challenges"
        )
        original_id, copy_id = int(note["original"]), int(copy_token)
        owner.registry.challenge(original_id, copy_id)
        self.stack.sync()
        window = owner.registry.params()["dispute_window"]
        self.say(
            f"  Mallory was told she may contest within {window} blocks; her copy would lose on "
            "the detail rule, so she does not"
        )
        self.stack.chain.mine(window + 1)
        upheld = owner.registry.finalize(original_id, copy_id)
        self.say(
            "  the contract revoked the copy; Mallory's bond is held, then pays the challenger's "
            "costs and the rest is burned"
        )
        self.stack.sync()
        status = self.stack.http.get(f"/v1/products/{copy_token}").json()["status"]
        self.result.challenges.append(
            {
                "original": target,
                "duplicate": copy_token,
                "challenger": owner.name,
                "distance": note["distance"],
                "upheld": upheld,
                "copy_status": status,
            }
        )

    # -- batches -------------------------------------------------------------------------------
    def _batches(self) -> None:
        """One producer's batch, a plagiarist's batched copy revoked alone (issue 16)."""
        chapter = BatchChapter(
            self.stack,
            self.cast,
            price=self.config.price,
            sale_price=self.config.sale_price,
            seed=self.config.seed,
            image_path=lambda token: self.out / "images" / f"{token:064x}.png",
            say=self.say,
        )
        chapter.run()
        self.result.batches = chapter.batches
        self.result.batch_challenges = chapter.challenges
        self.result.images.update(chapter.images)

    def _snapshot(self, r: int) -> None:
        market = self.stack.app.state.market
        esps = [self.cast.actors[e].address for e in ESPS]
        ranking = market.ranking(
            self.cast.actors["Alice"].address,
            esps,
            now=self.stack.chain.timestamp(),
            temperature=0.15,
            floor=0.0,
        )
        by_name = {self.cast.name_of[a]: rep for a, rep, _ in ranking}
        for e in ESPS:
            self.result.reputation[e].append(round(by_name[e], 4))
            self.result.load[e].append(sum(1 for t in self.result.tasks if t["esp"] == e))
