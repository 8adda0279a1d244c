"""The ESP learns the prompt only once the fee lock is indexed (issue 11, "an ESP can take its
customer's image").

The Registry lets an earlier registration through another ESP revoke a later one only if its
commit block is before the later one's fee-lock block. That protects the customer only if its
ESP cannot generate the image before the fee lock exists: with the prompt in the posted task, the
ESP could generate at once and hand the image to a Sybil that commits it before the customer
locks. So before the lock the ESP sees a commitment to the prompt (what it quotes on), after it
the prompt and the salt that open the commitment; a prompt that does not open the commitment
the ESP quoted on is refused: nothing generated, nothing delivered, no fee claimed.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from ledger import EspRegistryClient, HtlcClient, LockStatus, LockTerms, RegistryClient
from marketplace_api.models import Task
from services.esp_worker import EspWorker
from services.generation import prompt_commitment
from services.market_client import MarketClient
from services.producer import ProducerSession
from services.provenance import fingerprint
from tests.contracts.helpers import register_esp

PRICE = 10**15
PROMPT = "a lighthouse at dusk, in the style of a woodcut"


def _fp(img):
    return fingerprint(img).to_bytes32()


class Painter:
    """The test's generator: paints from the prompt and seed, and records every prompt asked."""

    def __init__(self):
        self.prompts: list[str] = []

    def __call__(self, prompt: str, seed: int):
        self.prompts.append(prompt)
        rng = np.random.default_rng(seed + len(prompt))
        small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((64, 64), Image.Resampling.BICUBIC)
        return image, {"model_id": "test-painter"}


@pytest.fixture
def parties(api, tmp_path):
    world = api.world
    register_esp(world)
    esp_client = MarketClient(api.client, world.esp)
    producer_client = MarketClient(api.client, world.producer)
    painter = Painter()
    worker = EspWorker(
        esp_client,
        HtlcClient(world.deployment, world.tx(world.esp)),
        make_image=painter,
        fingerprint=_fp,
        state_path=tmp_path / "esp-state.json",
        price=PRICE,
    )
    producer = ProducerSession(
        producer_client,
        HtlcClient(world.deployment, world.tx(world.producer)),
        RegistryClient(world.deployment, world.tx(world.producer)),
        EspRegistryClient(world.deployment, world.tx(world.producer)),
        fingerprint=_fp,
    )
    return worker, producer, painter


def _esp_views(api, task_id: str) -> list[str]:
    """Every answer the ESP can get about its tasks, as raw text."""
    esp = api.sign_in(api.world.esp)
    paths = [
        f"/v1/tasks/{task_id}",
        "/v1/tasks?role=esp",
        "/v1/tasks?role=esp&status=posted",
        "/v1/tasks?role=esp&status=quoted",
        "/v1/tasks?role=esp&status=locked",
        "/v1/tasks?role=producer",
    ]
    out = []
    for path in paths:
        r = api.client.get(path, headers=esp)
        assert r.status_code == 200, r.text
        out.append(r.text)
    with api.client.stream("GET", f"/v1/tasks/{task_id}/events", headers=esp) as r:
        assert r.status_code == 200
        out.append(next(r.iter_text()))  # the first frame: the task as it is now
    return out


def test_the_esp_reads_the_prompt_only_once_the_fee_lock_is_indexed(api, parties):
    worker, producer, painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    assert task["prompt"] == PROMPT  # the producer sees its own prompt all along
    assert all(PROMPT not in text for text in _esp_views(api, task["id"]))
    esp_view = worker.client.get(f"/v1/tasks/{task['id']}")
    assert esp_view["prompt"] is None and esp_view["prompt_salt"] is None
    assert esp_view["prompt_commitment"] == task["prompt_commitment"]  # what it quotes on
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    assert all(PROMPT not in text for text in _esp_views(api, task["id"]))
    quoted = producer.task(task["id"])
    assert quoted["prompt"] == PROMPT and quoted["status"] == "quoted"
    lock = producer.lock_fee(quoted)
    # On chain, but not yet indexed: the producer's word (or the chain's mempool) is not enough.
    assert all(PROMPT not in text for text in _esp_views(api, task["id"]))
    assert worker.step() == [] and painter.prompts == []
    api.index()
    esp_view = worker.client.get(f"/v1/tasks/{task['id']}")
    assert esp_view["status"] == "locked" and esp_view["prompt"] == PROMPT
    salt = bytes.fromhex(esp_view["prompt_salt"][2:])
    assert "0x" + prompt_commitment(PROMPT, salt).hex() == task["prompt_commitment"]
    assert worker.step() == [f"delivered {task['id'][:10]}"]
    assert painter.prompts == [PROMPT]
    assert worker.step() == [f"claimed {task['id'][:10]}"]
    assert worker.htlc.status(lock) is LockStatus.WITHDRAWN


