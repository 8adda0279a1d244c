"""Accounts: the well-known dev accounts of local chains, and encrypted keystores for real ones.

Local chains (embedded and anvil) fund the same ten accounts, derived from the public test
mnemonic at ``m/44'/60'/0'/0/i`` (anvil's defaults), so scripts behave the same on both. These
keys are public knowledge: never send real funds to them. Real networks use keystore files (the
standard Web3 Secret Storage format, scrypt-encrypted) under ``<data dir>/keystore/``.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.errors import AccountError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_HD_BASE = "m/44'/60'/0'/0"
DEV_ACCOUNT_COUNT = 10

Account.enable_unaudited_hdwallet_features()


def dev_accounts(count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The funded dev accounts of the local chains (public keys: tests and demos only)."""
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"{DEV_HD_BASE}/{i}") for i in range(count)
    ]


def new_keystore(directory: Path, password: str) -> tuple[str, Path]:
    """Creates a fresh random account encrypted with ``password``; returns (address, file)."""
    if len(password) < 8:
        raise AccountError("password: use at least 8 characters")
    acct = Account.create(secrets.token_hex(32))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{acct.address}.json"
    path.write_text(json.dumps(Account.encrypt(acct.key, password)))
    path.chmod(0o600)
    return acct.address, path


def list_keystores(directory: Path) -> list[tuple[str, Path]]:  # address, file
    """(address, file) of every keystore in ``directory``."""
    if not directory.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            address = json.loads(path.read_text())["address"]
        except (ValueError, KeyError):
            continue
        found.append(
            (to_checksum_address(address if address.startswith("0x") else "0x" + address), path)
        )
    return found


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypts the keystore at ``path``."""
    not_keystore = f"{path.name} is not an encrypted keystore (version 3 JSON)"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise AccountError(f"keystore not found: {path}") from None
    except (ValueError, OSError):  # not JSON (or not text): eth-account's KeyError 'version' later
        raise AccountError(not_keystore) from None
    if not isinstance(data, dict) or not ({"crypto", "Crypto"} & data.keys()):
        raise AccountError(not_keystore)
    try:
        key = Account.decrypt(data, password)
    except (KeyError, TypeError, AttributeError):
        raise AccountError(not_keystore) from None
    except ValueError as exc:
        raise AccountError(f"cannot unlock {path.name}: {exc}") from None
    account: LocalAccount = Account.from_key(key)
    return account
