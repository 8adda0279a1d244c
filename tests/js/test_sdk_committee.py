"""The JavaScript SDK's requestReview and drawReview live: anvil and `aigc serve` (its indexer
running) over a deployment with a committee. The accused of a challenge asks for a review from
JavaScript: 409 CommitteeTooSmall while no juror is enrolled; once five are, the review is
requested (the fee paid, its draw block returned, nobody drawn); a second request is the
contract's CommitteeReviewExists (the API's 409); a draw in the draw block is
CommitteeDrawTooEarly; the contest follows, mined in the draw block, and then the accused draws
the five jurors itself."""

from __future__ import annotations

import pytest

from tests.js._node import (
    Steps,
    anvil_devnet,
    node_or_skip,
    serve_and_drive,
    serve_env,
    step_script,
)

_REVIEW = step_script("""
const pair = { original: BigInt(args.original), duplicate: BigInt(args.duplicate) }
let out
if (step === 'small') {
  out = { small: await onceIndexed(() => aigc.requestReview(pair)) }
} else {
  const review = await aigc.requestReview(pair)
  const again = await refusal(() => aigc.requestReview(pair))
  const early = await refusal(() => aigc.drawReview(pair))
  const contested = await aigc.contest(pair)
  const drawn = await aigc.drawReview(pair)
  out = { review, again, early, contested, drawn }
}
console.log(JSON.stringify(text(out)))
""")


@pytest.mark.anvil
@pytest.mark.slow
def test_the_accused_requests_a_committee_review_from_javascript(tmp_path):
    from ledger.clients.registry import DisputeState
    from tests.contracts.committee_kit import CommitteeWorld, _make
    from tests.contracts.helpers import BASE_FP, NEAR_FP, details, register_esp, register_image

    node = node_or_skip()
    with anvil_devnet(tmp_path) as chain:
        world, jurors = _make(chain)
        committee = CommitteeWorld(world, jurors)
        register_esp(world)
        original = register_image(world, world.producer, fingerprint=BASE_FP)
        other = register_image(world, world.buyer, fingerprint=NEAR_FP, detail=details()["far"])
        world.registry(world.producer).challenge(original, other)
        pair = {"original": str(original), "duplicate": str(other)}

        def drive(port: int) -> dict:
            accused = Steps(node, _REVIEW, port, chain, tmp_path)
            small = accused(world.buyer, "small", **pair)
            committee.enroll(5)
            done = accused(world.buyer, "review", **pair)
            return {"small": small["small"], **done}

        out = serve_and_drive(serve_env(tmp_path, world.deployment), tmp_path, drive)
        print(out)
        small = out["small"]
        assert (small["status"], small["code"]) == (409, "CommitteeTooSmall"), small
        client = committee.committee()
        review = out["review"]
        assert int(review["fee"]) == client.params().review_fee
        assert "jurors" not in review  # the request draws nobody
        got = client.review(bytes.fromhex(review["key"][2:]))
        assert got.requester == world.buyer.address
        assert got.draw_block == int(review["drawBlock"])
        again = out["again"]
        assert (again["status"], again["code"]) == (409, "CommitteeReviewExists"), again
        early = out["early"]
        assert (early["status"], early["code"]) == (409, "CommitteeDrawTooEarly"), early
        drawn = out["drawn"]
        assert drawn["outcome"] == "drawn" and len(drawn["jurors"]) == 5, drawn
        assert set(drawn["jurors"]) <= {j.address for j in jurors}
        got = client.review(bytes.fromhex(review["key"][2:]))
        assert got.jurors == tuple(drawn["jurors"])
        assert got.reveal_deadline == int(drawn["revealDeadline"])
        state = world.registry(world.buyer).dispute(original, other).state
        assert state is DisputeState.CONTESTED
