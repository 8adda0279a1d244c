"""`aigc fingerprint`, `aigc compare` and the two provenance benchmarks, through typer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from typer.testing import CliRunner

from aigc_cli.main import app
from aigc_lab.provenance._procedural import procedural_image
from services.provenance import fingerprint

runner = CliRunner()


@pytest.fixture()
def files(tmp_path: Path, analytic: Image.Image) -> dict[str, Path]:
    paths = {
        "image": tmp_path / "image.png",
        "mirror": tmp_path / "mirror.jpg",
        "flat": tmp_path / "flat.png",
        "text": tmp_path / "notes.png",
        "other": tmp_path / "other.png",
    }
    analytic.save(paths["image"])
    ImageOps.mirror(analytic).save(paths["mirror"], quality=60)
    Image.new("RGB", (120, 80), "white").save(paths["flat"])
    paths["text"].write_text("hello")
    # a genuinely different picture (a 90-degree turn is a copy to the dihedral fingerprint)
    procedural_image(3).save(paths["other"])
    return paths


def test_fingerprint_prints_one_hex_per_file(files: dict[str, Path], analytic: Image.Image) -> None:
    result = runner.invoke(app, ["fingerprint", str(files["image"]), str(files["mirror"])])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == fingerprint(analytic).hex()
    assert lines[1].endswith("mirror.jpg")


@pytest.mark.parametrize(
    ("key", "message"), [("flat", "degenerate"), ("text", "not a readable image")]
)
def test_fingerprint_refuses_bad_files_cleanly(
    files: dict[str, Path], key: str, message: str
) -> None:
    result = runner.invoke(app, ["fingerprint", str(files["image"]), str(files[key])])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert result.stdout.count("0x") == 1  # the good file is still printed


def test_compare_reports_distance_and_verdict(files: dict[str, Path]) -> None:
    same = runner.invoke(app, ["compare", str(files["image"]), str(files["mirror"])])
    assert same.exit_code == 0 and "match" in same.stdout and "no match" not in same.stdout
    other = runner.invoke(app, ["compare", str(files["image"]), str(files["other"])])
    assert other.exit_code == 0 and "no match" in other.stdout
    hex_value = fingerprint(Image.open(files["image"])).hex()
    literal = runner.invoke(app, ["compare", hex_value, str(files["image"])])
    assert literal.exit_code == 0 and "distance 0" in literal.stdout


@pytest.mark.parametrize("args", [["0x12"], ["{text}"], ["{flat}"]])
def test_compare_errors_are_red_one_liners(files: dict[str, Path], args: list[str]) -> None:
    second = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    result = runner.invoke(app, ["compare", str(files["image"]), *second])
    assert result.exit_code == 1 and "error" in result.output and "Traceback" not in result.output


def test_bench_provenance_small_run_as_json() -> None:
    args = [
        "bench",
        "provenance",
        "--procedural",
        "0",
        "--limit",
        "4",
        "--edits",
        "jpeg30,mirror",
        "--evasion",
        "0",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["recall"]) == {"jpeg30", "mirror"}
    assert report["recall"]["mirror"] == 1.0 and report["phash_recall"]["mirror"] < 1.0
    assert report["originals"] == 4


def test_bench_provenance_rejects_unknown_edits() -> None:
    result = runner.invoke(app, ["bench", "provenance", "--limit", "3", "--edits", "sepia"])
    assert result.exit_code == 1 and "unknown edit" in result.output
    result = runner.invoke(app, ["bench", "provenance", "--limit", "3", "--edit-set", "nope"])
    assert result.exit_code == 1 and "--edit-set" in result.output


def test_bench_search_small_run() -> None:
    args = [
        "bench",
        "search",
        "--size",
        "3000",
        "--baseline-size",
        "300",
        "--queries",
        "10",
        "--baseline-queries",
        "3",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "same answers as the BK-tree" in result.stdout and "yes" in result.stdout
    bad = runner.invoke(app, ["bench", "search", "--size", "1"])
    assert bad.exit_code == 1 and "size" in bad.output
