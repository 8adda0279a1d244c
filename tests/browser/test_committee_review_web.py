"""The accused's committee review from the page (stage 3, docs/committee-jurors.md), on a real
CommitteeVerifier (tests/contracts/committee_kit.py: twenty juror ESPs, short phases).

The Contest button first asks the committee for a review (the review fee), then draws its jurors
(POST /v1/tx/review/draw), asking again each block while the draw block has not passed, then
contests. Both committee steps go through the SDK's checked ``requestReview`` / ``drawReview``:
a lying API's review request (ten fees, the fee to another address) or draw (to another address,
with Ether) is tx_mismatch in the page and never reaches the wallet (the page used to sign
whatever the API returned). The SDK's refusals carry the codes the page's draw loop reads:
CommitteeDrawTooEarly (the API's 409 or the SDK's own simulation at the pending block) is
another try after the next block, CommitteeAlreadyDrawn is done, CommitteeTooSmall at the
request (too few jurors) or at the draw (all busy) is said in words and the contest goes on.
"""

from __future__ import annotations

import json

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

from ledger.clients.committee import review_key
from ledger.clients.registry import DisputeState
from tests.browser.conftest import axe_violations
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_image

pytestmark = pytest.mark.browser

STATUS = "li[data-kind=challenge_opened] p[role=status]"
NOTE = "li[data-kind=challenge_opened] p.notice"
ERROR = "li[data-kind=challenge_opened] p.error"


