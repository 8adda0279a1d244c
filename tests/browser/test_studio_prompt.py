"""The studio's prompt stays the producer's until its fee is locked (issue 11): the ESP's view of
the task the page posted carries only the commitment the SDK checked; a prompt changed after the
quote (what an API releasing another prompt would do) is refused by the ESP's worker, and the
page says so, with nothing delivered and no fee claimed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger import LockStatus, LockTerms
from marketplace_api.models import Task
from services.generation import prompt_commitment
from tests.browser.test_studio import _worker
from tests.browser.wallet import NodeBackedWallet
from tests.contracts.helpers import register_esp

PROMPT = "a lighthouse at dusk"


def _until(page, site, worker, selector: str, rounds: int = 300) -> None:
    """The ESP worker and the indexer take their steps until ``selector`` shows on the page."""
    for _ in range(rounds):
        if page.locator(selector).count():
            return
        worker.step()
        site.api.index()
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} never showed")


def _posted(site, browser, tmp_path):
    """The producer's studio page (a node-backed wallet) has posted a task for ``PROMPT`` to the
    registered ESP; returns (page, the ESP's worker)."""
    world = site.api.world
    register_esp(world)
    worker = _worker(site, tmp_path)
    wallet = NodeBackedWallet(world.producer, world.chain)
    page = browser.new_context().new_page()
    wallet.install(page)
    page.goto(site.url + "/#/studio")
    page.click("#connect")
    page.wait_for_selector("form.studio")
    page.fill("textarea[name=prompt]", PROMPT)
    page.click("#generate")
    return page, worker


@pytest.mark.browser
def test_the_esp_refuses_a_prompt_changed_after_its_quote(site, browser, tmp_path):
    page, worker = _posted(site, browser, tmp_path)
    _until(page, site, worker, "#pay")
    task_id = page.get_attribute("ol.steps", "data-task")

    seen = worker.client.get(f"/v1/tasks/{task_id}")  # the ESP's view of the page's task
    assert seen["prompt"] is None and seen["prompt_salt"] is None
    with site.api.client.app.state.sessions() as session:
        row = session.scalar(select(Task).where(Task.id == task_id))
        salt = bytes.fromhex(row.prompt_salt[2:])
        assert seen["prompt_commitment"] == "0x" + prompt_commitment(PROMPT, salt).hex()
        row.prompt = "a photograph of a stranger's face"  # changed after the quote
        session.commit()

    page.click("#pay")
    _until(page, site, worker, "p[data-refusal]")
    assert page.get_attribute("p[data-refusal]", "data-refusal") == "prompt_mismatch"
    assert "refunds after its deadline" in page.inner_text("p[data-refusal]")
    task = worker.client.get(f"/v1/tasks/{task_id}")
    assert task["status"] == "locked" and task["delivery"] is None
    assert worker.htlc.status(LockTerms.from_json(task["lock"])) is LockStatus.OPEN


@pytest.mark.browser
def test_a_task_refused_before_payment_says_nothing_was_paid(site, browser, tmp_path):
    """An ESP may refuse a posted task (one it cannot quote): the page told the producer "your
    fee lock refunds after its deadline" although it never paid."""
    page, worker = _posted(site, browser, tmp_path)
    page.wait_for_selector("ol.steps[data-task]")
    task_id = page.get_attribute("ol.steps", "data-task")
    worker.client.post(
        f"/v1/tasks/{task_id}/refusal", json={"code": "busy", "message": "no capacity today"}
    )
    page.wait_for_selector("p[data-refusal]", timeout=30_000)
    text = page.inner_text("p[data-refusal]")
    assert "Nothing was paid" in text and "refunds" not in text
