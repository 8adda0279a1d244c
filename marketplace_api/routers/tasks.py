"""Generation tasks: post, quote with a hashlock, sealed delivery, fraud proofs.

What happens on chain (the fee locked, claimed, refunded; the image registered) is set by the
indexer (:class:`marketplace_api.market.TaskTracker`), never by a client's word. The ESP reads a
task's prompt only once that indexer has seen the fee lock (AIGC_PROMPT_RELEASE_DEPTH blocks deep:
:class:`marketplace_api.market.PromptRelease`); before, the prompt's commitment, which
it quotes on (services.generation.prompt: it could otherwise generate the customer's image before
the customer's lock existed and hand it to a Sybil that registers it first).
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated, Any

import numpy as np
from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger import EspRegistryClient, Registration
from ledger.clients.esp_registry import generation_lock, recover_quoter
from ledger.clients.registry import recover_attester
from marketplace_api.deps import (
    CurrentAccount,
    DeploymentDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
    client_key,
)
from marketplace_api.draws import record_draw, record_quote, unresponsive_esps
from marketplace_api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    declare,
)
from marketplace_api.esp_directory import current_esps, draw_live
from marketplace_api.market import SELECTION_FLOOR, SELECTION_TEMPERATURE, PromptRelease
from marketplace_api.models import AccountKey, Task
from marketplace_api.schemas import AccountKeyOut, TaskOut, TasksOut
from marketplace_api.types import Address, Bytes32, LockJson, Text, Uint256
from marketplace_api.uploads import decode_image
from services.content import canonical_hash
from services.exchange import SealError, key_commitment, open_sealed
from services.generation import (
    TaskState,
    check_fraud_claim,
    check_quote,
    check_quoted_commitment,
    check_refusal,
    deliverable,
    latest_quote_deadline,
    prompt_commitment,
    prompt_released,
)
from services.provenance import DETAIL_LENGTH

router = APIRouter(prefix="/v1", tags=["tasks"], responses=declare())
SEEN = declare(401, 403, 404)  # a task is seen by its producer and its ESP only
CHANGES = declare(401, 403, 404, 409)
TaskId = Annotated[str, Path(pattern=r"^0x[0-9a-f]{64}$")]
Hex32 = Bytes32


class TaskIn(BaseModel):
    # Text: a lone surrogate (valid JSON) has no UTF-8 bytes to commit to
    prompt: Annotated[Text, Field(min_length=1, max_length=500)]
    prompt_salt: Bytes32 | None = Field(
        default=None,
        description="32 bytes of your choice for the prompt's commitment (omit: the API draws "
        "them); the ESP sees only the commitment until your fee lock is indexed",
    )
    seed: Annotated[Uint256, Field(ge=0, lt=2**63)] = 0
    max_price: Annotated[Uint256, Field(gt=0, lt=2**128)]
    esp: Address | None = Field(default=None, description="omit to choose by reputation")
    temperature: Annotated[float, Field(gt=0, le=10)] = SELECTION_TEMPERATURE
    floor: Annotated[float, Field(ge=0, le=1)] = SELECTION_FLOOR


class QuoteIn(BaseModel):
    price: Annotated[Uint256, Field(gt=0, lt=2**128)]
    hashlock: Hex32
    deadline: Annotated[int, Field(gt=0, lt=2**64)]
    signature: Annotated[
        str | None,
        Field(
            pattern=r"^0x[0-9a-fA-F]{130}$",
            description="the ESP's EIP-712 Quote over the fee lock's terms (required)",
        ),
    ] = None
    prompt_commitment: Bytes32 | None = Field(
        default=None,
        description="the prompt commitment the ESP quotes on; another than the task's is "
        "refused (422 prompt_commitment_mismatch)",
    )


class DeliveryMeta(BaseModel):
    content_hash: Hex32
    fingerprint: Hex32
    detail: Annotated[str, Field(pattern=rf"^0x[0-9a-fA-F]{{{2 * DETAIL_LENGTH}}}$")]
    model_id: Hex32
    attestation: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]
    key_commitment: Hex32
    generation_seed: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9]{1,19}$",
            description="the seed the ESP generated with (decimal; with the prompt, the "
            "generation opening that clears the image of a copy accusation: PUT "
            "/v1/products/{id}/generation); optional",
        ),
    ] = None


class FraudIn(BaseModel):
    key: Hex32


class TaskRefusalIn(BaseModel):
    code: Annotated[str, Field(pattern=r"^[a-z_]{1,64}$", examples=["prompt_mismatch"])]
    message: Annotated[Text, Field(max_length=500)]


def task_json(t: Task, viewer: str, release: PromptRelease) -> TaskOut:
    released = prompt_released(
        viewer=viewer,
        producer=t.producer,
        esp=t.esp,
        # the lock indexed and, on a chain that reorganises, that many blocks deep
        fee_locked=viewer != t.producer and release.fee_lock_safe(t),
    )
    out: dict[str, Any] = {
        "id": t.id,
        "producer": t.producer,
        "esp": t.esp,
        "prompt": t.prompt if released else None,
        "prompt_salt": t.prompt_salt if released else None,
        "prompt_commitment": t.prompt_commitment,
        "seed": t.seed,
        "max_price": t.max_price,
        "status": t.status,
        "price": t.price,
        "hashlock": t.hashlock,
        "deadline": t.deadline,
        "quote_signature": t.quote_signature,
        "lock": LockJson.of(t.lock),
        "lock_id": t.lock_id,
        "token_id": t.token_id,
        "delivery": t.delivery,
        "has_sealed": t.sealed_blob is not None,
        "fraud": t.fraud,
        "refusal": t.refusal,
    }
    if t.preimage is not None and viewer in (t.producer, t.esp):
        out["preimage"] = t.preimage  # public on chain anyway once claimed
    return TaskOut.model_validate(out)


def get_prompt_release(request: Request) -> PromptRelease:
    release: PromptRelease = request.app.state.market.prompt_release
    return release


PromptReleaseDep = Annotated[PromptRelease, Depends(get_prompt_release)]


def load_task(session: SessionDep, task_id: str, account: str) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if account not in (task.producer, task.esp):
        raise Forbidden("only the task's producer and ESP may see it")
    return task


# Tasks one producer may have waiting for a fee lock (posted, or quoted with a deadline still
# ahead): a post is free, and each costs its ESP a quote and a secret kept for good.
MAX_OPEN_TASKS = 16


@router.post(
    "/tasks",
    status_code=201,
    response_model=TaskOut,
    responses=declare(401, 409, 422, 429, 502),
)
def post_task(
    body: TaskIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    deployment: DeploymentDep,
) -> TaskOut:
    """Post a generation task to an ESP (chosen explicitly, or by reputation from your view); it
    sees the prompt's commitment, and the prompt once your fee lock is indexed."""
    limiter.hit("tasks", client_key(request), limit=settings.rate_tasks_per_minute)
    now = deployment.chain.timestamp()
    waiting = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.producer == account,
            (Task.status == TaskState.POSTED)
            | ((Task.status == TaskState.QUOTED) & (Task.deadline > now)),
        )
    )
    if int(waiting or 0) >= MAX_OPEN_TASKS:
        raise Conflict(
            f"{MAX_OPEN_TASKS} of your tasks wait for a fee lock already: pay one, or wait for "
            "a quote's deadline to pass",
            code="too_many_open_tasks",
        )
    reader = EspRegistryClient(deployment)
    drawn = body.esp is None
    if body.esp is not None:
        if not reader.is_active(body.esp):
            raise Unprocessable(
                f"{body.esp} is not an active registered ESP", code="esp_not_registered"
            )
        esp = body.esp
    else:
        # The draw's candidates: active ESPs this task can pay (their registered price within
        # max_price), from the indexed directory and the ESP events of the blocks not indexed
        # yet (one query and one eth_getLogs, not an espInfo call per ESP); the drawn one is
        # read again and drawn again without if it no longer fits
        # (marketplace_api/esp_directory.py). The responsiveness log drops the newcomers that
        # left draws unquoted, and records this one with the task (marketplace_api/draws.py).
        market = request.app.state.market
        rng = np.random.default_rng(secrets.randbits(64))

        def draw(fit: list[str]) -> str:  # none eligible: 422 no_eligible_esp, by the table
            quiet = unresponsive_esps(session, fit, now=now, params=market.reputation.params)
            return str(
                market.choose(
                    account, fit, now=now, temperature=body.temperature, floor=body.floor,
                    rng=rng, unresponsive=quiet,
                )
            )  # fmt: skip

        def fits(esp: str) -> bool:
            info = reader.esp_info(esp)
            return info.active and info.price <= body.max_price

        indexed_to = market.indexer.checkpoint()[0]
        fit = current_esps(session, deployment, indexed_to=indexed_to, max_price=body.max_price)
        esp = draw_live([e.address for e in fit], draw, fits)
    salt = bytes.fromhex(body.prompt_salt[2:]) if body.prompt_salt else secrets.token_bytes(32)
    task = Task(
        id="0x" + secrets.token_hex(32),
        producer=account,
        esp=esp,
        prompt=body.prompt,
        prompt_salt="0x" + salt.hex(),
        prompt_commitment="0x" + prompt_commitment(body.prompt, salt).hex(),
        seed=body.seed,
        max_price=str(body.max_price),
        status=TaskState.POSTED,
        created_block=int(deployment.chain.w3.eth.block_number),
    )
    session.add(task)
    if drawn:
        record_draw(session, task, now=now, params=request.app.state.market.reputation.params)
    session.commit()
    return task_json(task, account, release)


