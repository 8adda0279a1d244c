"""Red team 3 at the SDK boundary: a malicious (or compromised) API and a wallet that moves.

Each test drives the JavaScript SDK in node against a fake API (js/sdk/test/helpers.js) and a
wallet whose node accepts raw transactions (recorded, "mined" at once): the attack is an answer
that does not match what the user asked for (an unsigned transaction that pays someone else, a
payment leg above the price, a quote above the posted maximum, a deployment of another chain, a
wallet switched to another chain mid-flow), and the assertion is a typed refusal with a stable
code and *no* transaction signed. Real signatures throughout (viem's local accounts).
"""

from __future__ import annotations

from typing import Any

from tests.js._node import last_json, node_or_skip, run_node


def drive(scenario: str) -> dict[str, Any]:
    """Runs ``scenario`` of js/sdk/test/redteam3.js in node; the object it returns."""
    node = node_or_skip()
    script = (
        f"import {{ {scenario} }} from './js/sdk/test/redteam3.js'\n"
        f"console.log(JSON.stringify(await {scenario}()))"
    )
    return last_json(run_node(node, script, what=f"red team 3 SDK: {scenario}"))


def test_pay_fee_refuses_an_api_lock_transaction_that_pays_someone_else() -> None:
    """The API answers POST /v1/tx/locks/ether with a plain transfer of the fee to Mallory, then
    with a lock for Mallory at the real HTLC, then with the real lock carrying ten times the fee:
    the SDK signed each of them before (payFee only checked the quote)."""
    out = drive("payFeeRefusesAnApiLockTransactionThatPaysSomeoneElse")
    assert out["results"] == dict.fromkeys(out["results"], "tx_mismatch"), out
    assert set(out["sent"].values()) == {0}, out


def test_pay_fee_sends_the_lock_the_quote_promises() -> None:
    """The honest API's lock transaction still goes through (and then the acknowledgement)."""
    out = drive("payFeeSendsTheLockTheQuotePromises")
    assert out["r"] == "done", out
    assert out["sent"] == 2, out  # the lock, then acknowledge
    assert out["to"].lower() == "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
    assert out["value"] == "1000000000000000"


def test_pay_fee_refuses_a_quote_above_the_maximum_the_producer_posted() -> None:
    """postTask(maxPrice 0.002 ETH); the API (with a colluding ESP that signs) quotes 1 ETH and
    reports max_price 1 ETH too: payFee paid it before (it compared nothing with the maximum)."""
    out = drive("payFeeRefusesAQuoteAboveTheMaximumTheProducerPosted")
    assert out == {"r1": "price_above_max", "r2": "price_above_max", "sent": 0}, out


def test_post_task_refuses_a_task_for_another_esp_or_maximum_than_asked() -> None:
    """The user names an ESP; the API files the task with Mallory's ESP (or raises max_price):
    the SDK returned it as the user's task before."""
    out = drive("postTaskRefusesATaskForAnotherEspOrMaximumThanAsked")
    assert out == {
        "esp": "task_mismatch",
        "max": "task_mismatch",
        "producer": "task_mismatch",
        "honest": "done",
    }, out


def test_a_wallet_switched_to_another_chain_mid_flow_signs_nothing() -> None:
    """The user switches the wallet to mainnet between the quote and the payment: the SDK sent
    the lock through the wallet on chain 1 before (the client has no `chain`, so viem does not
    check it), paying the fee to whatever sits at the HTLC's address there."""
    out = drive("aWalletSwitchedToAnotherChainMidFlowSignsNothing")
    assert out == {"r": "wrong_chain", "sent": 0}, out


def test_a_deployment_of_another_chain_is_refused() -> None:
    """The API serves a deployment for chain 1 while the user's chain reader is on 31337 (and,
    with a trusted manifest pinned by the dApp, one whose HashTimeLock is Mallory's)."""
    out = drive("aDeploymentOfAnotherChainIsRefused")
    assert out == {
        "wrongChain": "wrong_chain",
        "pinned": "deployment_mismatch",
        "pinnedOther": "wrong_chain",
        "ok": "done",
    }, out


