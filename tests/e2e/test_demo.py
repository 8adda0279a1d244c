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