MAX_TASKS_PAGE = 200
# A page's position: the last task's created block and id, as ``next`` gave it.
TaskCursor = Annotated[
    str,
    Query(
        pattern=r"^[0-9]{1,18}-0x[0-9a-f]{64}$",
        description="the previous page's ``next``: tasks after that one",
    ),
]


@router.get("/tasks", response_model=TasksOut, responses=declare(401))
def list_tasks(
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
    role: Annotated[str, Query(pattern="^(producer|esp)$")] = "producer",
    status: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z_]{1,16}(,[a-z_]{1,16}){0,7}$",
            description="one status, or several comma-separated (posted,locked,delivered)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TASKS_PAGE)] = 100,
    after: TaskCursor | None = None,
) -> TasksOut:
    """Your tasks, as producer or as ESP (prompts withheld until the fee lock is indexed and
    `AIGC_PROMPT_RELEASE_DEPTH` blocks deep), optionally by
    status, oldest first, a page of at most ``limit`` (200) at a time: ``next`` (null on the last
    page) is the ``after`` of the next one. Anyone can post tasks to an ESP, so its list grows
    with others' posts: an ESP's worker asks for the statuses it acts on, page by page."""
    column = Task.producer if role == "producer" else Task.esp
    q = select(Task).where(column == account)
    if status:
        q = q.where(Task.status.in_(status.split(",")))
    if after is not None:
        block_text, last_id = after.split("-", 1)
        block = int(block_text)
        q = q.where(
            (Task.created_block > block) | ((Task.created_block == block) & (Task.id > last_id))
        )
    rows = list(session.scalars(q.order_by(Task.created_block, Task.id).limit(limit)))
    last = rows[-1] if len(rows) == limit else None
    return TasksOut(
        items=[task_json(t, account, release) for t in rows],
        next=None if last is None else f"{last.created_block}-{last.id}",
    )


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=SEEN)
def get_task(
    task_id: TaskId, account: CurrentAccount, session: SessionDep, release: PromptReleaseDep
) -> TaskOut:
    """One task (its producer and ESP only; the ESP reads the prompt once the fee is locked)."""
    return task_json(load_task(session, task_id, account), account, release)


