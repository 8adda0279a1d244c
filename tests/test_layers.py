"""Dependencies between the project's packages flow one way (issue 13, item 5).

Every ``import`` in every module (function-level imports included, they are parsed from the
source, not executed) may name its own package or one below it, never one above:

    ledger, generators  <  services  <  marketplace_api  <  aigc_lab  <  aigc_cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYER = {
    "ledger": 0,
    "generators": 0,
    "services": 1,
    "marketplace_api": 2,
    "aigc_lab": 3,
    "aigc_cli": 4,
}


def _imported_packages(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & LAYER.keys()


def _upward_imports(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for imported in _imported_packages(path.read_text(encoding="utf-8")):
            if imported != package and LAYER[imported] >= LAYER[package]:
                found.append(f"{path.relative_to(ROOT)} imports {imported}")
    return found


@pytest.mark.parametrize("package", sorted(LAYER))
def test_no_package_imports_one_above_it(package: str) -> None:
    assert _upward_imports(package) == []


def test_the_check_sees_function_level_imports() -> None:
    source = "def f():\n    from aigc_cli.main import app\n    import marketplace_api.db\n"
    assert _imported_packages(source) == {"aigc_cli", "marketplace_api"}
