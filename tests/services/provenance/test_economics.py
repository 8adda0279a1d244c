"""Squatting has a negative expected value under Registry v2 (issue 11), with numbers.

The scenario is the issue's: a registry of 1,000,000, the attacker's most central images (the
10 most admissible of the 12,075-image corpus: 4.48e-2 per pair), a detail stage that still
upholds 9.2e-2 of admissible distinct pairs (measured), and victims of whom many never contest.
Wave 1's rules are computed beside it and shown profitable,
so each test would fail against the old economics."""

from __future__ import annotations

from dataclasses import replace

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


# -- defended victims (`aigc defend`: contests exactly the pairs the detail rule rejects) --------


@pytest.mark.parametrize(
    ("gas_price", "defended", "challenge_eth", "revoked"),
    [
        (10**8, 0.0, +0.000177, 1.0),
        (10**8, 0.5, -0.004447, 0.546),
        (10**8, 0.9, -0.008145, 0.183),
        (10**8, 1.0, -0.009070, 0.092),
        (10**9, 0.0, -0.000032, 1.0),
        (10**9, 0.5, -0.004590, 0.546),
        (10**9, 0.9, -0.008235, 0.183),
        (10**9, 1.0, -0.009147, 0.092),
        (20 * 10**9, 0.0, -0.004449, 1.0),
        (20 * 10**9, 0.5, -0.007605, 0.546),
        (20 * 10**9, 0.9, -0.010130, 0.183),
        (20 * 10**9, 1.0, -0.010761, 0.092),
    ],
)
def test_one_challenge_of_inattentive_owners_some_of_whom_defend(
    gas_price, defended, challenge_eth, revoked
):
    """The griefing case: every undefended victim is silent for the whole window. The table of
    docs/provenance.md ("Defended victims")."""
    report = squatting_value(
        SquatScenario(gas_price=gas_price, uncontested_share=1.0, defended_share=defended)
    )
    assert report.challenge_value / ETH == pytest.approx(challenge_eth, abs=1e-6)
    assert report.revoked_share == pytest.approx(revoked, abs=1e-3)
    if defended > 0:
        assert report.value_per_registration == -report.registration_cost  # never challenges


def test_without_defenders_squatting_silent_owners_pays_on_cheap_gas_and_two_percent_stop_it():
    """At 0.1 gwei an early registration against owners who never contest earns ~7.9 ETH (44,800
    uncontested wins of ~0.000177 ETH): the griefing that the economics alone do not stop. A
    defender loses the squatter ~0.0091 ETH per challenge (the rule rejects 90.8% of admissible
    distinct pairs), so from 1.9% of victims defending, a challenge no longer pays."""
    silent = SquatScenario(gas_price=10**8, uncontested_share=1.0)
    report = squatting_value(silent)
    assert report.value_per_registration / ETH == pytest.approx(7.919, abs=1e-3)
    assert report.defended_value / ETH == pytest.approx(-0.009070, abs=1e-6)
    assert report.break_even_defended_share == pytest.approx(0.0191, abs=1e-4)
    below = replace(silent, defended_share=0.018)
    above = replace(silent, defended_share=0.020)
    assert squatting_value(below).challenge_value > 0 > squatting_value(above).challenge_value
    for gas_price in (10**9, 20 * 10**9):  # from 1 gwei it does not pay with no defender at all
        assert squatting_value(replace(silent, gas_price=gas_price)).break_even_defended_share == 0


def test_a_griefer_pays_about_a_tenth_of_an_ether_per_token_when_every_victim_defends():
    """Revoking for its own sake: where all victims defend, only the 9.2% of challenges whose
    pair the detail rule matches revoke, each at ~0.099 ETH of the griefer's lost deposits
    (at 1 gwei); where none defends it costs 0.000032 ETH."""
    every = squatting_value(SquatScenario(uncontested_share=1.0, defended_share=1.0))
    assert every.cost_per_revoked_token / ETH == pytest.approx(0.0994, abs=1e-4)
    nobody = squatting_value(SquatScenario(uncontested_share=1.0))
    assert nobody.cost_per_revoked_token / ETH == pytest.approx(0.000032, abs=1e-6)


@pytest.mark.parametrize(
    ("gas_price", "net_eth"), [(10**8, 0.00978), (10**9, 0.00779), (20 * 10**9, -0.03437)]
)
def test_a_defence_pays_the_defender_below_about_four_and_a_half_gwei(gas_price, net_eth):
    """Contest + resolve (~2.22M gas) against the squatter's 0.01 ETH deposit."""
    report = squatting_value(SquatScenario(gas_price=gas_price, defended_share=1.0))
    assert report.defence_net / ETH == pytest.approx(net_eth, abs=1e-5)


def test_a_bad_defended_share_is_refused():
    with pytest.raises(ValueError, match="defended_share"):
        SquatScenario(defended_share=-0.1)


