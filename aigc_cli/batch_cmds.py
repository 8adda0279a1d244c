"""`aigc register --batch DIR` (the producer) and `aigc esp attest-batch` (the ESP): issue 16.

The producer's folder holds the images its ESP delivered. The first `aigc register --batch DIR`
writes ``DIR/batch-request.json`` (each image's content hash, fingerprint and detail hash,
computed from the files) for the ESP; the ESP answers with ``aigc esp attest-batch`` (it signs
only its own paid deliveries to this producer: docs/batches.md) and the attestation goes to
``DIR/batch-attestation.json``; the second `aigc register --batch DIR` checks every image against
it, commits, reveals, writes ``DIR/batch-manifest.json`` and, with ``--api``, publishes it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_cli._console import check_url, clean_errors, console, fail, keystore_account
from aigc_cli._console import dev_account as dev_account_of
from aigc_cli._options import DevAccount, Keystore, Password
from aigc_cli.market_cmds import check_state_file, esp_app
from ledger.errors import LedgerError
from services.errors import ServiceError

app = typer.Typer()

REQUEST, ATTESTATION, MANIFEST = (
    "batch-request.json",
    "batch-attestation.json",
    "batch-manifest.json",
)
COMMIT = "batch-commit.json"  # the salt, from before the commit until the reveal
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
MAX_IMAGE_BYTES = 16 * 2**20


def _account(
    deployment: Any, dev_account: int | None, keystore: Path | None, password: str | None
) -> Any:
    if keystore is not None:
        return keystore_account(keystore, password)
    if dev_account is not None:
        return dev_account_of(deployment.chain, dev_account)
    raise fail("choose --keystore or --dev-account")


def _deployment() -> Any:
    from ledger.config import get_settings
    from ledger.connect import connect_deployment

    return connect_deployment(get_settings())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Written atomically: a crash never leaves half a file the next step would misread."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``, or a clean exit naming the file: missing, a folder, not
    UTF-8 text, not JSON, or JSON that is not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: cannot read {what}: {exc.__class__.__name__}: {exc}") from None
    except ValueError as exc:
        raise fail(f"{path}: {what} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise fail(f"{path}: {what} must be a JSON object, not {type(data).__name__}")
    return data


def _kept_commit(pending: Path) -> dict[str, str]:
    """What ``batch-commit.json`` keeps (items_root, producer, salt), {} when there is none, or
    a clean exit naming it when it is damaged: it holds the salt of a commit that may already be
    on chain, so it is never replaced by a new salt then (that commit could not be revealed and
    its bond would be forfeit)."""
    if not pending.exists():
        return {}
    kept = _read_json_object(pending, "the pending commit's salt")
    salt = kept.get("salt")
    ok = all(isinstance(kept.get(k), str) for k in ("items_root", "producer", "salt"))
    if ok:
        try:
            ok = salt[:2] == "0x" and len(bytes.fromhex(salt[2:])) == 32  # type: ignore[index]
        except ValueError:
            ok = False
    if not ok:
        raise fail(
            f"{pending}: damaged (it must hold items_root, producer and a 32-byte hex salt); "
            "it may be the salt of a commit already on chain: restore it, or delete it only if "
            "no commit was sent"
        )
    return kept


def _images(folder: Path) -> list[tuple[str, bytes]]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise fail(f"{folder}: no images (.png, .jpg, .webp)")
    out = []
    for path in files:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise fail(f"{path.name}: larger than {MAX_IMAGE_BYTES} bytes")
        out.append((path.name, path.read_bytes()))
    return out


def _fingerprint(image: Any) -> bytes:
    from services.provenance import fingerprint

    return fingerprint(image).to_bytes32()


def _request(images: list[tuple[str, bytes]], producer: str) -> dict[str, Any]:
    import io

    from eth_utils import keccak
    from PIL import Image

    from services.batch import BatchRequest, RequestItem
    from services.content import canonical_hash
    from services.provenance import detail_descriptor

    items = []
    for i, (name, data) in enumerate(images, 1):
        try:
            opened = Image.open(io.BytesIO(data))
            opened.load()
        except (OSError, Image.DecompressionBombError) as exc:
            raise fail(f"{name}: not an image ({exc})") from None
        image = opened.convert("RGB")
        console.print(f"  [{i}/{len(images)}] {name}")
        items.append(
            RequestItem(
                content_hash=canonical_hash(image),
                fingerprint=_fingerprint(image),
                detail_hash=keccak(detail_descriptor(image)),
            )
        )
    return BatchRequest(producer, None, tuple(items)).to_json()


@app.command("register")
@clean_errors(LedgerError, ServiceError)
def register(
    batch: Annotated[
        Path,
        typer.Option(
            "--batch",
            exists=True,
            file_okay=False,
            help=f"Folder of the images your ESP delivered (then also its {ATTESTATION})",
        ),
    ],
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
    api: Annotated[
        str | None,
        typer.Option(help="The marketplace API: asks the ESP (with --esp), publishes the manifest"),
    ] = None,
    esp: Annotated[
        str | None,
        typer.Option(help="Ask this ESP for the attestation through --api (and wait for it)"),
    ] = None,
    wait_s: Annotated[int, typer.Option(help="How long to wait for the ESP's answer")] = 300,
    metadata_uri: Annotated[str, typer.Option(help="The batch's metadata URI")] = "",
) -> None:
    """Register a folder of delivered images as one batch: one commit, one reveal, a token each."""
    from ledger.clients.batch_registry import BatchRegistryClient
    from ledger.tx import Transactor
    from services.batch import SignedBatch
    from services.batch.register import LedgerBatchChain, prepare_batch, register_batch

    if api is not None:
        check_url(api)
    deployment = _deployment()
    account = _account(deployment, dev_account, keystore, password)
    images = _images(batch)
    attestation = batch / ATTESTATION
    if not attestation.exists() and esp is not None:
        if api is None:
            raise fail("--esp asks through the marketplace: give --api too")
        from eth_utils import is_address, to_checksum_address

        if not is_address(esp):
            raise fail(f"--esp {esp}: not an address (0x and 40 hex digits)")
        esp = to_checksum_address(esp)
        console.print(f"{len(images)} images: computing what the ESP will check")
        request = _request(images, account.address)
        _write_json(attestation, _ask(api, account, esp, request, wait_s))
    if not attestation.exists():
        console.print(f"{len(images)} images: computing what the ESP will check")
        _write_json(batch / REQUEST, _request(images, account.address))
        console.print(
            f"wrote {batch / REQUEST}: send it to your ESP, which runs\n"
            f"  aigc esp attest-batch {REQUEST} --out {ATTESTATION}\n"
            f"then put its {ATTESTATION} in {batch} and run this command again"
        )
        return
    signed = SignedBatch.from_json(_read_json_object(attestation, "the ESP's attestation"))
    client = BatchRegistryClient(deployment, Transactor(deployment.chain, account))
    if signed.chain_id != deployment.chain.chain_id or signed.contract != client.address:
        raise fail(
            f"{attestation} is for chain {signed.chain_id} / {signed.contract}, not this "
            f"deployment's BatchRegistry ({deployment.chain.chain_id} / {client.address})"
        )
    console.print(f"checking {len(images)} images against the ESP's attestation")
    prepared = prepare_batch(images, signed, producer=account.address, fingerprint=_fingerprint)
    # The salt is on disk before the commit: a run stopped before its reveal resumes with it
    # (else the bond would be left to forfeit).
    pending = batch / COMMIT
    root = "0x" + signed.layout.items_root.hex()
    kept = _kept_commit(pending)
    if kept.get("items_root") == root and kept.get("producer") == account.address:
        prepared = replace(prepared, salt=bytes.fromhex(kept["salt"][2:]))
        console.print(f"resuming with the salt in {pending}")
    else:
        _write_json(
            pending,
            {"items_root": root, "producer": account.address, "salt": "0x" + prepared.salt.hex()},
        )
    bond = client.params().bond_per_item * signed.layout.count
    console.print(f"bond: {bond} wei for {signed.layout.count} images")
    manifest = register_batch(
        prepared, LedgerBatchChain(client), metadata_uri=metadata_uri, progress=console.print
    )
    out = {
        **manifest.to_json(),
        "chain_id": signed.chain_id,
        "batch_registry": signed.contract,
        "producer": account.address,
        "esp": signed.esp,
    }
    _write_json(batch / MANIFEST, out)
    pending.unlink()
    first, last = out["items"][0]["token_id"], out["items"][-1]["token_id"]
    console.print(f"batch {manifest.batch_id}: tokens {first} .. {last}; wrote {batch / MANIFEST}")
    if api is not None:
        _publish(api, account, manifest.batch_id, out)


def _market(api: str, account: Any) -> Any:
    """A signed-in marketplace client (tests put the in-process app behind it)."""
    import httpx

    from services.market_client import MarketClient

    client = MarketClient(httpx.Client(base_url=api, timeout=60), account)
    client.sign_in()
    return client


def _wait() -> None:
    time.sleep(1)


def _ask(api: str, account: Any, esp: str, request: dict[str, Any], wait_s: int) -> dict[str, Any]:
    """Asks ``esp`` through the marketplace and waits for its attestation (its worker answers
    while it runs ``aigc esp run``); a refusal ends the command with the ESP's rule."""
    client = _market(api, account)
    body = {"esp": esp, "task_id": request["task_id"], "items": request["items"]}
    asked = client.post("/v1/batch-requests", json=body)
    console.print(f"asked ESP {esp} (request {asked['id'][:10]}); waiting for its answer")
    deadline = time.monotonic() + wait_s
    while True:
        answer = client.get(f"/v1/batch-requests/{asked['id']}")
        if answer["status"] == "attested":
            console.print("the ESP attested the batch")
            return dict(answer["attestation"])
        if answer["status"] == "refused":
            refusal = answer["refusal"]
            raise fail(f"the ESP refused ({refusal['code']}): {refusal['message']}")
        if time.monotonic() > deadline:
            raise fail(f"no answer from the ESP within {wait_s} s: run again later")
        _wait()


