"""An ESP worker whose fee claim comes after the HashTimeLock's claim window (the lock's block +
``claimWindow``: a delivery that late could otherwise be registered after the registration window)
gives the claim up once and says so, instead of retrying a claim that can never succeed every
round for as long as the task is listed (the producer refunds at the lock's deadline)."""

from __future__ import annotations

from ledger import HtlcClient, LockStatus, LockTerms
from tests.api.test_generation_flow import PRICE, parties  # noqa: F401 (fixture)


def test_a_claim_after_the_claim_window_is_given_up_once(api, parties):  # noqa: F811
    worker, producer = parties
    world = api.world
    task = producer.post("a late delivery", seed=5, max_price=2 * PRICE)
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    assert worker.step() == [f"delivered {task['id'][:10]}"]
    window = HtlcClient(world.deployment, world.tx(world.esp)).claim_window()
    world.chain.mine(window + 1)  # the worker was down past the claim window
    api.index()
    short = task["id"][:10]
    assert worker.step() == [f"claim-window-closed {short}"]
    assert worker.step() == []  # given up once, not retried every round
    lock = LockTerms.from_json(producer.task(task["id"])["lock"])
    assert worker.htlc.status(lock) is LockStatus.OPEN  # the producer refunds at the deadline
    assert worker.state.tasks[task["id"]]["stage"] == "claim_closed"
