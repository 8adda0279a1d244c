"""Harness: the attack simulation of ``aigc simulate reputation --attack`` (not product code).

It drives the product's own weighting (:func:`services.reputation._aggregate.
recommender_contributions`) and selection (:func:`services.reputation.selection.
exploring_probabilities`) over dense numpy matrices, so 10,000 producers x 1,000 ESPs x 50
rounds run in minutes on one core.
"""

from aigc_lab.reputation.simulation.attacks import (
    ATTACKS,
    AttackConfig,
    AttackResult,
    run_attack,
)

__all__ = ["ATTACKS", "AttackConfig", "AttackResult", "run_attack"]
