"""The JavaScript SDK's BatchCourt steps live: anvil and `aigc serve` (its indexer running), the
owner of a batched item revoking a later single copy of it from JavaScript only, and settling
after the reward hold.

The unit tests (js/sdk/test/court.test.js, run by tests/js/test_sdk_unit.py) check each step's
guards against a fake API; here the same calls meet the real API, court and indexer.
"""

from __future__ import annotations

import pytest

from tests.js._node import (
    Steps,
    anvil_devnet,
    deployed_world,
    node_or_skip,
    serve_and_drive,
    serve_env,
    step_script,
)

_COURT = step_script("""
const pair = { original: BigInt(args.original), duplicate: BigInt(args.duplicate) }
let out
if (step === 'challenge') {
  const opened = await onceIndexed(() => aigc.courtChallenge(pair))
  const early = await refusal(() => aigc.courtFinalize(pair))
  const dep = await aigc.getDeployment()
  const dispute = await aigc.getCourtDispute(pair)
  out = { opened, early, dispute, court: dep.addresses.batchCourt }
} else if (step === 'contest') {
  out = { refused: await refusal(() => aigc.courtContest(pair)) }
} else if (step === 'finalize') {
  const finalized = await aigc.courtFinalize(pair)
  const held = await refusal(() => aigc.courtSettle(pair))  // the reward hold runs
  out = { finalized, held, dispute: await aigc.getCourtDispute(pair) }
} else {
  out = { settled: await aigc.courtSettle(pair), dispute: await aigc.getCourtDispute(pair) }
}
console.log(JSON.stringify(text(out)))
""")


@pytest.mark.anvil
@pytest.mark.slow
def test_a_batched_item_revokes_a_single_copy_through_the_court_from_javascript(tmp_path):
    """The producer batches an image; an attacker registers a near copy of it alone, attested by
    another ESP. From JavaScript: the producer's courtChallenge (retried until the indexer
    knows both tokens) opens the dispute on the deployment's court, a finalize inside the window
    is the API's 409 CourtDisputeWindow with the deadline, a contest by someone other than the
    copy's owner is CourtNotOwner, and courtFinalize after the window revokes the copy; the
    batched original stays active. The win is held: courtSettle at once is the API's 409
    CourtRewardHeld with the block it is releasable at; once the hold is mined, courtSettle
    pays the challenger (settled)."""
    from ledger.clients.registry import TokenStatus
    from tests.conftest import TEST_PARAMS
    from tests.contracts.batch_kit import register_batch, tid
    from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image

    node = node_or_skip()
    with anvil_devnet(tmp_path) as chain:
        world = deployed_world(chain)
        register_esp(world)
        batch_id, _ = register_batch(
            world,
            world.producer,
            fingerprints=[BASE_FP],
            item_details=[details()["base"]],
            esp=world.esp,
        )
        original = tid(batch_id, 0)
        copy = register_image(world, world.attacker, fingerprint=NEAR_FP, detail=details()["near"])
        pair = {"original": str(original), "duplicate": str(copy)}

        def drive(port: int) -> dict:
            court = Steps(node, _COURT, port, chain, tmp_path)
            opened = court(world.producer, "challenge", **pair)
            thief = court(world.buyer, "contest", **pair)
            world.chain.mine(TEST_PARAMS.dispute_window_blocks + 1)
            done = court(world.producer, "finalize", **pair)
            world.chain.mine(TEST_PARAMS.reward_hold_blocks)
            paid = court(world.producer, "settle", **pair)
            return {"opened": opened, "thief": thief, "done": done, "paid": paid}

        out = serve_and_drive(serve_env(tmp_path, world.deployment), tmp_path, drive)
        court = world.deployment.batch_court.address
        opened = out["opened"]
        assert opened["court"] == court
        deadline = int(opened["opened"]["ok"]["deadline"])
        assert opened["dispute"]["state"] == "open"
        assert opened["dispute"]["challenger"] == world.producer.address
        assert int(opened["dispute"]["deadline"]) == deadline
        early = opened["early"]
        assert (early["status"], early["code"]) == (409, "CourtDisputeWindow"), early
        assert int(early["fields"]["deadline"]) == deadline
        thief = out["thief"]["refused"]
        assert (thief["status"], thief["code"]) == (409, "CourtNotOwner"), thief
        assert thief["fields"]["caller"].lower() == world.buyer.address.lower()
        assert out["done"]["finalized"]["upheld"] is True
        assert out["done"]["dispute"]["state"] == "upheld"
        held = out["done"]["held"]
        assert (held["status"], held["code"]) == (409, "CourtRewardHeld"), held
        assert held["fields"]["releasableAtBlock"] == out["done"]["dispute"]["deadline"]
        # the copy's ESP is slashed, the slash burned at the EspRegistry: the court holds none
        assert int(out["done"]["dispute"]["slash"]) == 0
        burn = "0x000000000000000000000000000000000000dEaD"
        assert world.esps(world.deployer).compensation_of(burn) == world.params.esp_slash_amount
        assert out["paid"]["settled"]["state"] == "settled"
        assert out["paid"]["dispute"]["state"] == "settled"
        assert world.registry(world.deployer).record(copy).status is TokenStatus.REVOKED
        batches = world.deployment.batch_registry.functions
        assert batches.statusOf(original).call() == 1  # Active


_REINSTATE = step_script("""
const pair = { original: BigInt(args.original), duplicate: BigInt(args.duplicate) }
const reinstated = await onceIndexed(() => aigc.courtReinstate(pair))
const again = await refusal(() => aigc.courtReinstate(pair))
console.log(JSON.stringify(text({ reinstated, again, dispute: await aigc.getCourtDispute(pair) })))
""")


@pytest.mark.anvil
@pytest.mark.slow
def test_a_settled_court_win_whose_winner_was_revoked_is_reversed_from_javascript(tmp_path):
    """test_redteam3_reinstate's world on anvil: the squatter's batch item X won against the
    buyer's later single S at the court (settled after the hold), then X was revoked as a copy
    of an earlier item. From JavaScript the buyer's courtReinstate (the API's transaction,
    checked against the Registry's bond read from the chain) makes S active again, the dispute
    reversed; a second is the API's 409 CourtDisputeState, nothing sent."""
    from ledger.clients.registry import TokenStatus
    from tests.contracts.test_redteam3_reinstate import _court_win_settled_then_winner_revoked

    node = node_or_skip()
    with anvil_devnet(tmp_path) as chain:
        world = deployed_world(chain)
        x, s, _ = _court_win_settled_then_winner_revoked(world)
        bond = world.registry(world.deployer).params().bond
        held = world.balance(world.deployment.registry.address)

        def drive(port: int) -> dict:
            steps = Steps(node, _REINSTATE, port, chain, tmp_path)
            return steps(world.buyer, "reinstate", original=str(x), duplicate=str(s))

        out = serve_and_drive(serve_env(tmp_path, world.deployment), tmp_path, drive)
        assert out["reinstated"]["ok"]["state"] == "reversed", out
        assert out["dispute"]["state"] == "reversed"
        again = out["again"]
        assert (again["status"], again["code"]) == (409, "CourtDisputeState"), again
        assert world.registry(world.deployer).record(s).status is TokenStatus.ACTIVE
        assert world.balance(world.deployment.registry.address) == held + bond  # backs S again
