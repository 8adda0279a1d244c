"""The ESP worker: quotes, generates, seals, delivers and claims, one process per ESP.

Each round (:meth:`EspWorker.step`) looks at the ESP's tasks on the marketplace:

* ``posted``: make a fresh secret ``s``, PERSIST it, then quote ``sha256(s)``, a price and a
  deadline (``deadline_s`` away, but never later than the registration window allows: a claim
  at the deadline must leave the producer time to register, ``latest_quote_deadline``) on the
  task's prompt commitment (the API withholds the prompt until the fee lock is indexed), which
  it records;
* ``locked`` (the producer's fee is on chain, and the API released the prompt): check that the
  prompt and its salt open the commitment it quoted on (else refuse: nothing generated, no fee
  claimed, the producer refunds at the deadline), generate the image, sign the attestation, seal
  the image for the producer, upload it. It is sealed (format v2) to the delivery key the
  producer registered, which the sealed bytes name; to the producer's account key (format v1)
  when none is registered (docs/delivery.md);
* ``delivered``: claim the fee on chain with ``s`` (which publishes it, even in a claim that
  fails). Past the HashTimeLock's claim window (``claimWindow`` blocks after the lock's) no claim
  can succeed, and within five blocks of its end or a minute of the lock's deadline one might be
  mined too late (``services.exchange.swap.check_claim_in_time``, the seller's rule): the worker
  gives it up once (``claim-window-closed``; the secret stays unpublished, the producer refunds).

Opt-in juror duty (``juror=``, a :class:`~services.provenance.jury.JurorDuty`; ``aigc esp run
--juror``): after its paid work, each round also draws the requested committee reviews past their
draw block and serves those the ESP was drawn for (commit, reveal, settle:
docs/committee-jurors.md). A review's failure is logged in the round's actions and never stops the
paid work.

The secret is revealed only after the delivery is uploaded and the API shows it ``delivered``.
All pending work lives in a JSON state file written atomically before each outward action, so a
worker killed at any point resumes where it was on restart (the same secret, no double quote).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from ledger import (
    HtlcClient,
    LockStatus,
    LockTerms,
    Registration,
    RegistryClient,
    TokenStatus,
    errors,
)
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.esp_registry import generation_lock, sign_quote
from ledger.clients.registry import sign_attestation
from ledger.errors import LedgerError
from services.batch import (
    BatchError,
    BatchRefused,
    BatchRequest,
    Delivery,
    SignedBatch,
    attest_batch,
)
from services.batch.attestation import RevealView, reveal_view
from services.content import canonical_hash
from services.exchange import (
    ClaimTooLate,
    ClaimWindowClosed,
    check_claim_in_time,
    delivery_key,
    esp_sealing_key,
    key_commitment,
    seal,
    seal_to,
)
from services.generation import PromptMismatch, check_prompt, latest_quote_deadline
from services.market_client import MarketClient, MarketError
from services.provenance import detail_descriptor
from services.provenance.errors import ProvenanceError
from services.provenance.jury import JurorDuty

_DELIVERED = ("delivering", "delivered", "claimed")
# The quote refusals that come from the task's own terms: the worker refuses such a task.
_UNQUOTABLE = frozenset({"price_too_high"})
# The task states a round acts on (an ``_on_<status>`` handler each), and the page it reads.
_ACTIONABLE = "posted,locked,delivered"
_PAGE = 100
ImageMaker = Callable[[str, int], tuple[Image.Image, dict[str, Any]]]
Fingerprinter = Callable[[Image.Image], bytes]


class WorkerState:
    """Secrets and stages per task, persisted atomically (0600: it holds unrevealed secrets)."""

    def __init__(self, path: Path):
        self.path = path
        self.tasks: dict[str, dict[str, Any]] = {}
        if path.exists():
            self.tasks = json.loads(path.read_text())

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        with os.fdopen(fd, "w") as f:
            json.dump(self.tasks, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


class EspWorker:
    """Serves one ESP's tasks through the marketplace API and the chain."""

    def __init__(
        self,
        client: MarketClient,
        htlc: HtlcClient,
        *,
        make_image: ImageMaker,
        fingerprint: Fingerprinter,
        state_path: Path,
        price: int,
        deadline_s: int = 3600,
        lazy: bool = False,
        batches: bool = False,
        juror: JurorDuty | None = None,
    ):
        self.client = client
        self.htlc = htlc
        self.make_image = make_image
        self.fingerprint = fingerprint
        self.state = WorkerState(state_path)
        self.price = price
        self.deadline_s = deadline_s
        self.lazy = lazy  # quotes, then never delivers (the demo's lazy ESP)
        self.batches = batches  # also answers producers' batch attestation requests
        self.juror = juror  # also draws reviews and serves those it is drawn for
        self._domain: tuple[int, str] | None = None
        self._registration_window: int | None = None

    def generation_seed(self, requested: int, *, prompt: str, producer: str = "") -> int:
        """The seed this ESP generates with for a ``producer``'s ``requested`` seed and
        ``prompt``: a keyed hash (HMAC-SHA256 under a key derived from the ESP's account key) of
        the three, below 2**63 (``producer`` empty: of the seed and prompt alone).

        The bundled model's bytes are fixed by prompt and seed. Were the requested seed used as
        is, anyone could ask two honest ESPs for one seed and two synonym prompts, get two images
        of one layout, register the first through one ESP and the second through the other, and
        revoke the second with the first: the copy's ESP loses 0.05 ETH of stake for two fees and
        one bond (paid to the challenger until the slash was burned; destroyed now, which is
        still griefing an honest ESP at will). Keyed by a secret of each ESP, two ESPs never
        share a layout for a requested seed, and no one can search for a pair of requests that
        collide. The prompt is keyed too: one ESP asked for one seed with two synonym prompts (by
        two Sybils, or by one account that then challenges its own token) made two images of one
        layout under its own attestations, an equivocation the detail rule matches, which slashes
        the honest ESP (burned; a second such slash deactivates an ESP staked at the minimum:
        EspRegistry deactivates below half the minimum stake), for two fees and two bonds
        (tests/api/test_redteam_esp_seed.py). Deterministic for one ESP, so a restarted
        worker makes the same bytes again (its state records the content hash before the
        upload). With ``producer``, the payer is keyed too: the seed of a second payer of one
        prompt and seed, whose first image is another payer's. One image is attested to one payer
        only, so the worker declined the second, whose lock refunded, and each refund of a lock
        the ESP acknowledged is negative evidence against it: Sybils asking for the prompt and
        seed of a task delivered to one of them badmouthed the honest ESP for the gas alone
        (three refunds moved a newcomer's on-chain view of it from 0.667 to 0.354:
        tests/api/test_redteam3_reputation.py). Now the second payer is served the image of its
        own seed (the decline stays for a model whose bytes do not follow the seed); the first
        payer's image is unchanged, and one producer asking twice gets the same bytes. The
        attestation keeps the requested seed (the request's parameter, what the producer
        registers)."""
        key = hashlib.sha256(b"aigc-generation-seed" + bytes(self.client.account.key)).digest()
        payer = bytes.fromhex(producer.removeprefix("0x").lower()) if producer else b""
        message = payer + int(requested).to_bytes(32, "big") + prompt.encode()
        mac = hmac.new(key, message, hashlib.sha256).digest()
        return int.from_bytes(mac[:8], "big") >> 1

    def step(self) -> list[str]:
        """One round over the ESP's tasks; returns what it did (for logs and tests)."""
        done: list[str] = []
        for page in self._actionable_pages():
            self._new_entries(page)
            for task in page:
                handler = getattr(self, f"_on_{task['status']}", None)
                if handler is None:
                    continue
                try:
                    action = handler(task)
                except (MarketError, LedgerError) as exc:
                    # One task's failure never holds up the others: it is retried next round.
                    # Before, the round ended at it, and a task the API refused to quote came
                    # first in every round: one post stalled the ESP for good.
                    action = f"failed ({exc})"
                if action:
                    done.append(f"{action} {task['id'][:10]}")
        if self.batches:
            done.extend(self._answer_batch_requests())
        if self.juror is not None:
            try:  # after the paid work, and never in its way
                done.extend(self.juror.step())
            except (LedgerError, MarketError, ProvenanceError, OSError, ValueError) as exc:
                done.append(f"juror duty failed ({exc})")
        return done

    def _actionable_pages(self) -> Iterator[list[dict[str, Any]]]:
        """The ESP's tasks in a state it acts on (posted, locked, delivered), oldest first, page
        by page: anyone can post tasks to an ESP, so the ones it is done with (quoted and never
        paid, claimed, refunded, registered) are never read again."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"role": "esp", "status": _ACTIONABLE, "limit": _PAGE}
            if after is not None:
                params["after"] = after
            page = self.client.get("/v1/tasks", **params)
            yield list(page["items"])
            after = page.get("next")
            if after is None:
                return

    def _answer_batch_requests(self) -> list[str]:
        """Answers each pending batch request: the attestation, or the refusal with its rule."""
        done: list[str] = []
        pending = self.client.get("/v1/batch-requests", role="esp", status="pending")["items"]
        if not pending:
            return done
        batch_registry = BatchRegistryClient(self.htlc.deployment)
        max_batch = batch_registry.params().max_batch
        for req in pending:
            path = f"/v1/batch-requests/{req['id']}"
            try:
                request = BatchRequest.from_json(req["request"])
                signed = self.attest_batch(
                    request, contract=batch_registry.address, max_batch=max_batch
                )
            except BatchError as exc:  # refused (or malformed): the producer is told which rule
                self.client.post(f"{path}/refusal", json={"code": exc.code, "message": str(exc)})
                done.append(f"batch-refused {req['id'][:10]}")
                continue
            self.client.post(f"{path}/attestation", json=signed.to_json())
            done.append(f"batch-attested {req['id'][:10]}")
        return done

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            # A failed round is transient: the next one retries from the persisted state (an
            # API restarting or not up yet is httpx's TransportError, not a MarketError).
            with contextlib.suppress(MarketError, LedgerError, httpx.TransportError):
                self.step()
            stop.wait(interval)

    def _window(self) -> int:
        """The Registry's registration window in blocks (read once; it is immutable)."""
        if self._registration_window is None:
            registry = RegistryClient(self.htlc.deployment)
            self._registration_window = registry.params().registration_window
        return self._registration_window

    # -- stages --------------------------------------------------------------------------------
    def _new_entries(self, page: list[dict[str, Any]]) -> None:
        """The state entries (a fresh secret each) of the page's posted tasks not seen yet, saved
        once for the page: the state file is rewritten whole, and anyone can post tasks to an
        ESP, so one save per quote made a flood of posts cost the square of its size."""
        fresh = [t for t in page if t["status"] == "posted" and t["id"] not in self.state.tasks]
        for task in fresh:
            self.state.tasks[task["id"]] = {
                "secret": secrets.token_hex(32),
                "stage": "quoting",
                # What this quote is for: the prompt it generates must open this commitment.
                "prompt_commitment": str(task["prompt_commitment"]).lower(),
            }
        if fresh:
            self.state.save()  # each secret is on disk before its hash leaves the process

    def _on_posted(self, task: dict[str, Any]) -> str | None:
        entry = self.state.tasks.get(task["id"])
        if entry is None:
            self._new_entries([task])
            entry = self.state.tasks[task["id"]]
        if entry.get("stage") == "declined":  # refused, the answer lost: tell it again
            return self._tell_refusal(task["id"], entry)
        # (a state file from before prompt commitments: the task's own)
        entry.setdefault("prompt_commitment", str(task["prompt_commitment"]).lower())
        hashlock = hashlib.sha256(bytes.fromhex(entry["secret"])).hexdigest()
        dep = self.htlc.deployment
        now = dep.chain.timestamp()
        # Never later than the producer accepts: a claim at the deadline must leave it time to
        # commit inside the fee lock's registration window (services.generation).
        deadline = min(
            now + self.deadline_s, latest_quote_deadline(now, window_blocks=self._window())
        )
        # The ESP accepts exactly this lock (EIP-712 Quote): once the producer acknowledges it on
        # chain, the open lock holds this ESP's stake and its outcome counts for or against it.
        terms = generation_lock(
            producer=task["producer"],
            esp=self.client.address,
            price=self.price,
            hashlock=bytes.fromhex(hashlock),
            deadline=deadline,
        )
        signature = sign_quote(
            self.client.account,
            terms,
            chain_id=dep.chain.chain_id,
            esp_registry=str(dep.esp_registry.address),
        )
        try:
            self.client.post(
                f"/v1/tasks/{task['id']}/quote",
                json={
                    "price": self.price,
                    "hashlock": "0x" + hashlock,
                    "deadline": deadline,
                    "signature": "0x" + signature.hex(),
                    "prompt_commitment": entry["prompt_commitment"],
                },
            )
        except MarketError as exc:
            if exc.code not in _UNQUOTABLE:
                raise
            # The task's own terms refuse this ESP's quote (its maximum price is below this
            # ESP's price): refused, the task is final and leaves the ESP's list for good.
            entry["stage"], entry["declined"] = "declined", f"{exc.code}: {exc.message}"
            self.state.save()
            self._tell_refusal(task["id"], entry)
            return "refused-quote"
        # Kept in memory, saved with the next change: nothing reads it (the API says "quoted"),
        # and a save per quote made a flood of posts cost the square of its size.
        entry["stage"] = "quoted"
        return "quoted"

    def _on_locked(self, task: dict[str, Any]) -> str | None:
        entry = self.state.tasks.get(task["id"])
        if entry is None or self.lazy or task.get("refusal"):
            return None
        if entry.get("stage") == "declined":
            return self._tell_refusal(task["id"], entry)
        if task.get("prompt") is None:
            return None  # the lock is not yet deep enough for the API to release the prompt
        try:  # only the prompt it quoted on, released once the fee lock was indexed
            prompt = check_prompt(
                task.get("prompt"),
                task.get("prompt_salt"),
                # An entry quoted by a worker older than prompt commitments saw the prompt then.
                quoted_commitment=entry.get("prompt_commitment") or task["prompt_commitment"],
            )
        except PromptMismatch as exc:
            entry["stage"], entry["declined"] = "declined", f"{exc.code}: {exc}"
            self.state.save()
            self._tell_refusal(task["id"], entry)
            return "refused-prompt"
        lock = LockTerms.from_json(task["lock"])
        image, reg, generation_seed = self._paint(task, prompt, lock, payer_keyed=False)
        earlier = self._attested_to_another(
            "0x" + reg.content_hash.hex(), task["producer"], task["id"]
        )
        if earlier is not None:
            # These bytes are another payer's (one prompt and seed make one image): this payer
            # gets the image of a seed keyed by its address too. Declined, its lock refunded,
            # each such payer was negative evidence against this ESP, which Sybils asking for
            # a delivered prompt and seed farmed for the gas alone.
            image, reg, generation_seed = self._paint(task, prompt, lock, payer_keyed=True)
            earlier = self._attested_to_another(
                "0x" + reg.content_hash.hex(), task["producer"], task["id"]
            )
        if earlier is not None:
            # Never attest the same bytes to two payers: the earlier payer could `reclaim` the
            # later one's token and the Registry would slash this ESP to the dispossessed holder.
            # With a deterministic model two Sybils asking for one prompt and seed farmed that
            # slash (0.05 ETH for a bond and two fees). A backstop now, for a model whose bytes
            # do not follow the seed. The lock is left to refund.
            entry["stage"], entry["declined"] = "declined", f"same_image: as task {earlier}"
            self.state.save()
            self._tell_refusal(task["id"], entry)
            return "declined"
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        chain_id, registry = self._registry_domain()
        attestation = sign_attestation(
            self.client.account, reg, chain_id=chain_id, registry=registry
        )
        sealed, key = self._seal(buf.getvalue(), task, entry["secret"])
        preview = image.copy()
        preview.thumbnail((32, 32))
        pbuf = io.BytesIO()
        preview.save(pbuf, format="PNG")
        meta_json = {
            "content_hash": "0x" + reg.content_hash.hex(),
            "fingerprint": "0x" + reg.fingerprint.hex(),
            "detail": "0x" + reg.detail.hex(),
            "model_id": "0x" + reg.model_id.hex(),
            "attestation": "0x" + attestation.hex(),
            "key_commitment": "0x" + key_commitment(key).hex(),
            # with the producer's prompt, the opening that shows the image is this generation
            # (services/provenance/generation_proof.py): the producer publishes it if accused
            "generation_seed": str(generation_seed),
        }
        # Recorded before the upload: if the answer is lost (the replica dies under it), the next
        # round sees the task delivered and claims only if the API holds this very delivery.
        entry["stage"], entry["content_hash"] = "delivering", meta_json["content_hash"]
        entry["producer"] = task["producer"]
        # What a later batch attestation checks a producer's request against (attest_batch).
        entry["fingerprint"], entry["model_id"] = meta_json["fingerprint"], meta_json["model_id"]
        entry["detail_hash"], entry["seed"] = "0x" + reg.detail_hash.hex(), reg.seed
        entry["lock"] = lock.to_json()
        self.state.save()
        self.client.post(
            f"/v1/tasks/{task['id']}/delivery",
            files={
                "sealed": ("sealed.bin", sealed, "application/octet-stream"),
                "preview": ("preview.png", pbuf.getvalue(), "image/png"),
            },
            data={"meta": json.dumps(meta_json)},
        )
        entry["stage"] = "delivered"
        self.state.save()
        return "delivered"

    def _tell_refusal(self, task_id: str, entry: dict[str, Any]) -> str | None:
        """Tells the producer, through the API, why this worker declined a task it would not
        quote or a locked one (once; a lost answer is retried next round)."""
        if entry.get("refusal_told"):
            return None
        code, _, message = str(entry["declined"]).partition(": ")
        try:
            self.client.post(
                f"/v1/tasks/{task_id}/refusal", json={"code": code, "message": message[:500]}
            )
        except MarketError as exc:
            if exc.code != "task_not_ready":  # 409: refused already (or no longer locked)
                return None
        entry["refusal_told"] = True
        self.state.save()
        return "refusal-told"

    def _paint(
        self, task: dict[str, Any], prompt: str, lock: LockTerms, *, payer_keyed: bool
    ) -> tuple[Image.Image, Registration, int]:
        """The task's image, the registration this ESP attests for it and the seed it generated
        with (``payer_keyed``: keyed by the producer too, see :meth:`generation_seed`)."""
        seed = self.generation_seed(
            int(task["seed"]), prompt=prompt, producer=task["producer"] if payer_keyed else ""
        )
        image, meta = self.make_image(prompt, seed)
        # The attestation names the producer's paid lock: the token's priority is that lock's
        # block, and only its sender can register the image (the ESP cannot pre-empt it).
        reg = Registration(
            content_hash=canonical_hash(image),
            fingerprint=self.fingerprint(image),
            detail=detail_descriptor(image),
            owner=task["producer"],
            esp=self.client.address,
            task_id=lock.id,
            model_id=hashlib.sha256(str(meta.get("model_id", "")).encode()).digest(),
            seed=int(task["seed"]),
        )
        return image, reg, seed

    def _on_delivered(self, task: dict[str, Any]) -> str | None:
        entry = self.state.tasks.get(task["id"])
        if entry is None or task["lock"] is None or not self._uploaded(entry, task):
            return None  # never reveal a secret whose delivery this worker did not upload
        if entry.get("stage") == "claim_closed":
            return None  # given up: the producer refunds at the lock's deadline
        lock = LockTerms.from_json(task["lock"])
        if self.htlc.status(lock) is LockStatus.OPEN:
            try:
                # The seller's rule (services.exchange.swap.check_claim_in_time): a claim that
                # fails on chain has still published the secret, which opens the sealed delivery
                # for a producer who then refunds the fee; so it is not sent within a minute of
                # the lock's deadline or five blocks of its claim window's end.
                check_claim_in_time(self.htlc, lock)
                self.htlc.withdraw(lock, bytes.fromhex(entry["secret"]))
            except (errors.LockClaimWindowClosed, ClaimTooLate, ClaimWindowClosed):
                # Past the HashTimeLock's claim window (the lock's block + claimWindow: a claim
                # this late would let the image be registered after the registration window), or
                # too close to it or to the deadline, no claim can ever be sent safely: give it up
                # once instead of trying every round. The secret stays unpublished, so the sealed
                # delivery stays closed.
                entry["stage"] = "claim_closed"
                self.state.save()
                return "claim-window-closed"
        entry["stage"] = "claimed"
        self.state.save()
        return "claimed"

    def attest_batch(self, request: BatchRequest, *, contract: str, max_batch: int) -> SignedBatch:
        """Signs a producer's batch of this ESP's own paid deliveries to it, under the
        BatchRegistry at ``contract`` (rules: services.batch.attestation); raises BatchRefused.
        An image is attested in one batch only: re-signing that same batch is allowed."""
        deliveries: dict[bytes, Delivery] = {}
        batched: dict[bytes, str] = {}
        for entry in self.state.tasks.values():
            if "fingerprint" not in entry or entry.get("stage") not in _DELIVERED:
                continue
            content_hash = bytes.fromhex(entry["content_hash"][2:])
            deliveries[content_hash] = Delivery(
                content_hash=content_hash,
                producer=entry["producer"],
                lock=LockTerms.from_json(entry["lock"]),
                fingerprint=bytes.fromhex(entry["fingerprint"][2:]),
                detail_hash=bytes.fromhex(entry["detail_hash"][2:]),
                seed=int(entry["seed"]),
                model_id=bytes.fromhex(entry["model_id"][2:]),
            )
            if entry.get("batch"):
                batched[content_hash] = entry["batch"]
        chain_id = self.htlc.deployment.chain.chain_id
        signed = attest_batch(
            request,
            deliveries,
            self.htlc.lock_info,
            esp=self.client.account,
            chain_id=chain_id,
            contract=contract,
            max_batch=max_batch,
            reveal=self._reveal_view(request.producer),
            registered=self._registered_singly,
        )
        root = "0x" + signed.layout.items_root.hex()
        for i, item in enumerate(request.items):
            if batched.get(item.content_hash, root) != root:
                # A second batch of one image would be a same-ESP duplicate, which no batch
                # challenge can revoke (BatchSameEsp): one image, one batch.
                raise BatchRefused(
                    f"item {i}: already attested in batch {batched[item.content_hash]}",
                    code="already_batched",
                    index=i,
                )
        members = {"0x" + item.content_hash.hex() for item in request.items}
        for entry in self.state.tasks.values():
            if entry.get("content_hash") in members:
                entry["batch"] = root
        self.state.save()
        return signed

    def _reveal_view(self, producer: str) -> RevealView:
        """The chain as a batch's reveal will see ``producer``'s locks (window, one per lock)."""
        return reveal_view(BatchRegistryClient(self.htlc.deployment), producer)

    def _registered_singly(self, content_hash: bytes) -> bool:
        """Whether the single Registry holds these bytes (a token whose id is their hash)."""
        registry = RegistryClient(self.htlc.deployment)
        return registry.record(int.from_bytes(content_hash, "big")).status is not TokenStatus.NONE

    def _attested_to_another(self, content_hash: str, producer: str, task_id: str) -> str | None:
        """The other task whose image, attested to another producer, has these very bytes."""
        for other, entry in self.state.tasks.items():
            earlier = entry.get("producer")
            if (
                other != task_id
                and entry.get("content_hash") == content_hash
                and earlier is not None
                and str(earlier).lower() != producer.lower()
            ):
                return other
        return None

    @staticmethod
    def _uploaded(entry: dict[str, Any], task: dict[str, Any]) -> bool:
        """The API holds this worker's delivery: acknowledged, or sent with its answer lost and
        the task's delivery naming the content hash this worker sealed."""
        if entry["stage"] == "delivered":
            return True
        delivery = task.get("delivery") or {}
        return entry["stage"] == "delivering" and (
            str(delivery.get("content_hash", "")).lower() == entry.get("content_hash")
        )

    def _seal(self, image: bytes, task: dict[str, Any], secret: str) -> tuple[bytes, bytes]:
        """(sealed, key): to the producer's delivery key if registered, else its account key."""
        task_id = bytes.fromhex(task["id"][2:])
        preimage = bytes.fromhex(secret)
        own = bytes(self.client.account.key)
        registered = self.client.get(f"/v1/accounts/{task['producer']}/delivery-key")
        if registered["delivery_key"] is not None:
            recipient = bytes.fromhex(registered["delivery_key"][2:])
            key = esp_sealing_key(
                esp_private=own, recipient_public=recipient, preimage=preimage, task_id=task_id
            )
            return seal_to(image, key=key, task_id=task_id, recipient_public=recipient), key
        # A contract account has no account key: the API answers 409 no_account_key (raised
        # here as MarketError, so the round retries once the producer registers a delivery key).
        account_key = self.client.get(f"/v1/accounts/{task['producer']}")["public_key"]
        if account_key is None:
            raise MarketError(409, "no_account_key", f"{task['producer']} has no account key")
        key = delivery_key(
            own_private=own,
            peer_public=bytes.fromhex(account_key[2:]),
            preimage=preimage,
            task_id=task_id,
        )
        return seal(image, key=key, task_id=task_id), key

    def _registry_domain(self) -> tuple[int, str]:
        if self._domain is None:
            dep = self.htlc.deployment
            self._domain = (dep.chain.chain_id, str(dep.registry.address))
        return self._domain
