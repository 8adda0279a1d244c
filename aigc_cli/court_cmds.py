"""`aigc court claim-misattested TOKEN` and `aigc court finalize-misattested TOKEN`: the
BatchCourt's fraud proof of a mis-attestation (docs/contracts.md), a single token or a batch item
whose ESP attested a fingerprint or detail descriptor that are not its image's. The claim carries
the court's challenge deposit plus the committee's review fee; the committee's jurors recompute
both values from the token's content-addressed image and vote; the finalize decides after the
review's reveal deadline.

A batch item's claim (``claimMisattestedItem``) opens the item against its batch's roots: its
fingerprint and proof come from the chain (the batch's ``BatchRegistered`` fingerprints), but its
content hash, descriptor and seed (and the items-root proof, which needs every item's leaf) are
only in the batch's manifest, which the chain does not hold: ``--manifest FILE`` (the
``batch-manifest.json`` that ``aigc batch register`` writes, or the published manifest's
``items``), checked against the on-chain roots. Its finalize needs no manifest: the claimed
descriptor is the court's ``ItemOpened`` event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_cli._console import clean_errors, console, fail
from aigc_cli._options import DevAccount, Keystore, Password
from ledger import merkle
from ledger.errors import LedgerError

app = typer.Typer()
court_app = typer.Typer(
    help="The BatchCourt: claim a single token or a batch item mis-attested, decide the claim."
)
app.add_typer(court_app, name="court")

Token = Annotated[
    str, typer.Argument(help="The single token's or batch item's id (decimal or 0x-hex)")
]
Manifest = Annotated[
    Path | None,
    typer.Option(
        help="A batch item's batch manifest (JSON with its items in token order: the "
        "batch-manifest.json `aigc batch register` wrote, or the published manifest): the "
        "item's opening is not on chain"
    ),
]


def token_id(text: str) -> int:
    """A token id from decimal or 0x-hex text: a one-line error for anything else."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise fail(f"bad_token: {text!r} is not a token id (decimal or 0x-hex)") from None
    if not 0 <= value < 2**256:
        raise fail(f"bad_token: {text!r} is not a uint256")
    return value


def _clients(
    dev_account: int | None, keystore: Path | None, password: str | None
) -> tuple[Any, Any, Any]:
    """(deployment, the sender's BatchCourtClient, the RegistryClient)."""
    from aigc_cli.batch_cmds import _account, _deployment
    from ledger import Transactor
    from ledger.clients.batch_court import BatchCourtClient
    from ledger.clients.registry import RegistryClient

    deployment = _deployment()
    account = _account(deployment, dev_account, keystore, password)
    court = BatchCourtClient(deployment, Transactor(deployment.chain, account))
    return deployment, court, RegistryClient(deployment)


def _batch_item(deployment: Any, tid: int) -> tuple[Any, Any, int]:
    """(the BatchRegistryClient, item ``tid``'s batch record, its index): a one-line
    ``unknown_item`` for an id past its batch's count (or in no registered batch)."""
    from ledger import merkle
    from ledger.clients.batch_registry import BatchRegistryClient

    batch_id, index = merkle.split_token_id(tid)
    batches = BatchRegistryClient(deployment)
    record = batches.batch(batch_id)
    if index >= record.count:
        raise fail(f"unknown_item: token {tid} (batch {batch_id}, index {index}) is no batch item")
    return batches, record, index


def _opened_item(deployment: Any, tid: int, manifest: Path | None) -> Any:
    """What the claim of batch item ``tid`` opens (a ``MisattestedItem``): its fingerprint and
    proof from the chain and the manifest, its descriptor and item opening from ``manifest``,
    checked against the batch's on-chain roots (one-line errors: ``manifest_required``,
    ``bad_manifest``, ``manifest_mismatch``)."""
    from ledger.clients.batch_court import MisattestedItem
    from ledger.clients.batch_registry import ItemOpening
    from services.batch.errors import BatchError
    from services.batch.manifest import check_manifest

    batches, record, index = _batch_item(deployment, tid)
    if manifest is None:
        raise fail(
            f"manifest_required: token {tid} is item {index} of batch {record.batch_id}: its "
            "content hash, descriptor and seed are not on chain; pass --manifest FILE (its "
            "batch's manifest: the batch-manifest.json `aigc batch register` wrote, or the "
            "published one)"
        )
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"bad_manifest: {manifest}: {exc}") from None
    fingerprints = [bytes(f) for f in batches.registered(record.batch_id)["fingerprints"]]
    try:
        m = check_manifest(
            data,
            batch_id=record.batch_id,
            items_root=record.items_root,
            fp_root=record.fp_root,
            fingerprints=fingerprints,
        )
    except BatchError as exc:
        raise fail(f"{exc.code}: {manifest}: {exc}") from None
    it = m.layout.items[index]
    opening = ItemOpening(it.content_hash, it.seed, tuple(m.layout.item_proof(index)))
    fp_proof = tuple(m.layout.fingerprint_proof(index))
    return MisattestedItem(tid, it.fingerprint, fp_proof, m.details[index], opening, record.esp)


