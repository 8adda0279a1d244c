"""Stage 3 run by staked ESPs, end to end on the embedded chain (docs/committee-jurors.md).

The attack: a squatter's early drawing and a later, unrelated drawing of the producer (two
semaphore signallers, arms at 0/30 and 180/30 degrees) that stages 1 and 2 both uphold: the
compact fingerprints are admissible and the detail rule matches. Contested on the detail rule the
producer loses its token, and uncontested too. With the committee, the producer's defender asks
for a review, draws its jurors once the draw block has passed, then contests; five ESP workers
enrolled as jurors learn their seats from ``ReviewDrawn``, fetch both images from the API, run
stage 3, commit and reveal "no"; ``resolve`` then rejects the challenge and the producer keeps its
token. Where nobody else draws, a juror does (and again after the draw block's hash aged out).
A true copy is still revoked: its owner's defender concedes, and when the copier asks for a
review anyway the jurors vote "yes".
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient
from PIL import Image

from ledger import TokenStatus, errors
from ledger.clients.committee import review_key
from ledger.clients.registry import DisputeState, RegistryClient
from ledger.errors import LedgerError
from marketplace_api.config import ApiSettings
from marketplace_api.main import create_app
from services.content import plagiarise
from services.esp_worker import EspWorker
from services.market_client import MarketClient
from services.provenance import MATCH_THRESHOLD, detail_descriptor, detail_matches, fingerprint
from services.provenance.defender import ApiAccusations, Defender, Plan
from services.provenance.juror import ApiImages
from services.provenance.jury import JurorDuty
from tests.api.conftest import Api
from tests.api.test_watch_order import _register
from tests.contracts.committee_kit import CommitteeWorld, committee_world
from tests.contracts.helpers import copier_esp, paid_lock, register_esp
from tests.services.provenance.test_stage3 import _page, _semaphore


@pytest.fixture
def committee(embedded_chain) -> CommitteeWorld:
    yield from committee_world(embedded_chain)


def committee_api(committee: CommitteeWorld, tmp_path: Path, database_url: str) -> Iterator[Api]:
    """The API over the committee's deployment (phases of a few blocks): the ``api`` fixture of
    the committee tests."""
    settings = ApiSettings(
        database_url=database_url,
        blob_dir=tmp_path / "blobs",
        rate_nonce_per_minute=1000,
        indexer_interval_s=0,
        follow_interval_s=0,  # no follower thread on the embedded chain (tests/api/conftest.py)
    )
    app = create_app(settings, committee.world.deployment)
    with TestClient(app) as client:
        yield Api(client, committee.world)
    app.state.engine.dispose()


@pytest.fixture
def api(committee, tmp_path, api_database_url) -> Iterator[Api]:
    yield from committee_api(committee, tmp_path, api_database_url)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _publish(api: Api, owner, token: int, image: Image.Image) -> None:
    """The owner attaches its image to its product (the API checks it against the record)."""
    r = api.client.put(
        f"/v1/products/{token}/image",
        files={"image": ("image.png", _png(image), "image/png")},
        headers=api.sign_in(owner),
    )
    assert r.status_code == 200, r.text


def _pair(api: Api, earlier: Image.Image, later: Image.Image, *, copy: bool) -> tuple[int, int]:
    """``earlier`` registered first, ``later`` after it through another ESP, both published.
    A squat (``copy=False``): the attacker holds the earlier drawing, the producer the later.
    A copy: the producer holds the original, the attacker the copy."""
    world = api.world
    register_esp(world)
    first, second = (world.producer, world.attacker) if copy else (world.attacker, world.producer)
    esp_of = {world.producer.address: world.esp, world.attacker.address: copier_esp(world)}
    tokens = []
    for owner, image in ((first, earlier), (second, later)):
        esp = esp_of[owner.address]
        tokens.append(_register(world, owner, image, paid_lock(world, owner, esp), esp=esp))
    api.index()
    for owner, image, token in zip((first, second), (earlier, later), tokens, strict=True):
        _publish(api, owner, token, image)
    return tokens[0], tokens[1]


def _defender(api: Api, account, state: Path) -> Defender:
    world = api.world
    market = MarketClient(api.client, account)
    return Defender(
        RegistryClient(world.deployment, world.tx(account)),
        ApiAccusations(market),
        state_path=state,
        images=ApiImages(market),
    )


def _juror_workers(api: Api, committee: CommitteeWorld, tmp_path: Path) -> list[EspWorker]:
    """Five ESP workers enrolled as jurors (no paid work queued: their rounds serve reviews)."""
    world = api.world
    workers = []
    for juror in committee.enroll(5):
        market = MarketClient(api.client, juror)
        duty = JurorDuty(
            world.deployment,
            world.tx(juror),
            ApiImages(market),
            state_path=tmp_path / f"{juror.address}.juror.json",
        )
        workers.append(
            EspWorker(
                market,
                world.htlc(juror),
                make_image=lambda prompt, seed: pytest.fail("no generation expected"),
                fingerprint=lambda image: fingerprint(image).to_bytes32(),
                state_path=tmp_path / f"{juror.address}.json",
                price=10**15,
                juror=duty,
            )
        )
    return workers


def _rounds(workers: list[EspWorker]) -> list[str]:
    return [line for worker in workers for line in worker.step()]


def _past(workers: list[EspWorker], phase: str) -> None:
    """Mines to the last block of the review's ``phase`` ("commit" or "reveal"), as the first
    juror recorded it from ``ReviewDrawn``: the next transaction is mined after it."""
    duty = workers[0].juror
    assert duty is not None
    (review,) = duty.reviews.values()
    chain = duty.deployment.chain
    chain.mine(max(0, int(review[f"{phase}_deadline"]) - int(chain.w3.eth.block_number)))


def _look_alikes() -> tuple[Image.Image, Image.Image]:
    a, b = _semaphore(0, 30), _semaphore(180, 30)
    assert fingerprint(a).distance(fingerprint(b)) <= MATCH_THRESHOLD  # stage 1 admits it
    assert detail_matches(detail_descriptor(a), detail_descriptor(b))  # stage 2 upholds it
    return a, b


def test_without_jurors_a_squatter_revokes_an_unrelated_drawing(api, committee, tmp_path):
    """The attack as it stands without a committee review: nobody is enrolled, so the review
    cannot be had (CommitteeTooSmall), a contest on the detail rule would lose, the defender does
    not contest, and the window ends with the producer's unrelated drawing revoked."""
    world = api.world
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    squatter = world.registry(world.attacker)
    squatter.challenge(squat, victim)
    api.index()
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    log = defender.step()
    assert any("too few free jurors" in line for line in log), log
    assert defender.state.disputes and all(
        d["plan"] == Plan.NO_JURY.value for d in defender.state.disputes.values()
    )
    world.chain.mine(world.params.dispute_window_blocks + 1)
    assert squatter.finalize(squat, victim)
    assert squatter.record(victim).status is TokenStatus.REVOKED


