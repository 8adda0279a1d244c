"""Sign-in and bearer tokens under generated bad input: never a 5xx, always the error envelope.

Hypothesis mutates a real Sign-In with Ethereum message (each example with a fresh nonce, so
the parser and every check behind it run, not just the nonce lookup): a line replaced or text
inserted anywhere, extreme dates and chain ids, signatures of any length or no hex at all; and
bearer tokens: random text, a real token with characters flipped, non-ASCII bytes in the header.
Fixed seed and a small budget (deterministic, a few seconds).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.api.conftest import sign, siwe_text

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

DATE = st.from_regex(
    r"\A[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\.[0-9]{1,12})?"
    r"(Z|[+-][0-9]{1,3}:[0-9]{1,3})\Z"
)
SIGNATURE = st.one_of(
    st.from_regex(r"\A0x[0-9a-fA-F]{0,300}\Z"),
    st.text(max_size=200),
    st.binary(min_size=0, max_size=200).map(lambda b: "0x" + b.hex()),
)


def _envelope(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.split("\n")
    kind = data.draw(st.sampled_from(["line", "insert", "date", "chain", "delete", "none"]))
    if kind == "line":
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = data.draw(st.text(max_size=120))
    elif kind == "insert":
        at = data.draw(st.integers(0, len(text)))
        return text[:at] + data.draw(st.text(min_size=1, max_size=40)) + text[at:]
    elif kind == "date":
        i = next(n for n, line in enumerate(lines) if line.startswith("Expiration Time: "))
        name = data.draw(st.sampled_from(["Issued At", "Expiration Time", "Not Before"]))
        line = f"{name}: {data.draw(DATE)}"
        if name == "Not Before":
            lines.insert(i + 1, line)
        else:
            lines[i - (name == "Issued At")] = line
    elif kind == "chain":
        i = next(n for n, line in enumerate(lines) if line.startswith("Chain ID: "))
        number = data.draw(st.one_of(st.integers(-(2**300), 2**300), st.text(max_size=20)))
        lines[i] = f"Chain ID: {number}"
    elif kind == "delete":
        del lines[data.draw(st.integers(0, len(lines) - 1))]
    return "\n".join(lines)


def test_mutated_sign_in_messages_are_refused_with_a_code(api):
    producer = api.world.producer
    state = api.client.app.state  # one nonce per example: no nonce limit in the way
    state.settings = state.settings.model_copy(update={"rate_nonce_per_minute": 10**9})

    @seed(20261203)
    @FUZZ
    @given(data=st.data())
    def run(data) -> None:
        text = _mutate(siwe_text(producer, nonce=api.nonce(), chain_id=api.chain_id), data)
        signature = data.draw(st.one_of(st.just(sign(producer, text)), SIGNATURE))
        r = api.client.post("/v1/auth/verify", json={"message": text, "signature": signature})
        _envelope(r)

    run()


def test_forged_bearer_tokens_are_401(api):
    token = api.sign_in(api.world.producer)["Authorization"].removeprefix("Bearer ")

    @seed(20261203)
    @FUZZ
    @given(data=st.data())
    def run(data) -> None:
        kind = data.draw(st.sampled_from(["text", "flip", "bytes"]))
        if kind == "text":
            value = ("Bearer " + data.draw(st.text(max_size=300))).encode("utf-8")
        elif kind == "flip":
            i = data.draw(st.integers(0, len(token) - 1))
            c = data.draw(st.characters(codec="ascii").filter(lambda ch: ch != token[i]))
            value = ("Bearer " + token[:i] + c + token[i + 1 :]).encode("utf-8")
        else:
            raw = data.draw(st.binary(max_size=200))
            value = b"Bearer " + raw.translate(None, b"\r\n\x00")
        r = api.client.get("/v1/auth/me", headers=[(b"authorization", value.strip())])
        _envelope(r)
        if r.status_code == 200:  # a flip in base64's unused low bits decodes to the same token
            assert r.json()["address"] == api.world.producer.address
        else:
            assert r.status_code == 401, r.text

    run()