def test_lock_for_sale_refuses_an_approval_or_lock_for_someone_else() -> None:
    """The seller's two API transactions: an approval of Mallory (who then takes the token with
    transferFrom), a token lock to Mallory instead of the buyer: both were signed before."""
    out = drive("lockForSaleRefusesAnApprovalOrLockForSomeoneElse")
    assert out == {
        "approval": "tx_mismatch",
        "approvalSent": 0,
        "lock": "tx_mismatch",
        "lockSent": 1,  # the approval of the escrow went out; the lock to Mallory did not
        "honest": "done",
        "honestSent": 2,
    }, out


def test_pay_trade_refuses_legs_that_do_not_add_up_to_the_trade() -> None:
    """The buyer's payment legs as the API builds them: an extra leg to Mallory, the seller's leg
    above the price, a payment timelock later than the token lock's (the seller claims after
    refunding the token), a leg whose transaction pays another receiver than it says."""
    out = drive("payTradeRefusesLegsThatDoNotAddUpToTheTrade")
    r, sent = out["results"], out["sent"]
    assert r == {
        "extra_leg": "bad_payment_legs",
        "above_price": "bad_payment_legs",
        "late_timelock": "bad_payment_legs",
        "lying_leg": "tx_mismatch",
        "honest": "done",
    }, out
    assert sent == {
        "extra_leg": 0,
        "above_price": 0,
        "late_timelock": 0,
        "lying_leg": 0,
        "honest": 1,
    }, out


def test_withdraw_refuses_a_transaction_that_is_not_the_withdrawal_asked_for() -> None:
    """claimToken / claimPayment / withdraw relay POST /v1/tx/locks/withdraw: the API answers
    with a withdrawal carrying Ether to Mallory's contract, or another lock's withdrawal."""
    out = drive("withdrawRefusesATransactionThatIsNotTheWithdrawalAskedFor")
    assert out == {
        "value": ["tx_mismatch", 0],
        "elsewhere": ["tx_mismatch", 0],
        "other_lock": ["tx_mismatch", 0],
        "no_data": ["tx_mismatch", 0],
        "bad_value": ["tx_mismatch", 0],
        "honest": ["done", 1],
    }, out


def test_amounts_and_token_ids_beyond_2_53_stay_exact_and_bad_input_is_typed() -> None:
    """Token ids and prices as decimal strings and BigInts past 2^53 reach the API exact; a JSON
    number past 2^53 (already rounded), a negative, a fraction and a token id past 2^256 are
    typed errors before anything is signed."""
    out = drive("amountsAndTokenIdsBeyond253StayExactAndBadInputIsTyped")
    assert out["errors"] == {
        "unsafe_number": "RangeError",
        "negative": "RangeError",
        "fraction": "TypeError",
        "too_wide": "RangeError",
        "garbage": "TypeError",
    }, out
    assert out["tokenId"] == str(2**255 + 12345)
    assert out["price"] == out["sentPrice"] == "123456789012345678901234567890"
    assert out["bad"].startswith("RangeError"), out


def test_sign_in_refuses_a_nonce_for_another_site() -> None:
    """A phishing API answers the nonce with another site's domain and URI (it would forward the
    signed message there and sign in as the user): the SDK had the wallet sign it before."""
    out = drive("signInRefusesANonceForAnotherSite")
    assert out == {
        "phished": "siwe_wrong_domain",
        "honest": "done",
        "named": "done",
        "signed": 2,
    }, out


def test_the_delivery_key_is_derived_only_for_this_sites_domain_and_chain() -> None:
    """A phishing API serves the real marketplace's delivery-key message (its domain, its chain):
    the wallet's signature would derive the user's real delivery key, which opens every image
    sealed to the user there once its fee is claimed. The SDK had the wallet sign it before."""
    out = drive("theDeliveryKeyIsDerivedOnlyForThisSitesDomainAndChain")
    assert out == {
        "results": {
            "other_domain": "delivery_message_mismatch",
            "other_chain": "delivery_message_mismatch",
            "honest": "done",
        },
        "signed": 1,
    }, out


