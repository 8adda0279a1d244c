"""Red team 3 in the studio: the paid generation with real wallets' formats, and a wallet that
moves between the quote and the payment.

The whole studio flow (sign in, post, pay the quoted fee, open the sealed delivery with the
wallet-derived key, register, list) with a wallet that returns v = 0/1 signatures (Ledger and
other hardware wallets' 65-byte form) and one that shares its account EIP-55 checksummed; then a
wallet switched to another network, or to another account, after the quote: the page's SDK
must not ask the wallet to send anything (a real wallet on mainnet would send the lock there).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_studio import _drive, _settle, _worker
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import register_esp

pytestmark = pytest.mark.browser


class FormatWallet(NodeBackedWallet):
    """The test wallet answering in another real wallet's format: ``v01`` (signatures end in
    v = 0/1, not 27/28), ``checksum`` (accounts EIP-55 checksummed, not lower case); ``selected``
    is the account the wallet shows as chosen (a person may pick another mid-flow)."""

    __test__ = False

    def __init__(self, account: Any, chain: Any, fmt: str):
        super().__init__(account, chain)
        self.fmt = fmt
        self.selected: str = account.address

    def _handle(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            chosen = self.selected
            return [chosen if self.fmt == "checksum" else chosen.lower()]
        out = super()._handle(method, params)
        if self.fmt == "v01" and method in ("personal_sign", "eth_signTypedData_v4"):
            v = int(out[-2:], 16)
            assert v in (27, 28), out
            out = out[:-2] + f"{v - 27:02x}"
        return out


def _studio(site: Any, browser: Any, tmp_path: Any, fmt: str) -> tuple[Any, FormatWallet, Any]:
    world = site.api.world
    register_esp(world)
    worker = _worker(site, tmp_path)
    wallet = FormatWallet(world.producer, world.chain, fmt)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/studio")
    page.click("#connect")
    page.wait_for_selector("form.studio, p.error")
    assert page.locator("p.error").count() == 0, page.locator("p.error").first.inner_text()
    page.fill("textarea[name=prompt]", "a heron in the reeds")
    page.click("#generate")
    _drive(page, site, worker, "#pay")
    return page, wallet, worker


@pytest.mark.parametrize("fmt", ["v01", "checksum"])
def test_the_studio_pays_opens_registers_and_lists_with_each_wallet_format(
    site, browser, tmp_path, fmt
):
    page, wallet, worker = _studio(site, browser, tmp_path, fmt)
    page.click("#pay")
    _drive(page, site, worker, "#open")
    page.click("#open")
    _settle(page, wallet, "img.delivered")
    page.click("#register")
    _settle(page, wallet, "p.ok[data-token]")
    page.fill("input[name=price]", "0.01")
    page.click("#list")
    page.wait_for_selector(":text('Listed for 0.01 ETH'), p.error")
    assert page.locator("p.error").count() == 0, page.locator("p.error").first.inner_text()
    assert wallet.calls.count("personal_sign") == 2  # sign-in, the delivery key
    assert wallet.calls.count("eth_signTypedData_v4") == 1  # the offer


def test_a_wallet_switched_to_another_network_after_the_quote_is_asked_to_send_nothing(
    site, browser, tmp_path
):
    """Before, the page's SDK asked the wallet to send the fee lock on whatever network it was
    on (viem checks no chain for an injected wallet's client): the test wallet refused, a real
    one on mainnet would have sent it there."""
    page, wallet, _ = _studio(site, browser, tmp_path, "checksum")
    wallet.chain_id = 1
    page.click("#pay")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "wrong_chain"
    assert "eth_sendTransaction" not in wallet.calls
    assert wallet.sent == []


def test_a_wallet_switched_to_another_account_after_the_quote_is_asked_to_send_nothing(
    site, browser, tmp_path
):
    """Before, the page's SDK sent the lock from the signed-in account although the person had
    picked another one in the wallet (a wallet still connected to the first signs it)."""
    page, wallet, _ = _studio(site, browser, tmp_path, "checksum")
    wallet.selected = site.api.world.buyer.address
    page.click("#pay")
    page.wait_for_selector("p.error")
    assert page.get_attribute("p.error", "data-code") == "account_changed"
    assert "eth_sendTransaction" not in wallet.calls
    assert wallet.sent == []
