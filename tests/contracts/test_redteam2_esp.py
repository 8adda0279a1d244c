"""Red team, round 2 (issue 11): the EspRegistry's acknowledgements (signed quotes) replayed
where the ESP never signed them.

A probe that holds is kept only where the suite lacked it: no test replayed a quote across
chains or across two EspRegistry deployments (the Registry's attestation has such a test,
``test_attacks_registration.py``).

Every test runs on the default chain backend (``world``).
"""

from __future__ import annotations

import pytest

from ledger import errors, new_secret
from ledger.clients.esp_registry import sign_quote
from ledger.deploy import deploy_contract
from tests.conftest import World
from tests.contracts.helpers import (
    ESP_STAKE,
    FEE,
    lock_fee,
    register_esp,
    register_image,
    wait_out_exit_delay,
)

HOUR = 3600


def _second_deployment(world: World):
    """Another HashTimeLock and EspRegistry on the same chain (same parameters), the world's ESP
    registered at both: the deployment a replayed quote would be carried to."""
    p, tx = world.params, world.tx(world.deployer)
    htlc, _ = deploy_contract(
        tx, "HashTimeLock", p.min_lock_duration, p.claim_window_blocks, p.max_token_lock_duration
    )
    esps, _ = deploy_contract(
        tx, "EspRegistry", htlc, p.esp_min_stake, p.esp_unbonding_period, p.esp_slash_amount
    )
    htlc_b = world.contract("HashTimeLock", htlc)
    esps_b = world.contract("EspRegistry", esps)
    world.tx(world.esp).send(esps_b.functions.register("http://esp.example", FEE), value=ESP_STAKE)
    return htlc_b, esps_b


def test_a_quote_is_bound_to_its_chain_and_its_esp_registry(world):
    """The producer holds the ESP's quote for a lock at deployment A; it locks the very same terms
    at deployment B (another HTLC and EspRegistry on this chain) and replays the quote there,
    to hold the ESP's stake at B and count its refund against it there. Refused: the EIP-712
    domain names the EspRegistry (``QuoteInvalidSignature``, the recovered signer is not the
    ESP), as is a quote signed for another chain id; B's own quote is accepted, once."""
    register_esp(world)
    esp, producer = world.esp, world.producer
    htlc_b, esps_b = _second_deployment(world)
    _, hashlock = new_secret()
    timelock = world.chain.timestamp() + HOUR
    lock = world.htlc(producer).lock_ether(
        esp.address, amount=FEE, hashlock=hashlock, timelock=timelock
    )
    quote_a = world.esps(producer).sign_quote(esp, lock)  # what the ESP signed, for A
    world.esps(producer).acknowledge(lock, quote_a)
    # The same terms locked at B: the same lock tuple (the id does not name the HTLC).
    world.tx(producer).send(htlc_b.functions.lockEther(esp.address, hashlock, timelock), value=FEE)
    assert htlc_b.functions.lockInfo(lock.id).call()[0] == 1  # Open at B too
    chain_id = world.chain.chain_id
    other_chain = sign_quote(esp, lock, chain_id=chain_id + 1, esp_registry=esps_b.address)
    for replay in (quote_a, other_chain):
        with pytest.raises(errors.QuoteInvalidSignature) as exc:
            world.tx(producer).send(esps_b.functions.acknowledge(lock.as_tuple(), replay))
        assert exc.value.recovered.lower() != esp.address.lower()
    assert esps_b.functions.openLocks(esp.address).call() == 0
    assert not esps_b.functions.acknowledged(lock.id).call()
    # What B accepts: the ESP's quote under B's own domain, once.
    quote_b = sign_quote(esp, lock, chain_id=chain_id, esp_registry=esps_b.address)
    world.tx(producer).send(esps_b.functions.acknowledge(lock.as_tuple(), quote_b))
    with pytest.raises(errors.QuoteAlreadyAcknowledged):
        world.tx(producer).send(esps_b.functions.acknowledge(lock.as_tuple(), quote_b))
    assert esps_b.functions.openLocks(esp.address).call() == 1
    assert world.esps(producer).open_locks(esp.address) == 1  # A's count is A's alone


def test_once_its_stake_has_left_an_esps_attestation_registers_nothing(world):
    """The other end of ``test_an_esp_that_attests_after_leaving_still_answers_with_its_stake``
    (which stops inside the hold): a fee paid to the ESP in its last active block, claimed, the
    ESP leaves and withdraws its stake after ``exitDelay``. From then on nothing it attests may
    register, or a copy it signs would answer with no stake (an upheld challenge of it slashes
    nothing). Holds today because ``exitDelay`` exceeds the registration window and the commit
    TTL; a change that lets a registration commit after its lock's window (issue 11's late
    delivery, the contract owner's work in progress) must keep it so, and this test says when it
    does not."""
    register_esp(world)
    esp = world.esps(world.esp)
    lock, preimage = lock_fee(world, sender=world.attacker, duration=30 * 24 * HOUR)
    esp.deregister()  # the next block: the lock was paid while it was active
    world.htlc(world.esp).withdraw(lock, preimage)
    world.chain.increase_time(world.params.esp_unbonding_period + 1)
    wait_out_exit_delay(world)
    esp.withdraw_stake()
    assert esp.esp_info(world.esp.address).stake == 0

    with pytest.raises(errors.LedgerError):  # today: RegistryRegistrationTooLate
        register_image(world, world.attacker, lock=lock)
