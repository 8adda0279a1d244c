"""Every data file the packages ship is in the wheel, not only in the checkout.

An editable install reads files from the checkout, so a file type missing from
``[tool.setuptools.package-data]`` goes unnoticed until someone installs a wheel: the web app's
scripts, pages, styles and the API docs' vendored assets (and their licences) were left out
that way. This compares the tracked non-Python files under each package with the patterns."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_tracked_package_file_matches_a_package_data_pattern() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [p.rstrip("*") for p in config["packages"]["find"]["include"]]
    patterns = config["package-data"]["*"]
    tracked = subprocess.run(
        ["git", "ls-files", "--", *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    data = [f for f in tracked if not f.endswith(".py") and "/" in f]
    assert data, "no data files found: the package list changed?"
    missing = [f for f in data if not any(fnmatch.fnmatch(Path(f).name, p) for p in patterns)]
    assert missing == [], f"tracked files no package-data pattern ships: {missing}"
