"""BatchRegistry (issue 16): a batch registers in one commit and one reveal, and each item is an
ERC-721 token of its own (owner, URI, royalty, transfer, approvals, ERC-165);
a 1,000-image batch on anvil; the contract's leaves and commitment equal ``ledger.merkle``'s."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import to_checksum_address

from ledger import errors, load_manifest
from ledger.clients.batch_registry import BatchRegistryClient
from ledger.clients.registry import TokenStatus
from ledger.errors import DeploymentError
from ledger.merkle import (
    batch_commitment,
    fingerprint_leaf,
    item_leaf,
    merkle_root,
    split_token_id,
    token_id,
)
from tests.contracts.batch_kit import client, register_batch, tid
from tests.contracts.helpers import past_reclaim, register_esp

PRICE = 10**18


def test_views_equal_ledger_merkle(embedded_world):
    """The contract's leaves, commitment and id split are ``ledger.merkle``'s (golden values)."""
    c = client(embedded_world, embedded_world.producer).contract.functions
    fp, detail_hash = bytes(range(32)), bytes(range(1, 33))
    assert bytes(c.fingerprintLeaf(0, fp).call()) == fingerprint_leaf(0, fp)
    assert bytes(c.itemLeaf(3, fp, detail_hash, 42).call()) == item_leaf(3, fp, detail_hash, 42)
    owner = "0x" + "ab" * 20
    expected = batch_commitment(
        items_root=b"\x01" * 32,
        fingerprints_hash=bytes(32),
        count=3,
        owner=owner,
        salt=b"\x07" * 32,
    )
    onchain = c.commitmentFor(b"\x01" * 32, bytes(32), 3, to_checksum_address(owner), b"\x07" * 32)
    assert bytes(onchain.call()) == expected
    assert c.batchIdOf(token_id(7, 5)).call() == 7
    assert c.name().call() == "AIGC Batch Images" and c.symbol().call() == "AIGCB"


@pytest.mark.parametrize("n", [1, 3, 100])
def test_batch_registers_every_item_as_a_token(world, n):
    """N images, one commit and one reveal: one ConsecutiveTransfer; every token answers
    ownerOf, tokenURI and royaltyInfo; the balance is N; one token moves alone."""
    register_esp(world)
    producer = world.producer
    batch_id, p = register_batch(world, producer, n=n, esp=world.esp)
    br = client(world, producer)
    (ct,) = br.contract.events.ConsecutiveTransfer().get_logs(
        from_block=world.deployment.manifest.block,
        argument_filters={"fromTokenId": tid(batch_id, 0)},
    )
    assert ct["args"]["fromTokenId"] == tid(batch_id, 0)
    assert ct["args"]["toTokenId"] == tid(batch_id, n - 1)
    assert ct["args"]["toAddress"] == producer.address
    event = br.registered(batch_id)
    assert [bytes(f) for f in event["fingerprints"]] == p.fingerprints
    assert bytes(event["fpRoot"]) == merkle_root(p.fp_leaves) == p.fp_root
    record = br.batch(batch_id)
    assert (record.owner, record.esp, record.count) == (producer.address, world.esp.address, n)
    assert record.items_root == p.items_root and record.fp_root == p.fp_root
    base = world.params.base_uri
    bps = world.params.royalty_bps
    for i in range(n):
        t = tid(batch_id, i)
        assert split_token_id(t) == (batch_id, i)
        assert br.owner_of(t) == producer.address
        assert br.token_uri(t) == f"{base}{t}"
        assert br.royalty_info(t, PRICE) == (producer.address, PRICE * bps // 10_000)
        assert br.status(t) is TokenStatus.ACTIVE
    assert br.balance_of(producer.address) == n
    assert br.status(tid(batch_id, n)) is TokenStatus.NONE
    with pytest.raises(errors.ERC721NonexistentToken):
        br.owner_of(tid(batch_id, n))
    moved = tid(batch_id, n - 1)
    # Held as a single is (RegistryTokenReclaimable): no move within registrationWindow +
    # commitTtl blocks of the reveal, while an earlier payer of its ESP may still register the
    # image and the court's duplicate ruling would revoke the item from its holder.
    until = record.reveal_block + world.params.registration_window_blocks
    until += world.params.commit_ttl_blocks
    world.chain.mine(until - 1 - world.chain.w3.eth.block_number)  # the move lands at `until`
    with pytest.raises(errors.BatchTokenReclaimable) as held:
        br.transfer(world.buyer.address, moved)
    assert (held.value.tokenId, held.value.untilBlock) == (moved, until)
    world.chain.mine(1)
    br.transfer(world.buyer.address, moved)  # after until
    assert br.owner_of(moved) == world.buyer.address
    assert br.balance_of(producer.address) == n - 1 and br.balance_of(world.buyer.address) == 1
    assert br.royalty_info(moved, PRICE)[0] == producer.address  # the producer keeps its royalty
    if n > 1:
        assert br.owner_of(tid(batch_id, 0)) == producer.address


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)
def test_thousand_image_batch_on_anvil(world):
    """Issue 16's done-when: a 1,000-image batch registers on anvil and every token answers
    ownerOf, tokenURI and royaltyInfo."""
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=1000, esp=world.esp, seed=1)
    br = client(world, world.producer)
    base, bps = world.params.base_uri, world.params.royalty_bps
    fns = br.contract.functions
    for i in range(1000):
        t = tid(batch_id, i)
        assert fns.ownerOf(t).call() == world.producer.address
        assert fns.tokenURI(t).call() == f"{base}{t}"
        assert fns.royaltyInfo(t, PRICE).call() == [world.producer.address, PRICE * bps // 10_000]
    assert br.balance_of(world.producer.address) == 1000
    with pytest.raises(errors.ERC721NonexistentToken):
        br.owner_of(tid(batch_id, 1000))


def test_approvals_and_safe_transfer(world):
    """ERC-721 approvals move a batch token; safeTransferFrom refuses a contract that is no
    receiver; ERC-165 reports ERC-721, metadata, ERC-2981 and ERC-4906."""
    register_esp(world)
    batch_id, _ = register_batch(world, world.producer, n=3, esp=world.esp)
    br, buyer = client(world, world.producer), client(world, world.buyer)
    t0, t1 = tid(batch_id, 0), tid(batch_id, 1)
    past_reclaim(world)  # a fresh item does not move (BatchTokenReclaimable)
    with pytest.raises(errors.ERC721InsufficientApproval):
        buyer._send(buyer.transfer_call(world.producer.address, world.buyer.address, t0))
    br._send(br.contract.functions.approve(world.buyer.address, t0))
    assert br.contract.functions.getApproved(t0).call() == world.buyer.address
    buyer._send(buyer.transfer_call(world.producer.address, world.buyer.address, t0))
    assert br.owner_of(t0) == world.buyer.address
    assert int(br.contract.functions.getApproved(t0).call(), 16) == 0  # cleared by the move
    br._send(br.contract.functions.setApprovalForAll(world.buyer.address, True))
    buyer._send(buyer.transfer_call(world.producer.address, world.buyer.address, t1))
    assert br.balance_of(world.buyer.address) == 2
    not_a_receiver = world.deployment.registry.address
    with pytest.raises(errors.ERC721InvalidReceiver):
        br._send(
            br.contract.functions.safeTransferFrom(
                world.producer.address, not_a_receiver, tid(batch_id, 2)
            )
        )
    for iid in ("0x01ffc9a7", "0x80ac58cd", "0x5b5e139f", "0x2a55205a", "0x49064906"):
        assert br.contract.functions.supportsInterface(bytes.fromhex(iid[2:])).call()
    assert not br.contract.functions.supportsInterface(b"\xff\xff\xff\xff").call()


def test_manifest_from_before_batches_still_loads(tmp_path, embedded_world):
    """A manifest saved before the BatchRegistry existed loads; asking it for the BatchRegistry
    says to redeploy."""
    manifest = embedded_world.deployment.manifest
    contracts = {k: v for k, v in manifest.contracts.items() if k != "BatchRegistry"}
    path = tmp_path / "old.json"
    replace(manifest, contracts=contracts).save(path)
    old = load_manifest(path, embedded_world.chain)
    assert old.registry.address == embedded_world.deployment.registry.address
    with pytest.raises(DeploymentError, match="redeploy"):
        old.batch_registry  # noqa: B018
    with pytest.raises(DeploymentError, match="redeploy"):
        BatchRegistryClient(old)
