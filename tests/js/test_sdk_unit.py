"""The JavaScript SDK's unit tests (`node --test js/sdk/test/*.test.js`), run from pytest so
`make test` covers them, and its JSDoc type check (`tsc --noEmit -p js/sdk`)."""

from __future__ import annotations

import shutil
import subprocess
import sys

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
def test_sdk_type_checks_against_the_api_as_it_is(tmp_path):
    """The SDK's JSDoc checked against types generated afresh from the app's OpenAPI document:
    a route the SDK reads that changed shape fails here even before openapi.d.ts is regenerated
    (changes to routes the SDK does not read do not); and against the committed openapi.d.ts,
    which takes a second `tsc` run only where the two differ (identical inputs, one check)."""
    node = node_or_skip()
    sdk = tmp_path / "sdk"
    shutil.copytree(SDK / "src", sdk / "src")
    shutil.copy(SDK / "tsconfig.json", sdk / "tsconfig.json")
    shutil.copy(SDK / "package.json", sdk / "package.json")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    doc = tmp_path / "openapi.json"
    dump = subprocess.run(
        [sys.executable, str(SDK / "scripts" / "dump_openapi.py"), str(doc)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert dump.returncode == 0, dump.stderr[-3000:]
    gen = ROOT / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
    fresh = sdk / "src" / "openapi.d.ts"
    made = subprocess.run(
        [node, str(gen), str(doc), "-o", str(fresh)], capture_output=True, text=True, timeout=600
    )
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    tsc = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
    projects = [sdk]
    if fresh.read_bytes() != (SDK / "src" / "openapi.d.ts").read_bytes():
        projects.append(SDK)  # the committed types differ: check the SDK against them too
    for project in projects:
        run = subprocess.run(
            [node, str(tsc), "--noEmit", "-p", str(project)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, f"{project}: " + run.stdout[-6000:] + run.stderr[-3000:]
