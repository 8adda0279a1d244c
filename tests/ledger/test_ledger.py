"""The ledger layer: revert decoding, accounts and keystores, manifests, configuration."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode

from ledger import DeployParams, EmbeddedChain, deploy, errors, load_manifest, revert
from ledger.accounts import dev_accounts, list_keystores, load_keystore, new_keystore
from ledger.config import LedgerSettings
from ledger.connect import connect, connect_deployment
from ledger.errors import AccountError, ChainError, DeploymentError


def test_custom_errors_decode_with_their_fields():
    data = bytes.fromhex(errors.LockExpired.selector) + encode(
        ["bytes32", "uint64"], [b"\x07" * 32, 99]
    )
    exc = revert.decode(data)
    assert isinstance(exc, errors.LockExpired) and isinstance(exc, errors.ContractRevert)
    assert exc.fields == {"id": b"\x07" * 32, "expiredAt": 99} and exc.expiredAt == 99
    assert "LockExpired(" in str(exc)


def test_selectors_are_the_solidity_ones():
    # keccak256("LockExpired(bytes32,uint64)")[:4], computed independently of the ABI walk
    from eth_utils import keccak

    assert errors.LockExpired.selector == keccak(text="LockExpired(bytes32,uint64)")[:4].hex()
    assert errors.LockNotOpen.selector == keccak(text="LockNotOpen(bytes32,uint8)")[:4].hex()


def test_unknown_and_reason_reverts():
    assert revert.decode(b"\xde\xad\xbe\xef") is None
    assert revert.decode(None) is None
    reason = revert.decode(bytes.fromhex("08c379a0") + encode(["string"], ["no ether"]))
    assert reason is not None and reason.fields["reason"] == "no ether"
    with pytest.raises(AttributeError):
        errors.NoSuchError  # noqa: B018


def test_dev_accounts_are_anvils():
    assert dev_accounts(1)[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_keystore_roundtrip_and_errors(tmp_path):
    address, path = new_keystore(tmp_path, "correct horse")
    assert path.stat().st_mode & 0o777 == 0o600
    assert list_keystores(tmp_path) == [(address, path)]
    assert load_keystore(path, "correct horse").address == address
    with pytest.raises(AccountError, match="cannot unlock"):
        load_keystore(path, "wrong password")
    with pytest.raises(AccountError, match="at least 8"):
        new_keystore(tmp_path, "short")
    with pytest.raises(AccountError, match="not found"):
        load_keystore(tmp_path / "missing.json", "x" * 8)
    for not_a_keystore in ('{"address": "00"}', "[1, 2]", '"text"', "not json"):
        other = tmp_path / "other.json"
        other.write_text(not_a_keystore)
        with pytest.raises(AccountError, match="not an encrypted keystore"):
            load_keystore(other, "x" * 8)
    assert "private" not in path.read_text().lower() or "ciphertext" in path.read_text()


def test_manifest_roundtrip_and_mismatch(tmp_path, embedded_chain):
    dep = deploy(embedded_chain, embedded_chain.dev_accounts()[0], DeployParams())
    path = tmp_path / "m.json"
    dep.manifest.save(path)
    loaded = load_manifest(path, embedded_chain)
    assert loaded.manifest.address("Registry") == dep.manifest.address("Registry")
    saved = json.loads(path.read_text())
    assert saved["chain_id"] == embedded_chain.chain_id and len(saved["contracts"]) == 8
    assert all(len(c["artifactSha256"]) == 64 for c in saved["contracts"].values())
    with pytest.raises(DeploymentError, match="is for chain"):
        load_manifest(path, _OtherChain(embedded_chain))
    with pytest.raises(DeploymentError, match="no deployment manifest"):
        load_manifest(tmp_path / "nope.json", embedded_chain)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DeploymentError, match="malformed"):
        load_manifest(tmp_path / "bad.json", embedded_chain)


def test_manifest_on_a_reset_chain_is_refused(tmp_path):
    first = EmbeddedChain()
    dep = deploy(first, first.dev_accounts()[0])
    path = tmp_path / "m.json"
    dep.manifest.save(path)
    fresh = EmbeddedChain()  # same chain id, empty state: like a devnet whose state was lost
    with pytest.raises(DeploymentError, match="no code"):
        load_manifest(path, fresh)


def test_connect_rules():
    assert connect(LedgerSettings(chain="embedded")).kind == "embedded"
    with pytest.raises(ChainError, match="needs AIGC_RPC_URL"):
        connect(LedgerSettings(chain="rpc"))
    with pytest.raises(ChainError, match="no EVM node"):
        connect(LedgerSettings(chain="rpc", rpc_url="http://127.0.0.1:9"))
    with pytest.raises(ChainError, match="ephemeral"):
        connect_deployment(LedgerSettings(chain="embedded"))


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGC_CHAIN", "rpc")
    monkeypatch.setenv("AIGC_RPC_URL", "http://node:8545")
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path))
    s = LedgerSettings()
    assert s.chain == "rpc" and s.rpc_url == "http://node:8545"
    assert s.manifest_path(5) == tmp_path / "deployments" / "5.json"
    assert s.keystores == tmp_path / "keystore"


class _OtherChain:
    """A chain stand-in reporting a different chain id (only ``chain_id`` is read first)."""

    def __init__(self, real):
        self.w3 = real.w3
        self.chain_id = real.chain_id + 1


def test_a_win_is_held_longer_than_a_challenge_of_the_winner_takes():
    """A squatter's win is reversed when its own token is revoked as a copy before the win
    settles (issue 11). The copy's challenge needs a dispute window to finalize, so a hold of
    only one window let the squatter settle first whenever its token was challenged after its
    win was decided; the default holds two windows, two blocks and a committee review (its
    phases + 3: the challenge's accused may contest with one, red team 7)."""
    p = DeployParams()
    review = p.review_commit_blocks + p.review_reveal_blocks + 3
    assert p.reward_hold_blocks >= 2 * p.dispute_window_blocks + 2 + review
    assert p.reward_hold_blocks == 108_005