def test_a_stranger_never_reads_the_prompt(api, parties):
    _worker, producer, _painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    eve = api.sign_in(api.world.buyer)
    assert api.client.get(f"/v1/tasks/{task['id']}", headers=eve).status_code == 403
    for role in ("esp", "producer"):
        r = api.client.get(f"/v1/tasks?role={role}", headers=eve)
        assert r.status_code == 200 and PROMPT not in r.text


def _tamper(api, task_id: str, *, prompt: str, commitment: bool) -> None:
    """What an API (or a producer with its database) releasing another prompt would do:
    the prompt changed after the quote, and with ``commitment`` the task's commitment too."""
    with api.client.app.state.sessions() as session:
        row = session.scalar(select(Task).where(Task.id == task_id))
        row.prompt = prompt
        if commitment:
            salt = bytes.fromhex(row.prompt_salt[2:])
            row.prompt_commitment = "0x" + prompt_commitment(prompt, salt).hex()
        session.commit()


@pytest.mark.parametrize("commitment", [False, True], ids=["prompt", "prompt-and-commitment"])
def test_a_prompt_changed_after_the_quote_is_refused_by_the_esp(api, parties, commitment):
    worker, producer, painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    worker.step()  # quoted on the commitment to PROMPT
    _tamper(api, task["id"], prompt="a photograph of a stranger's face", commitment=commitment)
    lock = producer.lock_fee(producer.task(task["id"]))
    api.index()
    assert worker.step() == [f"refused-prompt {task['id'][:10]}"]
    assert painter.prompts == []  # nothing generated
    entry = worker.state.tasks[task["id"]]
    assert entry["stage"] == "declined" and entry["declined"].startswith("prompt_mismatch")
    assert worker.step() == [] and worker.step() == []  # refused once, then left alone
    after = producer.task(task["id"])
    assert after["status"] == "locked" and after["delivery"] is None  # nothing delivered
    # the producer is told why, in the ESP's words, with a stable code
    assert after["refusal"]["code"] == "prompt_mismatch"
    assert "quoted on" in after["refusal"]["message"]
    assert worker.htlc.status(LockTerms.from_json(after["lock"])) is LockStatus.OPEN
    assert lock.id == LockTerms.from_json(after["lock"]).id  # the producer refunds at the deadline


def test_no_route_changes_a_posted_prompt(api, parties):
    _worker, producer, _painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    me = api.sign_in(api.world.producer)
    for method in ("PUT", "PATCH"):
        r = api.client.request(method, f"/v1/tasks/{task['id']}", json={"prompt": "x"}, headers=me)
        assert r.status_code == 405
    again = producer.task(task["id"])
    assert again["prompt"] == PROMPT and again["prompt_commitment"] == task["prompt_commitment"]


def test_a_worker_state_from_before_prompt_commitments_still_quotes(api, parties):
    worker, producer, painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    # a worker that stopped between persisting its secret and quoting, before this change
    worker.state.tasks[task["id"]] = {"secret": "11" * 32, "stage": "quoting"}
    worker.state.save()
    assert worker.step() == [f"quoted {task['id'][:10]}"]
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    assert worker.step() == [f"delivered {task['id'][:10]}"] and painter.prompts == [PROMPT]