def test_a_defences_gas_is_the_snapshots_and_the_defenders():
    """The contest and resolve a defence pays are the gas snapshot's `registry_contest` and
    `registry_resolve` (tests/contracts/gas_snapshot.json), the figures the defender prices a
    contest with (services/provenance/_forums.py): `resolve` had drifted 941 gas below both."""
    import json
    from pathlib import Path

    from aigc_lab.provenance.economics import GAS
    from services.provenance._forums import CONTEST_GAS, RESOLVE_GAS

    snapshot = json.loads(
        (Path(__file__).parents[2] / "contracts" / "gas_snapshot.json").read_text()
    )
    assert GAS["resolve"] == snapshot["registry_resolve"] == RESOLVE_GAS
    assert GAS["contest"] == snapshot["registry_contest"] == CONTEST_GAS


def test_every_registry_row_of_the_economics_is_the_gas_snapshots():
    """Every operation the squatting economics price that `aigc bench gas` measures is the
    snapshot's figure: the rows other than resolve / contest had lagged it by 22 to 6,988 gas
    (challenge 67,806 against 70,032, settle 127,058 against 120,070) since the contracts moved."""
    import json
    from pathlib import Path

    from aigc_lab.provenance.economics import GAS

    snapshot = json.loads(
        (Path(__file__).parents[2] / "contracts" / "gas_snapshot.json").read_text()
    )
    rows = {
        "lock": "htlc_lock_eth",
        "withdraw": "htlc_withdraw",
        "commit": "registry_commit",
        "reveal": "registry_reveal",
        "challenge": "registry_challenge",
        "contest": "registry_contest",
        "finalize": "registry_finalize",
        "resolve": "registry_resolve",
        "settle": "registry_settle",
    }
    assert {row: GAS[row] for row in rows} == {row: snapshot[key] for row, key in rows.items()}


# -- the committee (stage 3): a defender reviews the rule-matched pairs stage 3 rejects ----------


def _committee(**kw) -> SquatScenario:
    from aigc_lab.provenance.economics import REVIEW_UPHOLD_SHARE

    return SquatScenario(review_uphold_rate=REVIEW_UPHOLD_SHARE, **kw)


@pytest.mark.parametrize(
    ("gas_price", "per_token_eth", "without_eth"),
    [(10**8, 1.2904, 0.0986), (10**9, 1.2987, 0.0994), (20 * 10**9, 1.4747, 0.1170)],
)
def test_with_the_committee_a_griefer_pays_over_an_ether_per_defended_token(
    gas_price, per_token_eth, without_eth
):
    """Every victim defends and asks the committee where the detail rule matches but stage 3
    does not: only 0.77% of admissible challenges revoke (9.2% x 8.4%, the share of the
    rule-matched pairs stage 3 still matches), so each revoked token costs the griefer ~130 lost
    deposits instead of ~11."""
    with_jury = squatting_value(_committee(gas_price=gas_price, uncontested_share=1.0,
                                           defended_share=1.0))  # fmt: skip
    bare = squatting_value(
        SquatScenario(gas_price=gas_price, uncontested_share=1.0, defended_share=1.0)
    )
    assert with_jury.revoked_share == pytest.approx(0.0077, abs=1e-4)
    assert with_jury.cost_per_revoked_token / ETH == pytest.approx(per_token_eth, abs=1e-4)
    assert bare.cost_per_revoked_token / ETH == pytest.approx(without_eth, abs=1e-4)


def test_with_the_committee_fewer_defenders_stop_a_squatter_on_cheap_gas():
    """At 0.1 gwei against owners otherwise silent: 1.75% defended victims make a challenge a
    loss with the committee (1.91% without)."""
    report = squatting_value(_committee(gas_price=10**8, uncontested_share=1.0))
    assert report.break_even_defended_share == pytest.approx(0.0175, abs=1e-4)
    assert report.value_per_registration / ETH == pytest.approx(7.919, abs=1e-3)  # d = 0: same


@pytest.mark.parametrize(
    ("gas_price", "net_eth"), [(10**8, -0.00031), (10**9, -0.00311), (20 * 10**9, -0.06214)]
)
def test_a_reviewed_defence_costs_the_defender_the_fee_and_the_jurys_gas(gas_price, net_eth):
    """A defence the committee decides pays the 0.01 ETH review fee and the request, draw,
    contest and resolve gas (~3.11M with 20 jurors enrolled) against the squatter's 0.01 ETH
    deposit: the owner keeps its token at a small loss (docs/provenance.md, "Defended victims")."""
    report = squatting_value(_committee(gas_price=gas_price, defended_share=1.0))
    assert report.reviewed_defence_net / ETH == pytest.approx(net_eth, abs=1e-5)


def test_a_bad_review_uphold_rate_is_refused():
    with pytest.raises(ValueError, match="review_uphold_rate"):
        SquatScenario(review_uphold_rate=1.2)
