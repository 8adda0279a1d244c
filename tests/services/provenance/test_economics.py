"""Squatting has a negative expected value under Registry v2 (issue 11), with numbers.

The scenario is the issue's: a registry of 1,000,000, the attacker's most central images (the
10 most admissible of the 12,075-image corpus: 4.48e-2 per pair), a detail stage that still
upholds 9.2e-2 of admissible distinct pairs (measured), and victims of whom many never contest.
Wave 1's rules are computed beside it and shown profitable,
so each test would fail against the old economics."""

from __future__ import annotations

import pytest

from aigc_lab.provenance.economics import SquatScenario, squatting_value, wave1_squatting_value

ETH = 10**18


@pytest.mark.parametrize("gas_price", [10**8, 10**9, 20 * 10**9])  # 0.1, 1 and 20 gwei
@pytest.mark.parametrize("silent", [0.0, 0.5, 0.9, 0.97])
def test_squatting_loses_money_at_a_million_registrations(gas_price, silent):
    s = SquatScenario(gas_price=gas_price, uncontested_share=silent)
    report = squatting_value(s)
    assert report.matches == pytest.approx(44_800)  # ~45,000 admissible victims per squat
    assert report.value_per_registration < 0
    assert report.value_per_registration == -report.registration_cost  # it never challenges
    assert wave1_squatting_value(s) > 300 * ETH  # the old rules paid each victim's bond


def test_an_uncontested_win_pays_at_most_the_challengers_gas_at_one_gwei():
    report = squatting_value(SquatScenario(gas_price=10**9))
    assert report.uncontested_value <= 0  # the reward covers ~200k gas at 1 gwei, no more
    assert report.break_even_uncontested_share == 1.0


def test_on_cheap_gas_only_near_total_silence_would_pay():
    """At 0.1 gwei an uncontested win nets ~0.00018 ETH while a contested challenge loses ~0.008
    ETH on average: the campaign pays only if about 98% of victims never contest a week-long
    window that the watch notifies them of (the measured break-even is 0.979)."""
    report = squatting_value(SquatScenario(gas_price=10**8))
    assert report.uncontested_value > 0
    assert 0.97 < report.break_even_uncontested_share < 0.98
    assert (
        squatting_value(
            SquatScenario(gas_price=10**8, uncontested_share=0.97)
        ).value_per_registration
        < 0
    )


def test_the_detail_rule_makes_contested_challenges_a_loss():
    """Even with the detail stage upholding 9.2% of admissible distinct pairs (the measured
    share), a contested challenge loses the squatter ~0.0084 ETH on average at 1 gwei."""
    report = squatting_value(SquatScenario())
    assert report.contested_value < -0.008 * ETH


def test_bad_scenarios_are_refused():
    with pytest.raises(ValueError, match="uncontested_share"):
        SquatScenario(uncontested_share=1.5)
    with pytest.raises(ValueError, match="reward"):
        SquatScenario(reward=10**17)


def test_central_images_are_found_by_their_admissibility_rate():
    import numpy as np

    from aigc_lab.provenance.economics import central_admissible_rate

    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, size=(40, 4), dtype=np.uint64)
    words[1] = words[0]  # image 0 matches image 1 ...
    words[2] = words[0]  # ... and 2, but 2 is a variant of 0 (same group): not counted
    groups = [str(i) for i in range(40)]
    groups[2] = "0"
    mean, top = central_admissible_rate(words, groups, threshold=15, top=1)
    assert top == pytest.approx(2 / 39)  # image 1 matches 0 and 2 (of another group than 1)
    assert 0 < mean < top
    with pytest.raises(ValueError, match="matching"):
        central_admissible_rate(words, groups[:3], threshold=15)