def test_jurors_keep_an_unrelated_drawing_that_stages_1_and_2_uphold(api, committee, tmp_path):
    world = api.world
    workers = _juror_workers(api, committee, tmp_path)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    squatter = world.registry(world.attacker)
    deposit = squatter.params().challenge_deposit
    squatter.challenge(squat, victim)
    api.index()

    defender = _defender(api, world.producer, tmp_path / "defend.json")
    log = defender.step()
    assert any("committee review requested" in line for line in log), log
    assert any("drawn after the next block" in line for line in log), log
    assert squatter.dispute(squat, victim).state is DisputeState.OPEN  # not before the draw
    assert _rounds(workers) == []  # nobody is drawn yet, and the draw block has not passed
    world.chain.mine(1)  # the draw block: its hash was unknown to the defender when it asked
    log = defender.step()
    assert any("the committee's jurors are drawn" in line for line in log), log
    assert any("stage 3 rejects the pair" in line for line in log), log
    assert squatter.dispute(squat, victim).state is DisputeState.CONTESTED
    # the review came first: the squatter cannot resolve on the bare detail rule in between
    with pytest.raises(LedgerError, match="CommitteeReviewPending"):
        squatter.resolve(squat, victim)
    assert any("the committee reviews it until block" in line for line in log), log

    committed = _rounds(workers)
    assert len([line for line in committed if "committed (no: stage 3 rejects" in line]) == 5
    _past(workers, "commit")
    revealed = _rounds(workers)
    assert len([line for line in revealed if "revealed no" in line]) == 5, revealed
    before = world.balance(world.producer.address)
    assert defender.step() == []  # the reveal phase is not over: still waiting, said once
    _past(workers, "reveal")

    log = defender.step()
    assert any("decided: rejected, the token stays" in line for line in log), log
    assert squatter.record(victim).status is TokenStatus.ACTIVE
    assert world.balance(world.producer.address) > before + deposit  # both deposits, less gas
    settled = _rounds(workers)
    assert sum("settled" in line for line in settled) == 5 and any("claimed" in s for s in settled)


