"""`aigc court claim-misattested TOKEN` and `aigc court finalize-misattested TOKEN`: the
BatchCourt's fraud proof of a mis-attestation (docs/contracts.md), a single token whose ESP
attested a fingerprint or detail descriptor that are not its image's. The claim carries the
court's challenge deposit plus the committee's review fee; the committee's jurors recompute both
values from the token's content-addressed image and vote; the finalize decides after the
review's reveal deadline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aigc_cli._console import clean_errors, console, fail
from ledger.errors import LedgerError

app = typer.Typer()
court_app = typer.Typer(help="The BatchCourt: claim a single token mis-attested, decide the claim.")
app.add_typer(court_app, name="court")

DevAccount = Annotated[int | None, typer.Option(help="Use dev account N (local chains only)")]
Keystore = Annotated[Path | None, typer.Option(help="Keystore of the sending account's key")]
Password = Annotated[
    str | None,
    typer.Option(
        envvar="AIGC_KEYSTORE_PASSWORD",
        hide_input=True,
        help="The --keystore password (asked for when not given)",
    ),
]
Token = Annotated[str, typer.Argument(help="The single token's id (decimal or 0x-hex)")]


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


@court_app.command("claim-misattested")
@clean_errors(LedgerError)
def claim_misattested(
    token: Token,
    dev_account: DevAccount = None,
    keystore: Keystore = None,
    password: Password = None,
) -> None:
    """Claim that TOKEN's ESP attested values that are not its image's: pays the challenge
    deposit plus the committee's review fee (the API's `misattested_copy` alert names such a
    copy). Upheld, the token is revoked, its ESP slashed and your deposit returned with the
    challenge reward; rejected, the deposit goes to the token's owner; no verdict, it returns."""
    from ledger.clients.committee import CommitteeClient

    tid = token_id(token)
    deployment, court, registry = _clients(dev_account, keystore, password)
    fee = CommitteeClient(deployment).params().review_fee
    deposit = court.deposit()
    record = registry.registered(tid).proof
    key = court.claim_misattested(tid, record, review_fee=fee, deposit=deposit)
    console.print(
        f"{court.tx.address} claimed token {tid} mis-attested (ESP {record.esp}): "
        f"deposit {deposit} wei + review fee {fee} wei; committee review 0x{key.hex()}. "
        "The jurors recompute the values from the token's image; after the review's reveal "
        f"deadline: aigc court finalize-misattested {tid}"
    )


_DECIDED = {
    "UPHELD": "upheld: the token is revoked, its ESP slashed; the claimant is paid its deposit "
    "and the challenge reward",
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
    _, court, registry = _clients(dev_account, keystore, password)
    claim = court.misattestation(tid)
    if claim.state is not DisputeState.OPEN:
        state = claim.state.name.lower()
        raise fail(f"no_open_claim: token {tid} has no open mis-attestation claim ({state})")
    # the record claimed against: a reclaim since wrote a newer one (the claim is then Void)
    state = court.finalize_misattested(tid, court.claimed_record(tid, registry))
    console.print(f"token {tid}: the claim is {_DECIDED.get(state.name, state.name.lower())}")