def test_a_quote_on_another_commitment_is_refused(api, parties):
    worker, producer, _painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    esp = api.sign_in(api.world.esp)
    body = {
        "price": str(PRICE),
        "hashlock": "0x" + "11" * 32,
        "deadline": api.world.chain.timestamp() + 3600,
        "signature": "0x" + "00" * 65,
        "prompt_commitment": "0x" + "22" * 32,
    }
    r = api.client.post(f"/v1/tasks/{task['id']}/quote", json=body, headers=esp)
    assert r.status_code == 422 and r.json()["error"]["code"] == "prompt_commitment_mismatch"
    assert producer.task(task["id"])["status"] == "posted"  # nothing written
    # the worker quotes on the task's own commitment, which the API accepts
    assert worker.step() == [f"quoted {task['id'][:10]}"]


def test_the_producer_chooses_its_salt_and_checks_the_commitment(api, parties):
    _worker, producer, _painter = parties
    salt = bytes(range(32))
    headers = api.sign_in(api.world.producer)
    body = {"prompt": PROMPT, "max_price": str(PRICE), "prompt_salt": "0x" + salt.hex()}
    r = api.client.post("/v1/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["prompt_salt"] == "0x" + salt.hex()
    assert out["prompt_commitment"] == "0x" + prompt_commitment(PROMPT, salt).hex()
    # the Python client draws a fresh salt for each task and checks the API's commitment
    a = producer.post(PROMPT, seed=1, max_price=PRICE)
    b = producer.post(PROMPT, seed=1, max_price=PRICE)
    assert a["prompt_salt"] != b["prompt_salt"]
    assert a["prompt_commitment"] != b["prompt_commitment"]  # a prompt is not guessable by hash


@pytest.mark.parametrize("salt", ["0x1234", "0x" + "zz" * 32, 5, "0x" + "00" * 33])
def test_a_malformed_salt_is_refused_and_nothing_is_written(api, parties, salt):
    _worker, producer, _painter = parties
    headers = api.sign_in(api.world.producer)
    body = {"prompt": PROMPT, "max_price": str(PRICE), "prompt_salt": salt}
    r = api.client.post("/v1/tasks", json=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert producer.client.get("/v1/tasks")["items"] == []


def test_only_the_esp_refuses_and_only_a_locked_undelivered_task(api, parties):
    worker, producer, _painter = parties
    task = producer.post(PROMPT, seed=7, max_price=2 * PRICE)
    path = f"/v1/tasks/{task['id']}/refusal"
    body = {"code": "prompt_mismatch", "message": "not the prompt I quoted on"}
    esp, me = api.sign_in(api.world.esp), api.sign_in(api.world.producer)
    worker.step()  # (a posted task it will not quote, the ESP refuses: test_redteam3_task_flood)
    r = api.client.post(path, json=body, headers=esp)  # quoted: nothing to refuse yet
    assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_ready"
    producer.lock_fee(producer.task(task["id"]))
    api.index()
    r = api.client.post(path, json=body, headers=me)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    for bad in ({"code": "Prompt Mismatch", "message": "x"}, {"code": "x", "message": "y" * 501}):
        r = api.client.post(path, json=bad, headers=esp)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert producer.task(task["id"])["refusal"] is None  # nothing written
    r = api.client.post(path, json=body, headers=esp)
    assert r.status_code == 200 and r.json()["refusal"] == body
    r = api.client.post(path, json=body, headers=esp)  # once
    assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_ready"
    assert worker.step() == []  # the worker delivers nothing for a task it refused
    assert producer.task(task["id"])["delivery"] is None


def test_a_prompt_that_is_not_unicode_text_is_refused_and_nothing_is_written(api, parties):
    """A lone surrogate (valid JSON, not encodable as UTF-8) has no commitment: 422, not a 500."""
    _worker, producer, _painter = parties
    headers = {**api.sign_in(api.world.producer), "content-type": "application/json"}
    body = '{"prompt": "a \\ud800 b", "max_price": "1"}'
    r = api.client.post("/v1/tasks", content=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert producer.client.get("/v1/tasks")["items"] == []