@router.post(
    "/tasks/{task_id}/quote", response_model=TaskOut, responses=declare(401, 403, 404, 409, 502)
)
def quote(
    task_id: TaskId,
    body: QuoteIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
    deployment: DeploymentDep,
) -> TaskOut:
    """The ESP's signed quote: price, sha256 hashlock of its secret, deadline (the timelock),
    on the task's prompt commitment (another: 422 ``prompt_commitment_mismatch``).

    The deadline must be at least the minimum lock duration away (422 ``deadline_too_soon``) and
    no later than the registration window allows (422 ``deadline_beyond_registration_window``:
    now + (window - window/10) blocks x 12 s, so that an ESP claiming its fee at the deadline
    leaves the producer time to commit the image inside the fee lock's window)."""
    task = load_task(session, task_id, account)
    if account != task.esp:
        raise Forbidden("only the task's ESP may quote")
    now = deployment.chain.timestamp()
    params = deployment.manifest.params
    earliest = now + int(params.get("min_lock_duration", 60))
    # An ESP may claim (deliver) as late as the deadline: it must leave the producer time to
    # commit inside the fee lock's registration window (services.generation).
    latest = latest_quote_deadline(
        now, window_blocks=int(params.get("registration_window_blocks", 7_200))
    )
    terms = generation_lock(
        producer=task.producer,
        esp=task.esp,
        price=body.price,
        hashlock=bytes.fromhex(body.hashlock[2:]),
        deadline=body.deadline,
    )
    signer = (
        recover_quoter(
            terms,
            bytes.fromhex(body.signature[2:]),
            chain_id=deployment.chain.chain_id,
            esp_registry=deployment.esp_registry.address,
        )
        if body.signature
        else ""
    )
    check_quoted_commitment(body.prompt_commitment, task.prompt_commitment)
    state = check_quote(
        task.status,
        price=body.price,
        max_price=int(task.max_price),
        deadline=body.deadline,
        earliest_deadline=earliest,
        latest_deadline=latest,
        signer=signer,
        esp=task.esp,
    )
    task.price, task.hashlock, task.deadline, task.quote_signature, task.status = (
        str(body.price),
        body.hashlock.lower(),
        body.deadline,
        body.signature.lower() if body.signature else None,
        state,
    )
    try:
        # (its update flushes the quoted task first: a reused hashlock fails here, not later)
        record_quote(session, task, now=now, params=request.app.state.market.reputation.params)
        session.commit()
    except IntegrityError:
        # One hashlock, one task (tasks.hashlock is unique): the indexer gives a fee lock to the
        # task whose hashlock it carries, so an ESP quoting two of a producer's tasks under one
        # hashlock would have the lock paid for one release the other's prompt, unpaid
        # (tests/js/test_redteam4_prompt_release.py). The database decides, so two concurrent
        # quotes cannot both pass a check made before either is written.
        session.rollback()
        raise Conflict(
            "another task was quoted under this hashlock: quote with a fresh secret",
            code="hashlock_reused",
        ) from None
    return task_json(task, account, release)