def test_a_true_copy_is_still_revoked(api, committee, tmp_path):
    world = api.world
    workers = _juror_workers(api, committee, tmp_path)
    original_image = _page("disc")
    original, copy = _pair(api, original_image, plagiarise(original_image), copy=True)
    producer = world.registry(world.producer)
    producer.challenge(original, copy)
    api.index()
    # the copier's own defender predicts a "yes" from the jurors: it concedes, pays nothing
    log = _defender(api, world.attacker, tmp_path / "copier.json").step()
    assert any("not contested" in line for line in log), log
    # a copier that asks for a review and contests anyway, and leaves the draw to the jurors:
    # the first juror past the draw block draws, the others learn their seats from ReviewDrawn
    key = committee.request(original, copy, by=world.attacker, draw=False)
    world.registry(world.attacker).contest(original, copy)  # mined in the draw block
    rounds = _rounds(workers)
    assert sum("drew it: seated" in line for line in rounds) == 1, rounds
    assert len([line for line in rounds if "committed (yes" in line]) == 5, rounds
    _past(workers, "commit")
    assert len([line for line in _rounds(workers) if "revealed yes" in line]) == 5
    committee.past_reveal(key)
    assert producer.resolve(original, copy)
    assert producer.record(copy).status is TokenStatus.REVOKED


def test_a_restarted_juror_reveals_what_it_committed(api, committee, tmp_path):
    """The juror's state file is lost between its commit and its reveal: the salt is derived
    again from its key, and it reveals the vote it committed."""
    world = api.world
    workers = _juror_workers(api, committee, tmp_path)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    defender.step()
    world.chain.mine(1)
    defender.step()  # drawn, contested
    _rounds(workers)
    lost = workers[0].juror
    assert lost is not None
    lost.state_path.unlink()
    workers[0].juror = JurorDuty(world.deployment, lost.tx, lost.images, state_path=lost.state_path)
    _past(workers[1:], "commit")
    assert any("revealed no" in line for line in workers[0].step())


