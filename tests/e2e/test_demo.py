"""`aigc demo --quick` end to end: real chain, API, ESP workers, bundled model; its outputs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aigc_cli.main import app

pytestmark = pytest.mark.slow


def test_quick_demo_tells_the_whole_story(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    statuses = [t["status"] for t in summary["tasks"]]
    # round 1 pins one producer to each ESP; round 2's choices are the API's (random) softmax
    assert statuses.count("registered") >= 3 and "refunded" in statuses
    lazy = [t for t in summary["tasks"] if t["esp"] == "ESP-C"]
    assert any(t["status"] == "refunded" for t in lazy)
    assert summary["reputation"]["ESP-C"][-1] < summary["reputation"]["ESP-A"][-1]
    assert all(t["status"] == "completed" for t in summary["trades"])
    assert any(t["royalty"] > 0 for t in summary["trades"])  # a resale paid the producer
    (challenge,) = summary["challenges"]
    assert challenge["upheld"] and challenge["copy_status"] == "revoked"
    for name in ("index.html", "reputation.png", "load.png"):
        assert (out / name).stat().st_size > 0
    page = (out / "index.html").read_text()
    assert challenge["duplicate"] in page and "revoked" in page
    assert "Gas per operation" in result.output
    _assert_the_batch_chapter(summary, out, result.output)


def _assert_the_batch_chapter(summary, out, output):
    """Issue 16: a producer's batch of paid images, one token each (what a wallet reads back),
    and a plagiarist's batched copy revoked alone, its siblings and the original batch active."""
    producer, plagiarist = summary["batches"]
    assert producer["role"] == "producer" and plagiarist["role"] == "plagiarist"
    assert producer["count"] == 4 and len(producer["token_ids"]) == 4
    assert producer["esp"] != plagiarist["esp"]  # a batch is challenged only across ESPs
    for batch in (producer, plagiarist):
        gas = batch["gas"]
        assert gas["commit"] > 0 and gas["reveal"] > 0
        assert gas["per_image"] == (gas["commit"] + gas["reveal"]) // batch["count"]
        assert [t["token_id"] for t in batch["tokens"]] == batch["token_ids"]
        for i, token in enumerate(batch["tokens"]):
            assert (
                int(token["token_id"])
                == (batch["batch_id"] << 32) | i
                == ((batch["batch_id"] << 32) | token["index"])
            )
            assert token["owner"] == batch["producer"] == token["royalty_receiver"]
            assert token["royalty"] > 0
            assert token["token_uri"].endswith(f"/v1/tokens/{token['token_id']}")
            assert str(token["metadata_content_hash"]).startswith("0x")  # the URI resolved
    (fight,) = summary["batch_challenges"]
    assert fight["original"] in producer["token_ids"]
    assert fight["duplicate"] in plagiarist["token_ids"]
    assert fight["upheld"] and fight["copy_status"] == "revoked"
    # the win was held (issue 11): settled after the demo's hold, the challenger paid then
    settled = fight["settled"]
    assert (
        settled["state"] == "settled" and settled["hold_blocks"] == 12
    )  # two 5-block windows and two blocks
    assert settled["paid_wei"] >= 10**16 + 2 * 10**14  # its deposit back and challengeReward
    assert settled["slash_burned_wei"] > 0  # the colluding ESP lost stake ...
    assert settled["slash_owed_wei"] == 0  # ... burned, not paid to the challenger
    assert set(fight["sibling_statuses"]) == set(plagiarist["token_ids"]) - {fight["duplicate"]}
    assert set(fight["sibling_statuses"].values()) == {"active"}
    assert set(fight["original_batch_statuses"].values()) == {"active"}
    statuses = {t["token_id"]: t["status"] for b in (producer, plagiarist) for t in b["tokens"]}
    assert [tok for tok, st in statuses.items() if st != "active"] == [fight["duplicate"]]
    assert "Batches (one commit, one reveal)" in output and "Batch challenge" in output
    page = (out / "index.html").read_text()
    assert all(tok in page for tok in statuses)  # every batch token has its card