def test_an_injected_wallet_switched_to_another_account_mid_flow_signs_nothing() -> None:
    """The studio's WalletClient signs as the signed-in address through the injected wallet; the
    user switches the wallet to another account between the quote and the payment: the SDK asked
    the wallet to send the lock from the old account before (a wallet still connected to it signs
    it, for a flow the user has left)."""
    out = drive("anInjectedWalletSwitchedToAnotherAccountMidFlowSignsNothing")
    assert out["switched"] == "account_changed", out
    assert out["sentWhileSwitched"] == 0, out
    assert out["back"] != "account_changed", out
    assert out["sent"] >= 1, out


def test_ids_from_untrusted_input_never_become_another_route() -> None:
    """A dApp passes a task or trade id from its URL: `../` in it made the SDK send the bearer
    token (and, for reportFraud, the delivery key) to another route of the API before."""
    out = drive("idsFromUntrustedInputNeverBecomeAnotherRoute")
    assert out["results"] == {
        "task": "bad_task_id",
        "fraud": "bad_task_id",
        "trade": "bad_trade_id",
        "tradeFraction": "bad_trade_id",
        "pay": "bad_trade_id",
        "buy": "bad_trade_id",
    }, out
    assert out["calls"] == 0, out


def test_claim_token_refuses_a_token_lock_that_is_not_the_buyers() -> None:
    """The buyer's claimToken withdrew whatever token lock the API named (another receiver's,
    another token, another hashlock) with the seller's published secret before."""
    out = drive("claimTokenRefusesATokenLockThatIsNotTheBuyers")
    assert out == {
        "other_receiver": ["bad_token_lock", 0],
        "other_token": ["bad_token_lock", 0],
        "other_hashlock": ["bad_token_lock", 0],
    }, out


def test_register_refuses_delivery_metadata_its_esp_did_not_attest_before_the_bond() -> None:
    """The API's delivery metadata (fingerprint, detail) differs from what the ESP attested, or
    the attestation is someone else's, or the fee lock is not paid yet: register committed the
    bond before (the reveal then reverts RegistryInvalidAttestation / RegistryLockNotPaid, and a
    commitment never revealed forfeits its bond)."""
    out = drive("registerRefusesDeliveryMetadataItsEspDidNotAttestBeforeTheBond")
    assert out == {
        "other_fingerprint": ["bad_attestation", 0],
        "other_detail": ["bad_attestation", 0],
        "forged_attestation": ["bad_attestation", 0],
        "unpaid_lock": ["lock_not_paid", 0],
        "honest": ["done", 2],
    }, out


def test_the_buyer_pays_only_the_offer_the_seller_signed_for_the_listing_it_bought() -> None:
    """payTrade's legs add up to the trade's price, which is the API's word: the API raised it
    tenfold (legs and all), or served a listing signed in the seller's name by someone else, or
    opened the trade on another listing than the one bought: the buyer paid 50 for an offer of 5
    before."""
    out = drive("theBuyerPaysOnlyTheOfferTheSellerSignedForTheListingItBought")
    assert out == {
        "raised_price": ["trade_mismatch", 0],
        "forged_offer": ["bad_offer", 0],
        "honest": ["done", 1],
        "other_listing": ["trade_mismatch", 0],
    }, out


def test_the_seller_sells_only_at_the_price_it_offered() -> None:
    """The API lowers the trade's price to 1 wei (the seller's offer: 5): lockForSale locked the
    token for it, and claimPayment, finding the 1 wei locked equal to the API's price, revealed
    the secret for it (the buyer takes the token for 1 wei) before."""
    out = drive("theSellerSellsOnlyAtThePriceItOffered")
    assert out == {"lock": ["trade_mismatch", 0], "claim": ["trade_mismatch", 0, 0]}, out


def test_the_fees_are_the_wallets_not_the_apis() -> None:
    """The API's transaction carries a 1,000 gwei priority fee (a tip to a builder it colludes
    with): the SDK signed the API's fees as given before. Now the wallet's node sets them (here
    1 wei tip, base fee 1 wei); the API's gas limit is kept."""
    out = drive("theFeesAreTheWalletsNotTheApis")
    assert out["r"] == "done", out
    assert int(out["priority"]) == 1, out
    assert int(out["maxFee"]) < 10**9, out
    assert out["gas"] == "210000", out