def _challenged(site, committee, browser):
    """The producer challenges the buyer's token (a different image whose compact fingerprint is
    near); the buyer's page shows the notification with its Contest button."""
    world = committee.world
    committee.producer_esp()
    original = register_image(world, world.producer, fingerprint=BASE_FP)
    other = register_image(world, world.buyer, fingerprint=NEAR_FP, detail=details()["far"])
    world.registry(world.producer).challenge(original, other)
    site.api.index()
    # node-backed: the SDK reads the chain (and simulates) through the wallet
    wallet = NodeBackedWallet(world.buyer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/me")
    page.click("#connect")
    page.wait_for_selector("text=Signed in as")
    page.wait_for_selector("li[data-kind=challenge_opened] button.contest")
    return page, wallet, (original, other)


def _key(world, original: int, other: int) -> bytes:
    registry = world.registry(world.buyer)
    a, b = registry.registered(original), registry.registered(other)
    return review_key(registry.address, original, other, keccak(a.detail), keccak(b.detail))


def _counted(page, path: str, change=None) -> list[dict]:
    """Counts the page's POSTs to ``path`` (their bodies); ``change(answer)`` rewrites the API's
    own 200 answer (a lying API), its refusals pass as they are."""
    seen: list[dict] = []

    def handle(route):
        seen.append(route.request.post_data_json)
        if change is None:
            route.continue_()
            return
        answer = route.fetch()
        if answer.status != 200:
            route.fulfill(response=answer)
            return
        route.fulfill(response=answer, body=json.dumps(change(answer.json())))

    page.route(f"**{path}", handle)
    return seen


def _draw_tx(world, committee_address: str, key: bytes, sender: str) -> dict:
    """An honest unsigned draw(key) that no node estimated (an API answering before the draw
    block has passed): only the SDK's own simulation can refuse it."""
    data = function_signature_to_4byte_selector("draw(bytes32)") + encode(["bytes32"], [key])
    fee = world.chain.w3.eth.gas_price * 2
    return {
        "from": sender,
        "to": committee_address,
        "data": "0x" + data.hex(),
        "value": "0",
        "gas": 2_000_000,
        "maxFeePerGas": str(fee),
        "maxPriorityFeePerGas": "1",
        "chainId": world.chain.chain_id,
    }


def test_a_lying_apis_review_request_and_draw_are_refused_in_the_page_before_the_wallet(
    committee_site,
    browser,
):
    """The request with ten fees or with the fee to the attacker, the draw to the attacker or
    with Ether: tx_mismatch, nothing reaches the wallet, no contest; the honest ones then go."""
    site, committee = committee_site
    world = committee.world
    committee.enroll(5)
    page, wallet, (original, other) = _challenged(site, committee, browser)
    fee = committee.committee().params().review_fee
    request_lies = ({"value": str(10 * fee)}, {"to": world.attacker.address})
    for lie in request_lies:
        _counted(page, "/v1/tx/review/request", lambda tx, lie=lie: {**tx, **lie})
        page.click("button.contest")
        page.wait_for_selector(f"{ERROR}[data-code=tx_mismatch]")
        assert wallet.sent == [], lie
        page.unroute("**/v1/tx/review/request")
    draw_lies = ({"to": world.attacker.address}, {"value": "1"})
    for i, lie in enumerate(draw_lies):
        draws = _counted(page, "/v1/tx/review/draw", lambda tx, lie=lie: {**tx, **lie})
        page.click("button.contest")
        if i == 0:  # the request is honest and sent; its draw block has not passed yet
            page.wait_for_selector(f"{STATUS}[data-draw='2']")
            world.chain.mine(1)
        page.wait_for_selector(f"{ERROR}[data-code=tx_mismatch]")
        assert len(wallet.sent) == 1 and draws, lie  # the review request only
        page.unroute("**/v1/tx/review/draw")
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.OPEN
    page.click("button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    review = committee.committee().review(_key(world, original, other))
    assert len(review.jurors) == 5
    assert len(wallet.sent) == 3  # request, draw, contest
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED


def test_too_few_jurors_is_said_in_words_and_the_contest_goes_on_without_a_review(
    committee_site, browser
):
    """No juror enrolled: the API's 409 CommitteeTooSmall. No review is held, the page says the
    detail rule decides and contests without drawing; no review is marked, so the next click
    asks the committee again."""
    site, committee = committee_site
    world = committee.world
    page, wallet, (original, other) = _challenged(site, committee, browser)
    requests = _counted(page, "/v1/tx/review/request")
    draws = _counted(page, "/v1/tx/review/draw")
    wallet.reject.add("eth_sendTransaction")  # the contest is rejected in the wallet first
    page.click("button.contest")
    page.wait_for_selector(f"{ERROR}[data-code=rejected]")
    note = page.locator(NOTE)
    assert note.get_attribute("data-code") == "CommitteeTooSmall"
    assert "Too few jurors" in note.inner_text() and "detail rule" in note.inner_text()
    wallet.reject.clear()
    page.click("button.contest")
    page.wait_for_selector("p.ok[data-tx]")
    assert len(requests) == 2, "no review was marked: the second click asked the committee again"
    assert {k: int(v) for k, v in requests[0].items()} == {"original": original, "duplicate": other}
    assert draws == [] and len(wallet.sent) == 1  # the contest only
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED
    assert axe_violations(page) == []


def test_a_requested_review_is_drawn_again_each_block_while_too_early_then_contested(
    committee_site,
    browser,
):
    """The request draws nobody (its draw block is the next one): the page's draw is refused
    CommitteeDrawTooEarly by the API (409) until a block passes, a visible wait and another try;
    then it draws the five jurors and contests."""
    site, committee = committee_site
    world = committee.world
    committee.enroll(5)
    page, wallet, (original, other) = _challenged(site, committee, browser)
    requests = _counted(page, "/v1/tx/review/request")
    draws = _counted(page, "/v1/tx/review/draw")
    page.click("button.contest")
    page.wait_for_selector(f"{STATUS}[data-draw='2']")
    assert "waiting for the next block" in page.inner_text(STATUS)
    world.chain.mine(1)
    page.wait_for_selector("p.ok[data-tx]")
    assert len(requests) == 1 and len(draws) >= 2
    assert len(wallet.sent) == 3  # the review request, the draw, the contest
    assert len(committee.committee().review(_key(world, original, other)).jurors) == 5
    assert page.locator(f"{NOTE}:visible").count() == 0
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED


def test_the_sdks_own_too_early_and_already_drawn_refusals_keep_the_draw_loop_going(
    committee_site,
    browser,
):
    """An API that answers the draw without estimating it (an honest draw(key) built before the
    draw block passed): the SDK's own simulation at the pending block refuses it
    CommitteeDrawTooEarly, which the page's loop reads as its API's 409 (another try after the
    next block), not as a failure. A juror then draws first: the SDK's simulation refuses the
    page's draw CommitteeAlreadyDrawn, which is done, and the contest goes on. Last session the
    SDK's draw broke the retry: the refusal reached the page without the contract's code."""
    site, committee = committee_site
    world = committee.world
    committee.enroll(5)
    page, wallet, (original, other) = _challenged(site, committee, browser)
    key = _key(world, original, other)
    address = world.deployment.contract("CommitteeVerifier").address
    unestimated = _draw_tx(world, address, key, world.buyer.address)
    draws: list[dict] = []

    def answer(route):
        draws.append(route.request.post_data_json)
        if len(draws) == 2:  # the page's second try: a juror's duty has drawn first (mines past)
            assert len(wallet.sent) == 1  # the request; the too-early draw was never signed
            committee.draw(key, by=committee.jurors[10])
        route.fulfill(status=200, content_type="application/json", body=json.dumps(unestimated))

    page.route("**/v1/tx/review/draw", answer)
    page.click("button.contest")
    page.wait_for_selector(f"{STATUS}[data-draw='2']")
    assert "waiting for the next block" in page.inner_text(STATUS)
    page.wait_for_selector("p.ok[data-tx]")
    assert len(draws) == 2 and page.get_attribute(STATUS, "data-draw") == "2"
    assert len(wallet.sent) == 2  # the request, the contest: the page's draw was not sent
    assert len(committee.committee().review(key).jurors) == 5
    assert page.locator(f"{NOTE}:visible").count() == 0
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED


def test_jurors_busy_at_the_draw_hold_the_review_and_the_contest_goes_on(committee_site, browser):
    """Five jurors enrolled, all drawn in another review: the request is accepted (held), the
    draw is refused CommitteeTooSmall. The page says the review is held until they are free and
    contests at once: a page that failed here left the accused uncontested, its token lost when
    the window closed."""
    site, committee = committee_site
    world = committee.world
    committee.enroll(5)
    committee.synthetic(40)  # another dispute's review takes all five
    page, wallet, (original, other) = _challenged(site, committee, browser)
    requests = _counted(page, "/v1/tx/review/request")
    draws = _counted(page, "/v1/tx/review/draw")
    page.click("button.contest")
    page.wait_for_selector(f"{STATUS}[data-draw='2']")
    world.chain.mine(1)
    page.wait_for_selector("p.ok[data-tx]")
    note = page.locator(NOTE)
    assert note.get_attribute("data-code") == "CommitteeTooSmall"
    assert "busy" in note.inner_text() and "held" in note.inner_text()
    assert len(requests) == 1 and draws
    assert len(wallet.sent) == 2  # the review request, then the contest
    review = committee.committee().review(_key(world, original, other))
    assert review.jurors == () and not review.cancelled
    assert world.registry(world.buyer).dispute(original, other).state is DisputeState.CONTESTED
    assert axe_violations(page) == []
