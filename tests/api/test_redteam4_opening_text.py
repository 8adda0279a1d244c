"""Red team 4: a generation opening's prompt is text PostgreSQL can store.

The bundled model ignores control characters in a prompt: ``"\\x00" + prompt`` regenerates the
same image as ``prompt``, so that opening *reproduces* the token's image and the API went on to
store it, and PostgreSQL refuses a NUL in text: a 500 (``psycopg.DataError``) for anyone who
knows a token's prompt (``PUT /v1/products/{id}/generation`` needs no sign-in); on SQLite the NUL
was stored and served. Now the opening's prompt is the API's ``Text`` (control characters other
than tab and newline are 422 ``validation_error``), like a task's prompt, before any
regeneration.
"""

from __future__ import annotations

import pytest

from tests.api.test_generation_openings import PROMPT, SEED, _attach, _bundled, _register
from tests.contracts.helpers import register_esp


@pytest.fixture(scope="module")
def generated():
    from generators.maker import image_maker

    return image_maker()(PROMPT, SEED)[0].convert("RGB")


@pytest.mark.parametrize(
    "prompt", ["\x00" + PROMPT, PROMPT.replace(" ", "\x00", 1), PROMPT + "\x1b"]
)
def test_a_control_character_in_the_prompt_is_422_not_500(api, generated, prompt):
    world = api.world
    register_esp(world)
    token = _register(world, world.producer, generated, model=_bundled())
    api.index()
    _attach(api, world.producer, token, generated)
    url = f"/v1/products/{token}/generation"
    r = api.client.put(url, json={"prompt": prompt, "seed": str(SEED)})
    assert r.status_code == 422, r.text  # failed before: 500 on PostgreSQL, 200 on SQLite
    assert r.json()["error"]["code"] == "validation_error"
    assert api.client.get(url).status_code == 404
    r = api.client.put(url, json={"prompt": PROMPT, "seed": str(SEED)})
    assert r.status_code == 200, r.text
