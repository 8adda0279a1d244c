"""The native-size recall measurement (aigc_lab.provenance._native_recall) on a few images."""

from __future__ import annotations

from aigc_lab.provenance._native_recall import measure
from aigc_lab.provenance.edits import ISSUE11_EDITS


def test_native_size_recall_reports_every_edit_and_refuses_the_unregistrable_copy():
    report = measure(2)
    assert report["size"] == "native" and set(report["per_edit"]) == {e.name for e in ISSUE11_EDITS}
    # a quarter of a 64 px generation is 16 px, under MIN_SIDE: no fingerprint, no registration
    assert report["per_edit"]["downscale4"] == {
        "copies": 0, "refused": 2, "compact": None, "both": None
    }  # fmt: skip
    # a mirror is caught by both stages whatever the picture (dihedral canonical fingerprint)
    assert report["per_edit"]["mirror"]["both"] == 1.0
    scored = [v for v in report["per_edit"].values() if v["both"] is not None]
    assert all(0.0 <= v["both"] <= v["compact"] <= 1.0 for v in scored)
    assert report["min"] <= report["mean"] <= 1.0
