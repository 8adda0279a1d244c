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
    the BatchRegistry and the claim at the court once each (then the royalty, as before)."""
    out = drive("payTradeReadsTheChainOncePerFact")
    assert out["r"] == "done" and out["sent"] == 1, out
    htlc = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
    batch = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
    court = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"
    reads = [r for r in out["reads"] if not r.startswith("eip712Domain@")]  # the deployment's
    wanted = [f"statusOf@{htlc}", f"statusOf@{batch}", f"misattestationOf@{court}"]
    assert sorted(reads) == sorted([*wanted, f"royaltyInfo@{batch}"]), out


def test_the_token_status_fragment_is_the_batch_registrys() -> None:
    """The SDK's BatchRegistry ``statusOf`` fragment matches the compiled contract."""
    assert drive("theTokenStatusFragmentIsTheBatchRegistrys") == {"matches": [True]}