@router.post(
    "/tasks/{task_id}/delivery",
    response_model=TaskOut,
    responses=declare(401, 403, 404, 409, 413, 415, 502),
)
async def deliver(
    task_id: TaskId,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
    settings: SettingsDep,
    deployment: DeploymentDep,
    sealed: Annotated[UploadFile, File(description="nonce || AES-256-GCM ciphertext")],
    preview: Annotated[UploadFile, File(description="a small preview image (<= 64x64)")],
    meta: Annotated[
        str,
        Form(
            description="JSON: content_hash, fingerprint, detail, model_id, attestation, "
            "key_commitment"
        ),
    ],
) -> TaskOut:
    """The ESP uploads the sealed image, a small preview and its signed attestation."""
    task = load_task(session, task_id, account)
    if account != task.esp:
        raise Forbidden("only the task's ESP may deliver")
    state = deliverable(
        task.status, has_lock=task.lock_id is not None, refused=task.refusal is not None
    )
    try:
        info = DeliveryMeta.model_validate_json(meta)  # bounded nesting (uploads.py)
    except ValueError as exc:
        raise Unprocessable(f"meta is not valid delivery JSON: {exc}") from None
    assert task.lock_id is not None  # deliverable() checked it
    reg = Registration(
        content_hash=bytes.fromhex(info.content_hash[2:]),
        fingerprint=bytes.fromhex(info.fingerprint[2:]),
        detail=bytes.fromhex(info.detail[2:]),
        owner=task.producer,
        esp=task.esp,
        task_id=bytes.fromhex(task.lock_id[2:]),  # the attestation names the paid lock
        model_id=bytes.fromhex(info.model_id[2:]),
        seed=task.seed,
    )
    signer = recover_attester(
        reg,
        bytes.fromhex(info.attestation[2:]),
        chain_id=deployment.chain.chain_id,
        registry=deployment.registry.address,
    )
    if signer != task.esp:
        raise Unprocessable(
            "attestation is not signed by the task's ESP for this task and producer",
            code="bad_attestation",
        )
    preview_img = await run_in_threadpool(  # off the event loop: up to max_image_pixels
        partial(
            decode_image,
            await preview.read(),
            declared_type=preview.content_type,
            max_pixels=settings.max_image_pixels,
        )
    )
    if max(preview_img.size) > 64:
        raise Unprocessable("preview must be at most 64x64")
    blobs = request.app.state.blobs
    sealed_bytes = await sealed.read()
    if len(sealed_bytes) < 28:
        raise Unprocessable("sealed delivery is too short")
    task.sealed_blob = blobs.put(sealed_bytes)
    from io import BytesIO

    buf = BytesIO()
    preview_img.save(buf, format="PNG")
    task.preview_blob = blobs.put(buf.getvalue())
    task.delivery = info.model_dump()
    task.status = state
    session.commit()
    return task_json(task, account, release)