def _publish(api: str, account: Any, batch_id: int, manifest: dict[str, Any]) -> None:
    """Publishes the manifest once the API has indexed the batch (it waits up to a minute)."""
    from services.market_client import MarketError

    client = _market(api, account)
    for _ in range(60):
        try:
            client.post(f"/v1/batches/{batch_id}/manifest", json={"items": manifest["items"]})
        except MarketError as exc:
            if exc.status == 404:  # not indexed yet
                _wait()
                continue
            raise fail(f"the API refused the manifest: {exc}") from None
        console.print(f"published the manifest at {api}/v1/batches/{batch_id}")
        return
    raise fail(f"the API has not indexed batch {batch_id} yet: publish {MANIFEST} later")


def _no_generation(prompt: str, seed: int) -> Any:
    raise RuntimeError("attesting a batch generates nothing")


@esp_app.command("attest-batch")
@clean_errors(LedgerError, ServiceError)
def attest_batch(
    request: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The producer's request")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the attestation")] = Path(ATTESTATION),
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
    state: Annotated[Path, typer.Option(help="The ESP worker's state file")] = Path(
        ".aigc/esp-state.json"
    ),
) -> None:
    """Attest a producer's batch of this ESP's own paid deliveries to it (or refuse, saying why)."""
    import httpx

    from ledger import HtlcClient, Transactor
    from ledger.clients.batch_registry import BatchRegistryClient
    from services.batch import BatchRefused, BatchRequest
    from services.esp_worker import EspWorker
    from services.market_client import MarketClient

    if out.is_dir() or not out.parent.is_dir():
        raise fail(f"--out {out}: not a file in an existing folder")
    if not state.exists():
        raise fail(f"{state}: no ESP state (the deliveries are recorded there by `aigc esp run`)")
    check_state_file(state)
    deployment = _deployment()
    account = _account(deployment, dev_account, keystore, password)
    parsed = BatchRequest.from_json(_read_json_object(request, "the producer's batch request"))
    tx = Transactor(deployment.chain, account)
    worker = EspWorker(
        MarketClient(httpx.Client(), account),  # not used to attest: no request is made
        HtlcClient(deployment, tx),
        make_image=_no_generation,
        fingerprint=_fingerprint,
        state_path=state,
        price=0,
    )
    batch_registry = BatchRegistryClient(deployment)
    try:
        signed = worker.attest_batch(
            parsed, contract=batch_registry.address, max_batch=batch_registry.params().max_batch
        )
    except BatchRefused as exc:
        raise fail(f"refused ({exc.code}): {exc}") from None
    _write_json(out, signed.to_json())
    console.print(
        f"attested {signed.layout.count} images for {signed.producer} under lock "
        f"0x{signed.task_id.hex()}; wrote {out}"
    )
