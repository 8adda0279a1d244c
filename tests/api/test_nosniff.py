"""Every API answer says ``X-Content-Type-Options: nosniff``: the API serves bytes others
uploaded (images, previews, sealed deliveries); a browser must not sniff them into HTML or
script. Before, only the web app's pages and assets carried it."""

from __future__ import annotations


def test_every_answer_carries_nosniff_once(api):
    for method, path in (
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/products/0x" + "ab" * 32),  # an error answer
        ("GET", "/"),  # the web app, which sets it itself: still once
    ):
        resp = api.client.request(method, path)
        values = resp.headers.get_list("x-content-type-options")
        assert values == ["nosniff"], (path, resp.status_code, values)
    junk = api.client.post("/v1/search/similar", files={"image": ("f", b"junk", "image/png")})
    assert junk.status_code == 415 and junk.headers["x-content-type-options"] == "nosniff"