def test_the_api_builds_the_review_request_for_the_accuseds_wallet(api, committee, tmp_path):
    """``POST /v1/tx/review/request``: 409 CommitteeTooSmall while too few jurors are enrolled;
    then the committee call with the fee, which the producer signs and sends before contesting."""
    world = api.world
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    headers = api.sign_in(world.producer)
    body = {"original": str(squat), "duplicate": str(victim)}
    r = api.client.post("/v1/tx/review/request", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CommitteeTooSmall", r.text

    committee.enroll(5)
    r = api.client.post("/v1/tx/review/request", json=body, headers=headers)
    assert r.status_code == 200, r.text
    tx = r.json()
    client = committee.committee()
    assert tx["to"] == client.address and int(tx["value"]) == client.params().review_fee
    _send(world, world.producer, tx)
    registered = world.registry(world.producer).registered
    key = review_key(
        world.registry(world.producer).address,
        squat,
        victim,
        keccak(registered(squat).detail),
        keccak(registered(victim).detail),
    )
    assert client.review(key).requester == world.producer.address
    # the draw: not in the draw block itself, then once (anyone may send it)
    r = api.client.post("/v1/tx/review/draw", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CommitteeDrawTooEarly", r.text
    world.chain.mine(1)
    r = api.client.post("/v1/tx/review/draw", json=body, headers=headers)
    assert r.status_code == 200, r.text
    _send(world, world.producer, r.json())
    assert len(client.review(key).jurors) == client.params().jurors
    r = api.client.post("/v1/tx/review/draw", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CommitteeAlreadyDrawn", r.text
    r = api.client.post("/v1/tx/registry/contest", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert "request its review first" in api.client.get("/openapi.json").text


def _send(world, account, tx: dict) -> None:
    w3 = world.chain.w3
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction(
            {"from": account.address, "to": tx["to"], "data": tx["data"],
             "value": int(tx["value"]), "gas": tx["gas"]}
        )
    )  # fmt: skip


def test_a_review_drawn_by_nobody_is_drawn_by_a_juror_and_again_after_a_rearm(
    api, committee, tmp_path
):
    """The requester never draws: a juror past the draw block does. When nobody drew within 256
    blocks the draw block's hash is gone: the first juror's draw re-arms the review (a new draw
    block), and a later pass draws it."""
    world = api.world
    workers = _juror_workers(api, committee, tmp_path)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    key = committee.request(squat, victim, by=world.producer, draw=False)
    world.chain.mine(300)  # past blockhash's reach
    rounds = _rounds(workers)
    assert any("re-armed: drawn after block" in line for line in rounds), rounds
    client = committee.committee()
    assert client.review(key).jurors == ()
    world.chain.mine(1)
    rounds = _rounds(workers)
    assert sum("drew it: seated" in line for line in rounds) == 1, rounds
    assert len([line for line in rounds if "committed (no" in line]) == 5, rounds
    assert len(client.review(key).jurors) == 5


def test_a_review_cancelled_at_its_draw_leaves_the_pair_to_the_rule(api, committee, tmp_path):
    """Five jurors enrolled when the producer's review is requested; one leaves before the draw,
    which re-arms (the pool changed) and then cancels it (four cannot seat five): the defender
    acts as with too few jurors (stage 3 alone rejects the pair: not contested on the rule it
    would lose by)."""
    world = api.world
    jurors = committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    log = defender.step()
    assert any("committee review requested" in line for line in log), log
    committee.committee(jurors[0]).leave()
    defender.step()  # the draw re-arms: the pool changed after the draw block
    world.chain.mine(1)
    log = defender.step()
    assert any("review was cancelled" in line for line in log), log
    assert all(d["plan"] == Plan.NO_JURY.value for d in defender.state.disputes.values())
    registered = world.registry(world.producer).registered
    key = review_key(
        world.registry(world.producer).address,
        squat,
        victim,
        keccak(registered(squat).detail),
        keccak(registered(victim).detail),
    )
    assert committee.committee().review(key).cancelled
    assert world.registry(world.producer).dispute(squat, victim).state is DisputeState.OPEN


def test_a_review_the_busy_jurors_cannot_draw_yet_waits_and_the_defender_contests(
    api, committee, tmp_path
):
    """Five jurors enrolled, all drawn in another review when the producer's is to be drawn: its
    draw reverts CommitteeTooSmall and the review waits for them (it is not cancelled: a busy
    pool delays a verdict, never hands it to the rule); the defender contests meanwhile (the
    pair's ``resolve`` waits for the review), before the window closes."""
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    other = committee.dispute(1)  # others' dispute (contested: its review may come later)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    defender = _defender(api, world.producer, tmp_path / "defend.json")
    log = defender.step()
    assert any("committee review requested" in line for line in log), log
    committee.request(*other, by=world.buyer)  # drawn past the producer's draw block: all five
    defender.step()  # the producer's draw re-arms (the free jurors changed after its block)
    world.chain.mine(1)
    log = defender.step()
    assert any("jurors are busy: the review waits" in line for line in log), log
    assert any("contested (deposit paid)" in line for line in log), log
    registered = world.registry(world.producer).registered
    key = review_key(
        world.registry(world.producer).address,
        squat,
        victim,
        keccak(registered(squat).detail),
        keccak(registered(victim).detail),
    )
    review = committee.committee().review(key)
    assert not (review.cancelled or review.drawn)
    assert world.registry(world.producer).dispute(squat, victim).state is DisputeState.CONTESTED
    with pytest.raises(errors.CommitteeReviewPending):  # the challenger cannot resolve
        world.registry(world.attacker).resolve(squat, victim)


def test_a_restarted_defender_does_not_request_the_review_twice(api, committee, tmp_path):
    """The review went out, then the defender died before its contest: the next pass finds the
    review on chain and only contests (a second request would revert CommitteeReviewExists)."""
    world = api.world
    committee.enroll(5)
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    committee.request(squat, victim, by=world.producer)  # the first run's request
    log = _defender(api, world.producer, tmp_path / "fresh.json").step()
    assert not any("review requested" in line for line in log), log
    assert any("contested (deposit paid)" in line for line in log), log
    assert world.registry(world.producer).dispute(squat, victim).state is DisputeState.CONTESTED


def test_only_an_enrolled_jurors_duty_draws(api, committee, tmp_path):
    """A duty run by an account that is not enrolled (``aigc esp run --juror`` before
    ``enroll``) leaves the draw to the enrolled: it would pay gas for nothing of its own."""
    world = api.world
    workers = _juror_workers(api, committee, tmp_path)
    outsider = committee.jurors[-1]
    bystander = JurorDuty(
        world.deployment,
        world.tx(outsider),
        ApiImages(MarketClient(api.client, outsider)),
        state_path=tmp_path / "bystander.juror.json",
    )
    squat, victim = _pair(api, *_look_alikes(), copy=False)
    world.registry(world.attacker).challenge(squat, victim)
    api.index()
    key = committee.request(squat, victim, by=world.producer, draw=False)
    world.chain.mine(1)
    assert bystander.step() == []
    assert committee.committee().review(key).jurors == ()
    assert any("drew it: seated" in line for line in workers[0].step())
    assert bystander.step() == []  # it learns the draw from ReviewDrawn: no seat, nothing to do
    assert {r["stage"] for r in bystander.reviews.values()} == {"unseated"}
