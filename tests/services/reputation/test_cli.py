"""`aigc simulate reputation` and `aigc bench reputation` through the real CLI app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aigc_cli.main import app

runner = CliRunner()


def test_simulate_json_and_plots(tmp_path):
    out = runner.invoke(app, ["simulate", "reputation", "--json", "--plot", str(tmp_path)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["onset_round"] == 15
    assert set(doc["reputation"]) == {"mwsl", "authors", "habit"}
    assert all(doc["expected_shape"].values())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "reputation_load.png",
        "reputation_trend.png",
    ]


def test_simulate_table_with_robustness():
    out = runner.invoke(app, ["simulate", "reputation", "--seeds", "2", "--onset", "12"])
    assert out.exit_code == 0, out.output
    assert "mwsl" in out.stdout and "held in 2/2 seeds" in out.stdout


def test_simulate_bad_input_is_a_clean_error():
    out = runner.invoke(app, ["simulate", "reputation", "--onset", "99"])
    assert out.exit_code == 1
    assert "onset_round" in out.output and "Traceback" not in out.output


def test_bench_small_json():
    args = ["bench", "reputation", "--producers", "100", "--esps", "10", "--interactions", "2000"]
    out = runner.invoke(app, [*args, "--queries", "2", "--updates", "20", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["interactions"] == 2000 and doc["max_abs_diff"] < 1e-9


def test_bench_bad_size_is_a_clean_error():
    out = runner.invoke(app, ["bench", "reputation", "--esps", "0"])
    assert out.exit_code == 1 and "esps" in out.output
