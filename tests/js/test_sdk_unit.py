"""The JavaScript SDK's unit tests (`node --test js/sdk/test/*.test.js`), run from pytest so
`make test` covers them, and its JSDoc type check (`tsc --noEmit -p js/sdk`)."""

from __future__ import annotations

import subprocess

import pytest

from tests.js._node import ROOT, SDK, node_or_skip


def test_sdk_unit_tests_pass():
    node = node_or_skip()
    tests = sorted(str(p) for p in (SDK / "test").glob("*.test.js"))
    assert tests, "no SDK unit tests found"
    run = subprocess.run(
        [node, "--test", *tests], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "# fail 0" in run.stdout


@pytest.mark.slow
def test_sdk_type_checks():
    node = node_or_skip()
    tsc = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
    run = subprocess.run(
        [node, str(tsc), "--noEmit", "-p", str(SDK)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
