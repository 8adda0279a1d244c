"""Red team 3: Sybils cannot badmouth an honest ESP with refunds of tasks it had to decline.

EspRegistry counts a refunded lock as negative evidence only when the ESP acknowledged it (a
signed quote), so unsolicited locks move nothing (docs/reputation.md). But the ESP worker quotes
every posted task before it may read the prompt, and it declined to attest an image it had
already attested to another payer (``_attested_to_another``): with a deterministic model one
prompt and one requested seed make one image. So a Sybil that asked for the very prompt and seed
of an earlier delivered task (its own first Sybil's) was declined; its lock refunded at the
deadline and anyone's ``recordRefund`` made that a negative record against the honest ESP, for
the gas alone (the fee comes back). Each further Sybil added one.

Measured before the fix (this file's scene, the worker still declining the three Sybils, then
their refunds recorded): one fee of 0.001 ETH and three refunds moved the ESP's on-chain
reputation (``ReputationView``) from 0.667 to 0.354 in a newcomer's view and to 0.400 in the view
of its one honest customer. The API's hardened ranking did not move (0.667: a recommender with
no paid interaction at another ESP weighs nothing there), but one paid interaction each at an
ESP of the attacker's own (its fee comes back) gives them full weight. Now a payer whose image
would be another payer's is served the image of a seed keyed by its address too
(``EspWorker.generation_seed``): two payers never get one image, so each Sybil is served its
own (its fee goes to the ESP) and there is no refund to record; the first payer's image is
unchanged. The decline stays as the backstop for a model whose bytes do not follow the seed.
"""

from __future__ import annotations

from ledger import EspRegistryClient, HtlcClient, LockStatus, LockTerms, RegistryClient
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.reputation.onchain import OnChainReputation
from tests.api.test_generation_flow import PRICE, _claimed, _fp, _worker
from tests.contracts.helpers import register_esp


def _session(api, account) -> ProducerSession:
    world = api.world
    client = MarketClient(api.client, account)
    client.sign_in()
    return ProducerSession(
        client,
        HtlcClient(world.deployment, world.tx(account)),
        RegistryClient(world.deployment, world.tx(account)),
        EspRegistryClient(world.deployment, world.tx(account)),
        fingerprint=_fp,
    )


def _reputation(api) -> float:
    """The ESP's on-chain reputation in the view of a producer that never dealt with it."""
    world = api.world
    view = OnChainReputation(world.deployment.reputation_view)
    return view.reputation(world.accounts[8].address, world.esp.address)


def test_sybils_asking_for_a_delivered_prompt_and_seed_leave_no_refund_to_badmouth_with(
    api, tmp_path
):
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    esp_client.sign_in()
    worker = _worker(world, esp_client, world.esp, tmp_path / "esp-state.json")
    honest = _session(api, world.producer)
    _, done = _claimed(api, worker, honest, "an honest customer's task", seed=1)
    honest.feedback(done, positive=True)
    before = _reputation(api)  # 0.667

    prompt, seed = "the Sybils' prompt", 42
    first = _session(api, world.attacker)
    _, served = _claimed(api, worker, first, prompt, seed=seed)  # one fee, to the ESP
    assert served["status"] == "claimed"
    sybils = [_session(api, world.accounts[i]) for i in (5, 7, 9)]
    locks: list[tuple[ProducerSession, LockTerms, str]] = []
    for sybil in sybils:
        task = sybil.post(prompt, seed=seed, max_price=PRICE, esp=world.esp.address)
        worker.step()
        locks.append((sybil, sybil.lock_fee(sybil.task(task["id"])), task["id"]))
    api.index()
    actions = worker.step()
    # failed before: ['declined 0x...', 'declined 0x...', 'declined 0x...']
    assert actions == [f"delivered {task_id[:10]}" for _, _, task_id in locks]
    worker.step()  # claims: each Sybil paid for an image of its own
    api.index()
    images = {served["delivery"]["content_hash"]}
    for sybil, _, task_id in locks:
        task = sybil.task(task_id)
        assert task["status"] == "claimed"
        images.add(task["delivery"]["content_hash"])
    assert len(images) == 1 + len(sybils)  # never one image for two payers

    # before, each lock was left to refund after the deadline (a negative record each)
    world.chain.increase_time(3600 + 60)
    world.chain.mine(1)
    for sybil, lock, _ in locks:
        assert sybil.htlc.status(lock) is LockStatus.WITHDRAWN  # paid: nothing to refund
    assert _reputation(api) == before  # 0.354 before
