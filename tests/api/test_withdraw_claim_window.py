"""POST /v1/tx/locks/withdraw refuses (409 ``claim_window_closed``) an Ether or ERC-20 lock whose
claim window closes within five blocks of the head.

The HashTimeLock accepts such a withdrawal only within ``claimWindow`` blocks of the lock's own
block. The API estimates the transaction against the next block, but the wallet signs and sends
it later (the user reads the prompt; the market is busy): mined past the window it reverts, and
its calldata has published the preimage. For a seller's claim that hands the buyer the token
(an ERC-721 lock has no window) and the refund of its payment at T2. Before this guard the API
built the transaction one block before the window's end and the seller's wallet sent it a block
late: reverted, the secret public. The token lock is never refused for its age: the buyer claims
it after the seller, whose own window starts later.
"""

from __future__ import annotations

from ledger import HtlcClient, LockStatus, new_secret
from services.exchange.swap import CLAIM_MARGIN_BLOCKS
from tests.api.test_generation_flow import PRICE as PRICE_FEE
from tests.api.test_generation_flow import parties  # noqa: F401 (fixture)
from tests.contracts.helpers import past_reclaim, register_esp, register_image

PRICE = 10**17


def _withdraw(api, lock, preimage: bytes, headers):
    return api.client.post(
        "/v1/tx/locks/withdraw",
        json={"lock": {**lock.to_json(), "amount": lock.amount}, "preimage": "0x" + preimage.hex()},
        headers=headers,
    )


def _mine_to(world, block: int) -> None:
    world.chain.mine(block - world.chain.w3.eth.block_number)


def test_a_payment_lock_near_the_end_of_its_claim_window_is_refused_with_its_last_block(api):
    world = api.world
    secret, hashlock = new_secret()
    payment = world.htlc(world.buyer).lock_ether(
        world.producer.address,
        amount=PRICE,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 3600,
    )
    htlc = HtlcClient(world.deployment)
    last = htlc.lock_info(payment.id)[1] + htlc.claim_window()
    headers = api.sign_in(world.producer)

    _mine_to(world, last - CLAIM_MARGIN_BLOCKS)  # the margin left: built
    snapshot = world.chain.snapshot()
    r = _withdraw(api, payment, secret, headers)
    assert r.status_code == 200, r.text
    world.chain.revert(snapshot)

    for head in (last - CLAIM_MARGIN_BLOCKS + 1, last - 1, last, last + 3):
        _mine_to(world, head)
        r = _withdraw(api, payment, secret, headers)
        assert r.status_code == 409, (head, r.text)
        error = r.json()["error"]
        assert error["code"] == "claim_window_closed", error
        assert error["fields"] == {"last_claim_block": str(last), "block": str(head)}, error
    assert htlc.status(payment) is LockStatus.OPEN


def test_a_token_lock_is_built_past_any_claim_window(api):
    """The buyer's claim of the token (an ERC-721 lock) has no claim window: never refused."""
    world = api.world
    register_esp(world)
    token = register_image(world, world.producer)
    past_reclaim(world)
    world.registry(world.producer).approve(world.deployment.htlc.address, token)
    secret, hashlock = new_secret()
    token_lock = world.htlc(world.producer).lock_erc721(
        world.deployment.registry.address,
        world.buyer.address,
        token_id=token,
        hashlock=hashlock,
        timelock=world.chain.timestamp() + 7200,
    )
    htlc = HtlcClient(world.deployment)
    world.chain.mine(htlc.claim_window() + 1)
    r = _withdraw(api, token_lock, secret, api.sign_in(world.buyer))
    assert r.status_code == 200, r.text


def test_an_esp_worker_does_not_send_a_fee_claim_that_could_land_past_the_window(
    api,
    parties,  # noqa: F811
    monkeypatch,
):
    """The ESP's fee claim publishes its secret too (it opens the sealed delivery): the worker
    follows the seller's rule. Before, it relied on the estimate: one block before the window's
    end the estimate passed, the claim landed a block later, reverted and published the secret;
    the producer opened the image and refunded the fee at its deadline. Now it gives the claim
    up once without sending it (``claim-window-closed``), as past the window."""
    from ledger import LockTerms

    worker, producer = parties
    world = api.world
    task = producer.post("a delivery at the window's end", seed=6, max_price=2 * PRICE_FEE)
    short = task["id"][:10]
    assert worker.step() == [f"quoted {short}"]
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    assert worker.step() == [f"delivered {short}"]
    lock = LockTerms.from_json(producer.task(task["id"])["lock"])
    htlc = HtlcClient(world.deployment)
    last = htlc.lock_info(lock.id)[1] + htlc.claim_window()
    _mine_to(world, last - 1)
    api.index()
    estimate = worker.htlc.tx.unsigned

    def late(*args, **kwargs):  # the claim is mined a block after its estimate
        tx = estimate(*args, **kwargs)
        world.chain.mine(1)
        return tx

    monkeypatch.setattr(worker.htlc.tx, "unsigned", late)
    nonce = world.chain.w3.eth.get_transaction_count(world.esp.address)
    assert worker.step() == [f"claim-window-closed {short}"]
    assert world.chain.w3.eth.get_transaction_count(world.esp.address) == nonce  # nothing sent
    assert htlc.status(lock) is LockStatus.OPEN
    assert htlc.revealed_preimage(lock) is None


def test_a_batch_withdrawal_with_one_lock_near_its_window_is_refused_whole(api):
    """POST /v1/tx/locks/withdraw-batch settles all its locks or none: one Ether lock past its
    window reverts the whole transaction and publishes *every* preimage in it (each seller's
    secret hands its buyer the token). Before, the route built the batch with a lock one block
    from its window's end; now 409 ``claim_window_closed`` with that lock's last block, and a
    batch of locks that all have the margin left is still built."""
    world = api.world
    htlc = HtlcClient(world.deployment)
    old_secret, old_hashlock = new_secret()
    old = world.htlc(world.buyer).lock_ether(
        world.producer.address,
        amount=PRICE,
        hashlock=old_hashlock,
        timelock=world.chain.timestamp() + 7200,
    )
    last = htlc.lock_info(old.id)[1] + htlc.claim_window()
    _mine_to(world, last - CLAIM_MARGIN_BLOCKS - 2)
    new_secret_, new_hashlock = new_secret()
    fresh = world.htlc(world.buyer).lock_ether(
        world.producer.address,
        amount=PRICE,
        hashlock=new_hashlock,
        timelock=world.chain.timestamp() + 7200,
    )
    headers = api.sign_in(world.producer)

    def batch():
        return api.client.post(
            "/v1/tx/locks/withdraw-batch",
            json={
                "items": [
                    {
                        "lock": {**lock.to_json(), "amount": lock.amount},
                        "preimage": "0x" + preimage.hex(),
                    }
                    for lock, preimage in ((fresh, new_secret_), (old, old_secret))
                ]
            },
            headers=headers,
        )

    r = batch()  # both have the margin left: built
    assert r.status_code == 200, r.text
    _mine_to(world, last - 1)
    r = batch()
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "claim_window_closed", error
    assert error["fields"] == {"last_claim_block": str(last), "block": str(last - 1)}, error
    assert htlc.status(old) is LockStatus.OPEN and htlc.status(fresh) is LockStatus.OPEN
