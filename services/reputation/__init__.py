"""Reputation: multi-weight subjective logic (MWSL) over on-chain interaction records.

Public surface:

* :class:`ReputationParams`: the model's parameters (defaults = the on-chain constants).
* :class:`Opinion`: a subjective-logic opinion with ``fuse`` (consensus) and ``expected``.
* :class:`Interaction`, :class:`InteractionLog`: interaction records (one, or a columnar batch).
* :class:`ReputationEngine`: vectorised reputations from any producer's view, incremental updates.
* :func:`rank`, :func:`select`, :class:`RankedEsp`: choosing an ESP (softmax / argmax, floor).
* :func:`select_exploring`, :func:`rank_exploring`, :func:`exploring_probabilities`: selection
  with a bounded exploration share for newcomers (use with ``ReputationParams.hardened()``;
  what the marketplace API uses).

See ``docs/reputation.md`` for the formulas and the attack-resistance guarantees.
"""

from services.reputation.engine import ReputationEngine
from services.reputation.errors import (
    InvalidInteractionError,
    InvalidOpinionError,
    InvalidParameterError,
    NoEligibleEspError,
    ReputationError,
    TimeOrderError,
)
from services.reputation.interactions import Interaction, InteractionLog
from services.reputation.opinion import Opinion
from services.reputation.params import ReputationParams
from services.reputation.selection import (
    RankedEsp,
    SelectionPolicy,
    exploring_probabilities,
    rank,
    rank_exploring,
    select,
    select_exploring,
    selection_probabilities,
)

__all__ = [
    "Interaction",
    "InteractionLog",
    "InvalidInteractionError",
    "InvalidOpinionError",
    "InvalidParameterError",
    "NoEligibleEspError",
    "Opinion",
    "RankedEsp",
    "ReputationEngine",
    "ReputationError",
    "ReputationParams",
    "SelectionPolicy",
    "TimeOrderError",
    "exploring_probabilities",
    "rank",
    "rank_exploring",
    "select",
    "select_exploring",
    "selection_probabilities",
]