def _item_record(deployment: Any, court: Any, tid: int) -> Any:
    """The record batch item ``tid``'s open claim was made against, from the chain alone: its
    fingerprint (the batch's ``BatchRegistered`` fingerprints), the descriptor the claim opened
    (the court's latest ``ItemOpened``) and its batch's ESP."""
    from eth_abi import encode
    from eth_utils import keccak

    from ledger.clients.registry import RecordProof
    from ledger.logs import latest_log

    batches, record, index = _batch_item(deployment, tid)
    fp = bytes(batches.registered(record.batch_id)["fingerprints"][index])
    log = latest_log(
        court.contract,
        "ItemOpened",
        deployment.manifest.block,
        argument_filters={"tokenId": tid},
    )
    detail_hash = keccak(bytes(log["args"]["detail"])) if log is not None else bytes(32)
    proof = RecordProof(fp, detail_hash, record.esp, 0, 0, 0)
    claimed = court.misattestation(tid).record_hash
    hashed = (
        int.from_bytes(
            keccak(encode(["bytes32", "bytes32", "address"], [fp, detail_hash, record.esp])), "big"
        )
        | 1
    )
    if hashed.to_bytes(32, "big") != claimed:
        raise fail(f"no_claimed_record: item {tid}'s open claim is not about its leaf values")
    return proof


@court_app.command("claim-misattested")
@clean_errors(LedgerError)
def claim_misattested(
    token: Token,
    manifest: Manifest = None,
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
) -> None:
    """Claim that TOKEN's ESP attested values that are not its image's: pays the challenge
    deposit plus the committee's review fee (the API's `misattested_copy` alert names such a
    copy). Upheld, the token is revoked, its ESP slashed and your deposit returned with the
    challenge reward and the review fee (out of the copy's bond: you lose only gas); rejected,
    the deposit goes to the token's owner; no verdict, it returns.
    A batch item needs --manifest (its batch's manifest: the item's opening)."""
    from ledger.clients.committee import CommitteeClient

    tid = token_id(token)
    deployment, court, registry = _clients(dev_account, keystore, password)
    fee = CommitteeClient(deployment).params().review_fee
    deposit = court.deposit()
    if merkle.is_item_id(tid):
        item = _opened_item(deployment, tid, manifest)
        key = court.claim_misattested_item(item, review_fee=fee, deposit=deposit)
        esp = item.esp
    else:
        record = registry.registered(tid).proof
        key = court.claim_misattested(tid, record, review_fee=fee, deposit=deposit)
        esp = record.esp
    console.print(
        f"{court.tx.address} claimed token {tid} mis-attested (ESP {esp}): "
        f"deposit {deposit} wei + review fee {fee} wei; committee review 0x{key.hex()}. "
        "The jurors recompute the values from the token's image; after the review's reveal "
        f"deadline: aigc court finalize-misattested {tid}"
    )


_DECIDED = {
    "UPHELD": "upheld: the token is revoked, its ESP slashed; the claimant is paid its deposit, "
    "the challenge reward and back its review fee (out of the copy's bond)",
    "REJECTED": "rejected: the token stays; the claimant's deposit went to its owner",
    "VOID": "void (no verdict, or the token changed since): the deposit went back to the claimant",
}


@court_app.command("finalize-misattested")
@clean_errors(LedgerError)
def finalize_misattested(
    token: Token,
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
) -> None:
    """Decide TOKEN's open mis-attestation claim once its review's reveal deadline has passed
    (anyone may; no Ether)."""
    from ledger.clients.registry import DisputeState

    tid = token_id(token)
    deployment, court, registry = _clients(dev_account, keystore, password)
    claim = court.misattestation(tid)
    if claim.state is not DisputeState.OPEN:
        state = claim.state.name.lower()
        raise fail(f"no_open_claim: token {tid} has no open mis-attestation claim ({state})")
    if merkle.is_item_id(tid):
        # the item's claimed leaf values and its batch's ESP (no manifest needed)
        record = _item_record(deployment, court, tid)
    else:
        # the record claimed against: a reclaim since wrote a newer one (the claim is then Void)
        record = court.claimed_record(tid, registry)
    state = court.finalize_misattested(tid, record)
    console.print(f"token {tid}: the claim is {_DECIDED.get(state.name, state.name.lower())}")