@router.post("/tasks/{task_id}/refusal", response_model=TaskOut, responses=CHANGES)
def refuse(
    task_id: TaskId,
    body: TaskRefusalIn,
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
) -> TaskOut:
    """The ESP refuses a task, once: a posted one it will not quote (``code`` e.g.
    ``price_too_high``), which is then ``refused`` for good, or a locked one before delivering
    (``prompt_mismatch`` when the released prompt does not open the commitment it quoted on),
    whose producer refunds at the deadline."""
    task = load_task(session, task_id, account)
    if account != task.esp:
        raise Forbidden("only the task's ESP may refuse it")
    task.status = check_refusal(task.status, refused=task.refusal is not None)
    task.refusal = body.model_dump()
    session.commit()
    return task_json(task, account, release)


@router.get(
    "/tasks/{task_id}/sealed",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **SEEN},
)
def get_sealed(
    task_id: TaskId, request: Request, account: CurrentAccount, session: SessionDep
) -> Response:
    """The sealed image (only the key derived by the producer opens it)."""
    task = load_task(session, task_id, account)
    if task.sealed_blob is None:
        raise NotFound("nothing delivered yet")
    return Response(
        request.app.state.blobs.get(task.sealed_blob), media_type="application/octet-stream"
    )


@router.get(
    "/tasks/{task_id}/preview",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **SEEN},
)
def get_preview(
    task_id: TaskId, request: Request, account: CurrentAccount, session: SessionDep
) -> Response:
    """The delivery's small preview."""
    task = load_task(session, task_id, account)
    if task.preview_blob is None:
        raise NotFound("nothing delivered yet")
    return Response(request.app.state.blobs.get(task.preview_blob), media_type="image/png")


