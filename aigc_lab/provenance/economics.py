"""Squatting economics: what an attacker expects to earn by registering images early and
challenging later, unrelated registrations that happen to match them (issue 11, "Deliver 2").

The attacker ("squatter") registers images of its own choosing (the most "central" ones it can
find: those that match the most other images under the compact admissibility rule), through its
own ESP, and then challenges every later registration they match. Under Registry v2:

* each early registration costs a self-paid generation lock (the fee returns to the attacker's
  ESP, only gas is spent), a commit and a reveal; its bond stays at stake (not counted as lost);
* a challenge needs the deposit. If the victim does not contest within the window, ``finalize``
  revokes and, after the hold, ``settle`` returns the deposit plus ``challenge_reward``; if the
  victim contests, ``resolve`` runs the detail rule: with probability ``detail_false_rate`` the
  attacker wins both deposits, otherwise it loses its deposit to the victim;
* the revoked bond beyond ``challenge_reward`` is burned: it is never the attacker's profit.

A rational attacker challenges only when one challenge has a positive expected value, so the
value of an early registration is ``-registration_cost + matches x max(0, challenge value)``.
All amounts in wei; gas figures are the exact ones of ``aigc bench gas``.

**Defended victims** (``defended_share``): an owner who runs ``aigc defend``
(services/provenance/defender.py) runs the detail rule on the two published descriptors and
contests (then resolves, paying that gas itself) exactly when the rule rejects the pair; when it
matches (``detail_false_rate`` of the admissible distinct pairs) it concedes, and the challenge
wins as an uncontested one. The other victims behave as ``uncontested_share`` says.

**The committee** (``review_uphold_rate``, stage 3: contracts/CommitteeVerifier.sol): where the
detail rule matches, a defender that predicts the committee's stage-3 comparison rejects the pair
requests a review (paying ``review_fee`` to the jurors and the request and draw gas) before it
contests, and the committee decides ``resolve``: the challenge then wins only on the share
``review_uphold_rate`` of the rule-matched pairs that stage 3 also upholds. The default (1.0) is
the deployment without jurors (every figure as before); the measured rate is
``REVIEW_UPHOLD_SHARE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CENTRAL_ADMISSIBLE_RATE",
    "DETAIL_FALSE_SHARE",
    "GAS",
    "REVIEW_UPHOLD_SHARE",
    "SquatReport",
    "SquatScenario",
    "central_admissible_rate",
    "squatting_value",
    "wave1_squatting_value",
]

# `aigc bench gas` (Registry v2, py-evm and anvil agree); the lock and withdraw of a self-paid
# generation fee come first.
GAS = {
    "lock": 50_367,
    "withdraw": 40_107,
    "commit": 46_173,
    "reveal": 149_865,
    "challenge": 70_032,
    "contest": 54_938,  # docs/contracts.md's `registry_contest`
    "finalize": 42_366,
    "resolve": 2_163_850,  # tests/contracts/gas_snapshot.json `registry_resolve`
    "settle": 120_063,
    # docs/contracts.md, "Committee (stage 3)": a pool of 20 enrolled jurors (each further one
    # adds an `isActive` call to both)
    "request_review": 336_069,
    "draw": 552_352,
}
# Measured on the wave-2 corpus (12,075 distinct images, `.aigc/corpus`), compact threshold 15:
# the mean per-pair admissibility rate is 4.9e-3 and that of the 10 most central images 4.48e-2
# (`central_admissible_rate`); of the admissible distinct pairs, 9.2e-2 also pass the detail
# rule (docs/provenance.md, "Candidates and false candidates per query").
CENTRAL_ADMISSIBLE_RATE = 4.48e-2
DETAIL_FALSE_SHARE = 9.2e-2
# Of the distinct pairs stages 1-2 uphold on the wave-2 corpus (31,123, dihedral grouping), stage 3
# at its chosen setting still matches 2,603 (docs/provenance.md, "Dihedral twins grouped by
# pixels"; `python -m aigc_lab.provenance._stage3_cache score`).
REVIEW_UPHOLD_SHARE = 2_603 / 31_123


@dataclass(frozen=True)
class SquatScenario:
    """One squatting campaign's parameters (defaults: the deployment's, 1 gwei gas)."""

    registry_size: int = 1_000_000
    admissible_rate: float = CENTRAL_ADMISSIBLE_RATE  # per pair, the attacker's best images
    detail_false_rate: float = DETAIL_FALSE_SHARE  # per admissible pair: detail matches too
    uncontested_share: float = 0.5  # undefended victims who let the contest window pass
    defended_share: float = 0.0  # victims whose defender contests every pair the rule rejects
    review_uphold_rate: float = 1.0  # of the rule-matched pairs, the share the committee upholds
    review_fee: int = 10**16
    gas_price: int = 10**9
    bond: int = 10**16
    deposit: int = 10**16
    reward: int = 2 * 10**14

    def __post_init__(self) -> None:
        rates = ("admissible_rate", "detail_false_rate", "uncontested_share", "defended_share")
        for name in (*rates, "review_uphold_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.reward > self.bond:
            raise ValueError(f"reward {self.reward} exceeds the bond {self.bond}")


@dataclass(frozen=True)
class SquatReport:
    """Expected values in wei (negative: the attacker loses)."""

    registration_cost: int
    matches: float  # later registrations one early registration can challenge
    uncontested_value: float  # one challenge the victim lets pass
    contested_value: float  # one challenge the victim contests
    challenge_value: float  # one challenge, weighted by the victims' behaviour
    value_per_registration: float  # the campaign's value per early registration
    break_even_uncontested_share: float  # above this share of silent victims a challenge pays
    defended_value: float = 0.0  # one challenge of a defended victim
    break_even_defended_share: float = 0.0  # from this share of defended victims it never pays
    defence_net: float = 0.0  # the defender's gain per contest: the deposit less its gas
    revoked_share: float = 0.0  # the challenges that revoke their victim's token
    reviewed_defence_net: float = 0.0  # the defender's gain per contest the committee decides

    @property
    def cost_per_revoked_token(self) -> float:
        """What a griefer (who challenges whatever it earns) pays per token it revokes; negative
        when challenging pays anyway."""
        return -self.challenge_value / self.revoked_share if self.revoked_share else float("inf")


def squatting_value(s: SquatScenario) -> SquatReport:
    """The expected value of one early registration under Registry v2's rules."""
    g = s.gas_price
    registration_cost = g * (GAS["lock"] + GAS["withdraw"] + GAS["commit"] + GAS["reveal"])
    matches = s.registry_size * s.admissible_rate
    uncontested = s.reward - g * (GAS["challenge"] + GAS["finalize"] + GAS["settle"])
    won = s.deposit + s.reward - g * (GAS["challenge"] + GAS["resolve"] + GAS["settle"])
    lost = -s.deposit - g * GAS["challenge"]
    p = s.detail_false_rate
    contested = p * won + (1 - p) * lost  # a victim that contests blindly
    u = s.uncontested_share
    undefended = u * uncontested + (1 - u) * contested
    # a defender contests (and resolves, at its own cost) the pairs the rule rejects, and with a
    # committee also the rule-matched ones stage 3 rejects (after a review); it concedes the rest
    q = p * s.review_uphold_rate
    defended = q * uncontested + (1 - q) * lost
    d = s.defended_share
    challenge = d * defended + (1 - d) * undefended
    value = -registration_cost + matches * max(0.0, challenge)
    gap = uncontested - contested
    break_even = 1.0 if uncontested <= 0 or gap <= 0 else max(0.0, -contested / gap)
    if undefended <= 0:
        defended_break_even = 0.0  # it does not pay even with no defender
    elif defended >= 0:
        defended_break_even = 1.0  # defenders cannot stop it (not with these rules)
    else:
        defended_break_even = undefended / (undefended - defended)
    return SquatReport(
        registration_cost=registration_cost,
        matches=matches,
        uncontested_value=uncontested,
        contested_value=contested,
        challenge_value=challenge,
        value_per_registration=value,
        break_even_uncontested_share=min(1.0, break_even),
        defended_value=defended,
        break_even_defended_share=defended_break_even,
        defence_net=s.deposit - g * (GAS["contest"] + GAS["resolve"]),
        revoked_share=d * q + (1 - d) * (u + (1 - u) * p),
        reviewed_defence_net=s.deposit
        - s.review_fee
        - g * (GAS["request_review"] + GAS["draw"] + GAS["contest"] + GAS["resolve"]),
    )


