"""Red team 7 at the SDK boundary: the buyer's ``payTrade`` against a lying (or compromised) API.

payTrade checked the seller's token lock only as the API described it (its receiver, collection
and token id) and the listing's signed offer; it never read the chain. A colluding API and seller
then made the buyer lock the price against a token lock that does not exist (or was refunded or
withdrawn, or names another hashlock or timelock than the real one): the seller claims the
payment with the secret, the buyer's claim of the token fails, and the buyer has lost the price.
Or against a token the chain has revoked, or one under an open mis-attestation claim at the
BatchCourt (upheld, it revokes the token from the buyer). The Python buyer
(services.exchange.swap.buyer_pay) checks both on chain; now the SDK does too, before it asks the
API for the payment or signs anything: the HashTimeLock's ``statusOf`` of the lock's exact terms
(``token_lock_not_on_chain``), the collection's status of the token (``token_revoked``), the
court's ``misattestationOf`` (``misattestation_claim_open``), read together.

Each test drives js/sdk/test/redteam7.js in node against a fake API and a fake chain reader;
each case is ``[outcome, transactions signed, whether the payment was asked for]``.
"""

from __future__ import annotations

from typing import Any

from tests.js._node import last_json, node_or_skip, run_node


def drive(scenario: str) -> Any:
    """Runs ``scenario`` of js/sdk/test/redteam7.js in node; what it returns."""
    node = node_or_skip()
    script = (
        f"import {{ {scenario} }} from './js/sdk/test/redteam7.js'\n"
        f"console.log(JSON.stringify(await {scenario}()))"
    )
    return last_json(run_node(node, script, what=f"red team 7 SDK: {scenario}"))


def test_pay_trade_refuses_a_token_lock_the_chain_does_not_hold() -> None:
    """The API's token lock is not the chain's: never made, refunded, withdrawn, under another
    hashlock, with a later timelock than the real one (each was paid, 5 wei signed, before), or
    from another sender than the trade's seller (Python's check_seller_lock refuses it)."""
    out = drive("payTradeRefusesATokenLockTheChainDoesNotHold")
    assert out == {
        "never_made": ["token_lock_not_on_chain", 0, False],
        "refunded": ["token_lock_not_on_chain", 0, False],
        "withdrawn": ["token_lock_not_on_chain", 0, False],
        "other_hashlock": ["token_lock_not_on_chain", 0, False],
        "earlier_timelock": ["token_lock_not_on_chain", 0, False],
        "other_sender": ["bad_token_lock", 0, False],
        "honest": ["done", 1, True],
    }, out


def test_pay_trade_refuses_a_revoked_or_claimed_token() -> None:
    """A Registry token or a batch item revoked on chain, or under an open or contested
    mis-attestation claim at the BatchCourt: paid before. A rejected claim, a batch item, and a
    deployment without a court still pay."""
    out = drive("payTradeRefusesARevokedOrClaimedToken")
    assert out == {
        "registry_revoked": ["token_revoked", 0, False],
        "batch_revoked": ["token_revoked", 0, False],
        "claim_open": ["misattestation_claim_open", 0, False],
        "claim_contested": ["misattestation_claim_open", 0, False],
        "claim_rejected": ["done", 1, True],
        "honest_batch": ["done", 1, True],
        "honest_no_court": ["done", 1, True],
    }, out


def test_pay_trade_reads_the_chain_once_per_fact() -> None:
    """The honest batch-item purchase reads the lock's status at the HTLC, the item's status at
    the BatchRegistry and the claim at the court once each, then its batch (where the search for
    its challenges starts; none found, no dispute read) and the royalty, as before."""
    out = drive("payTradeReadsTheChainOncePerFact")
    assert out["r"] == "done" and out["sent"] == 1, out
    htlc = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
    batch = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
    court = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"
    reads = [r for r in out["reads"] if not r.startswith("eip712Domain@")]  # the deployment's
    wanted = [f"statusOf@{htlc}", f"statusOf@{batch}", f"misattestationOf@{court}"]
    assert sorted(reads) == sorted([*wanted, f"batchOf@{batch}", f"royaltyInfo@{batch}"]), out


def test_the_token_status_fragment_is_the_batch_registrys() -> None:
    """The SDK's BatchRegistry ``statusOf`` fragment matches the compiled contract."""
    assert drive("theTokenStatusFragmentIsTheBatchRegistrys") == {"matches": [True]}


def test_pay_trade_refuses_a_token_under_an_open_challenge() -> None:
    """A lying API with the seller sells a token under a pending duplicate challenge (open, even
    past its deadline, or contested): decided for the accuser, it revokes the token from the
    buyer, who has paid the price (5 wei, 1 tx signed in every case before). Now refused,
    ``challenge_open``: the Registry's and the BatchCourt's challenges of a Registry token, the
    BatchRegistry's of a batch item (services.exchange.collection.disputes_against), searched
    from the token's registration; a deployment block the API names after the registration is
    refused (``registration_not_found``: the search would start past the challenge). Decided
    challenges, and a challenge of the other collection's token of the same id, still pay."""
    out = drive("payTradeRefusesATokenUnderAnOpenChallenge")
    refused = ["challenge_open", 0, False]
    assert out == {
        "registry_open": refused,
        "registry_contested": refused,
        "court_open": refused,
        "batch_open": refused,
        "batch_contested": refused,
        "second_open": refused,
        "opened_late": refused,
        "late_deployment_block": ["registration_not_found", 0, False],
        "rejected": ["done", 1, True],
        "void": ["done", 1, True],
        "other_collections_token": ["done", 1, True],
        "honest_deployment_block": ["done", 1, True],
        "honest_batch": ["done", 1, True],
    }, out


def test_pay_trade_searches_challenges_from_the_registration() -> None:
    """The search is bounded: a Registry token's Registered log from the deployment's block up to
    the first hit, then its challenges at the Registry and the court (one query for both) from
    that block to the head; a batch item's from its batch's reveal block (``batchOf``)."""
    out = drive("payTradeSearchesChallengesFromTheRegistration")
    registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    batch = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
    court = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"
    assert out["registry"] == {
        "r": "done",
        "scans": [f"Registered@{registry}:40-1000", f"ChallengeOpened@{registry}+{court}:100-1000"],
    }, out
    assert out["batch"] == {
        "r": "done",
        "scans": [f"ChallengeOpened@{batch}:100-1000"],
        "reads": [f"batchOf@{batch}"],
    }, out
    assert out["refused"] == "challenge_open", out


def test_pay_trade_challenge_error_names_the_pair() -> None:
    """The refusal is a ChallengeOpenError (an AigcSdkError, code ``challenge_open``) naming the
    token, its accuser, the contract and the dispute's state."""
    out = drive("payTradeChallengeErrorNamesThePair")
    assert out == {
        "error": "ChallengeOpenError",
        "code": "challenge_open",
        "isSdkError": True,
        "isChallengeError": True,
        "tokenId": "7",
        "original": "99",
        "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "state": "contested",
    }, out


def test_the_challenge_fragments_are_the_contracts() -> None:
    """The SDK's ChallengeOpened, Registered and disputeOf fragments match the compiled Registry,
    BatchRegistry and BatchCourt."""
    assert drive("theChallengeFragmentsAreTheContracts") == {
        "registry": [True, True, True],
        "batch": [True, True],
        "court": [True, True],
    }
