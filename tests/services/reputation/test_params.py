"""Parameters (validation, value weights) and interaction records."""

from __future__ import annotations

import numpy as np
import pytest

from services.reputation import (
    Interaction,
    InteractionLog,
    InvalidInteractionError,
    InvalidParameterError,
    ReputationParams,
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("decay", 0.0),
        ("decay", 1.5),
        ("period", 0),
        ("negative_weight", 0.5),
        ("prior_weight", 0.0),
        ("base_rate", 1.2),
        ("value_reference", 0),
    ],
)
def test_bad_parameter_is_named(field, value):
    with pytest.raises(InvalidParameterError, match=field) as info:
        ReputationParams(**{field: value})
    assert info.value.name == field


def test_value_weight_is_quadratic_below_the_reference_and_one_above():
    p = ReputationParams(value_reference=1000)
    assert p.interaction_weight(1000) == 1.0
    assert p.interaction_weight(10**9) == 1.0
    assert p.interaction_weight(100) == pytest.approx(0.01)
    assert p.interaction_weight(0) == 0.0
    values = np.array([0, 100, 500, 1000, 5000])
    assert p.interaction_weights(values) == pytest.approx([p.interaction_weight(v) for v in values])
    assert ReputationParams(value_reference=None).interaction_weight(1) == 1.0


def test_splitting_a_payment_never_gains_weight():
    p = ReputationParams()
    ref = p.value_reference
    for parts in (2, 10, 100):
        assert parts * p.interaction_weight(ref / parts) < p.interaction_weight(ref)


def test_epochs_are_absolute_period_boundaries():
    p = ReputationParams(period=100)
    assert [p.epoch(t) for t in (0, 99, 100, 250)] == [0, 0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"producer": ""}, "producer"),
        ({"esp": ""}, "esp"),
        ({"value": -1}, "value"),
        ({"time": -5}, "time"),
    ],
)
def test_bad_interaction_is_named(kwargs, field):
    fields = {"producer": "p", "esp": "e", "positive": True, "value": 1, "time": 0} | kwargs
    with pytest.raises(InvalidInteractionError, match=field):
        Interaction(**fields)


def test_log_from_records_and_bad_columns():
    log = InteractionLog.from_records(
        [Interaction("p1", "e1", True, 5, 10), Interaction("p2", "e1", False, 7, 20)]
    )
    assert len(log) == 2
    assert log.producer_ids == ("p1", "p2") and log.esp_ids == ("e1",)
    assert log.positive.tolist() == [True, False]
    common = {
        "producer_ids": ["a"],
        "esp_ids": ["e"],
        "positive": [True],
        "value": [1.0],
        "time": [0],
    }
    with pytest.raises(InvalidInteractionError, match="producer"):
        InteractionLog.from_arrays(producer=[3], esp=[0], **common)
    with pytest.raises(InvalidInteractionError, match="entries"):
        InteractionLog.from_arrays(producer=[0, 0], esp=[0], **common)
    with pytest.raises(InvalidInteractionError, match="value"):
        InteractionLog.from_arrays(
            producer_ids=["a"],
            esp_ids=["e"],
            producer=[0],
            esp=[0],
            positive=[1],
            value=[-1],
            time=[0],
        )