def wave1_squatting_value(s: SquatScenario) -> float:
    """The same campaign under the wave-1 rules, for comparison: bond-free commits, a one-step
    challenge decided by the compact rule alone, and the copy's whole bond paid to the
    challenger (at 1,000,000 registrations, ``registry_size x admissible_rate`` bonds)."""
    g = s.gas_price
    wave1_gas = {"commit": 46_102, "reveal": 137_853, "challenge": 67_217}
    cost = g * (wave1_gas["commit"] + wave1_gas["reveal"])
    per_challenge = s.bond - g * wave1_gas["challenge"]
    return -cost + s.registry_size * s.admissible_rate * max(0.0, per_challenge)


def central_admissible_rate(
    words: NDArray[np.uint64], groups: Sequence[str], *, threshold: int, top: int = 10
) -> tuple[float, float]:
    """(mean, top-``top``) per-pair compact admissibility rate of each image against images of
    other groups: the rate of a random registration and of the most "central" ones an attacker
    would pick to squat with. ``words`` is the (n, 4) uint64 array of compact fingerprints."""
    from aigc_lab.provenance.verdict_bench import _min_distance

    n = words.shape[0]
    if n < 2 or len(groups) != n:
        raise ValueError(f"need matching words and groups for 2+ images, got {n} / {len(groups)}")
    _, gid = np.unique(list(groups), return_inverse=True)
    counts = np.zeros(n, dtype=np.int64)
    others = n - np.bincount(gid)[gid]
    for start in range(0, n, 256):
        stop = min(n, start + 256)
        dist = _min_distance(words[start:stop], words)
        mask = gid[start:stop, None] != gid[None, :]
        counts[start:stop] = ((dist <= threshold) & mask).sum(axis=1)
    rates = counts / np.maximum(others, 1)
    return float(rates.mean()), float(np.sort(rates)[-top:].mean())