# Deliveries found to match their attestation, by (task id, key), per process: a repeated report
# of one is answered without opening and decoding it again (see report_fraud).
_MATCHED_MAX = 4096


def _matched(request: Request) -> set[tuple[str, str]]:
    state = request.app.state
    matched: set[tuple[str, str]] | None = getattr(state, "fraud_matched", None)
    if matched is None:
        matched = state.fraud_matched = set()
    return matched


@router.post(
    "/tasks/{task_id}/fraud",
    response_model=TaskOut,
    responses=declare(401, 403, 404, 409, 429),
)
def report_fraud(
    task_id: TaskId,
    body: FraudIn,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    release: PromptReleaseDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> TaskOut:
    """Prove the sealed image differs from its attestation by revealing this delivery's key.
    Counted with uploads (``rate_upload_per_minute``): opening a delivery decodes an image of up
    to 10**8 pixels."""
    limiter.hit("upload", client_key(request), limit=settings.rate_upload_per_minute)
    task = load_task(session, task_id, account)
    if account != task.producer:
        raise Forbidden("only the producer may report fraud")
    check_fraud_claim(
        task.status, delivered=task.delivery is not None and task.sealed_blob is not None
    )
    assert task.delivery is not None and task.sealed_blob is not None  # checked just above
    key = bytes.fromhex(body.key[2:])
    if "0x" + key_commitment(key).hex() != task.delivery["key_commitment"].lower():
        raise Unprocessable("key does not match the ESP's signed key commitment", code="bad_key")
    # A delivery of up to 10**8 pixels (a PNG of 200 KB can be one) costs seconds and a GB to
    # decode and hash, and a report that finds no fraud changes nothing, so a producer (with its
    # ESP's help) could repeat it at will: it is checked once per process.
    matched = _matched(request)
    if (task.id, body.key.lower()) in matched:
        raise Conflict("the delivery matches its attestation: no fraud", code="no_fraud")
    try:
        plain = open_sealed(
            request.app.state.blobs.get(task.sealed_blob),
            key=key,
            task_id=bytes.fromhex(task.id[2:]),
        )
        image = decode_image(plain, declared_type=None, max_pixels=10**8)
        actual = "0x" + canonical_hash(image).hex()
    except (SealError, ApiError, ValueError) as exc:  # undecryptable or undecodable: junk
        actual = f"undecodable: {exc}"
    if actual == task.delivery["content_hash"].lower():
        if len(matched) >= _MATCHED_MAX:
            matched.clear()
        matched.add((task.id, body.key.lower()))
        raise Conflict("the delivery matches its attestation: no fraud", code="no_fraud")
    task.fraud = {"attested": task.delivery["content_hash"], "actual": actual, "key": body.key}
    task.status = TaskState.FRAUD_PROVEN
    session.commit()
    return task_json(task, account, release)


@router.get("/accounts/{address}", response_model=AccountKeyOut, responses=declare(404, 409))
def account_key(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")], session: SessionDep
) -> AccountKeyOut:
    """An address's public key (known once it has signed in): what a sealed delivery needs.
    A contract account has none (409 ``no_account_key``): seal to its delivery key. Any case of
    the address is the same account (stored checksummed)."""
    address = to_checksum_address(address.lower())
    row = session.get(AccountKey, address)
    has_tasks = row is None and session.scalar(select(Task.id).where(Task.producer == address))
    if (row is not None and row.public_key is None) or has_tasks:
        raise Conflict(
            f"{address} has no account key (a contract account): deliveries to it need the "
            "delivery key it registers (PUT /v1/accounts/me/delivery-key)",
            code="no_account_key",
        )
    if row is None or row.public_key is None:
        raise NotFound(f"{address} has never signed in")
    return AccountKeyOut(address=row.address, public_key=row.public_key)
