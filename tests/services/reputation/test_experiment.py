"""The paper's experiment: its expected shape, JSON layout, plots; the comparison models."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from aigc_lab.reputation.baselines import AuthorsModel, HabitModel
from aigc_lab.reputation.experiment import ESPS, POLICIES, ExperimentConfig, run_experiment
from aigc_lab.reputation.plots import plot_experiment
from services.reputation import Interaction, InvalidParameterError


@pytest.fixture(scope="module")
def result():
    return run_experiment()


def test_expected_shape_holds_with_the_defaults(result):
    shape = result.expected_shape()
    assert all(shape.values()), shape
    assert result.fall_round("mwsl") <= result.onset_round + 8
    assert result.load_ratio("mwsl") <= 1.5 < result.load_ratio("habit")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_expected_shape_is_not_an_accident_of_one_seed(seed):
    assert all(run_experiment(ExperimentConfig(seed=seed)).expected_shape().values())


def test_mwsl_does_at_least_as_well_as_the_authors_formulas(result):
    assert result.fall_round("mwsl") <= result.fall_round("authors")


def test_onset_is_configurable():
    late = run_experiment(ExperimentConfig(onset_round=25))
    assert late.onset_round == 25
    assert late.first_before_onset("mwsl")
    assert late.fall_round("mwsl") is not None and late.fall_round("mwsl") >= 25


def test_json_layout(result):
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["onset_round"] == 15
    assert set(doc["reputation"]) == set(POLICIES) == set(doc["tasks"])
    for policy in POLICIES:
        assert set(doc["reputation"][policy]) == set(ESPS)
        assert all(len(v) == 35 for v in doc["reputation"][policy].values())
        assert sum(doc["tasks"][policy].values()) == 3 * 4 * 20
    assert doc["tasks"]["habit"] == {"ESP1": 240, "ESP2": 0, "ESP3": 0}


def test_runs_are_deterministic(result):
    again = run_experiment()
    assert again.reputation == result.reputation and again.load == result.load
    other = run_experiment(replace(result.config, seed=99))
    assert other.reputation != result.reputation


def test_plots_are_written(result, tmp_path):
    paths = plot_experiment(result, tmp_path / "figs")
    assert [p.name for p in paths] == ["reputation_trend.png", "reputation_load.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"onset_round": 40}, "onset_round"),
        ({"producers": 0}, "producers"),
        ({"quality": (1.0, 0.5)}, "quality"),
    ],
)
def test_bad_config_is_named(kwargs, name):
    with pytest.raises(InvalidParameterError, match=name):
        ExperimentConfig(**kwargs)


def test_authors_formulas():
    model = AuthorsModel()
    assert model.score("new") == pytest.approx(10 * 0.25 + 0.5 * 0.25)
    for ok in (True, True, True, False):
        model.record(Interaction("p", "e", ok, 1, 0))
    b, d, u = model.opinion("e")  # 3 positive, 1 negative weighing 2: b = 0.5 * 3/5
    assert (b, d, u) == pytest.approx((0.3, 0.2, 0.5))
    assert model.score("e") == pytest.approx(10 * 0.3 + 0.5 * 0.2)


def test_habit_sticks_to_the_most_positive_esp():
    habit = HabitModel()
    assert habit.choose("p", ESPS) == "ESP1"
    for _ in range(2):
        habit.record(Interaction("p", "ESP2", True, 1, 0))
    habit.record(Interaction("p", "ESP2", False, 1, 0))
    assert habit.choose("p", ESPS) == "ESP2"
    assert habit.choose("other", ESPS) == "ESP1"
