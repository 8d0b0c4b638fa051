"""The verdict rule of every claim (core): the 95% Student-t interval of the per-seed effects against the claim's
margin, its early exits, pseudo-replication, the minimum detectable effect and the sensitivity moves."""

import math

import numpy as np
import pytest
from scipy import stats

from nnrepro.report.claims import core
from nnrepro.report.claims.core import CANNOT, FAILS, HOLDS, Finding, cannot, fails

PLANTED = np.random.default_rng(31).normal(0.0, 1.0, 8)  # 8 seeds' noise, one SD


def planted(mean: float, margin: float = 0.0) -> list:
    """8 seeds' effects: the planted noise, standardised to SD 1, around `mean`."""
    z = (PLANTED - PLANTED.mean()) / PLANTED.std(ddof=1)
    return [mean + float(x) for x in z]


def judged(effects, **finding) -> dict:
    return core.judge_findings([Finding(e, "", **finding) for e in effects])


def check_of(outcomes: list):
    """A check whose view k (view {"k": k}) finds outcomes[k]: a float effect, or a Verdict to raise."""

    def check(facts, th):
        outcome = outcomes[facts.get("k", 0)]
        if isinstance(outcome, core.Verdict):
            raise outcome
        return Finding(outcome, f"seed {facts.get('k')}")

    return check


def assessed(outcomes: list) -> dict:
    return core.assess(check_of(outcomes), {"k": 0}, [{"k": k} for k in range(len(outcomes))], core.Thresholds({}))


def test_two_sds_over_eight_seeds_hold_and_the_same_numbers_around_zero_do_not():
    effects = planted(2.0)
    assert judged(effects)["verdict"] == HOLDS
    shuffled = [abs(e) * s for e, s in zip(effects, [1, -1] * 4)]  # the same sizes, signs balanced
    result = judged(shuffled)
    assert abs(np.mean(shuffled)) < 1 and result["verdict"] == CANNOT and result["reason"] == core.WITHIN_NOISE


def test_the_interval_is_scipys_student_t_with_n_minus_one_degrees_of_freedom():
    effects = planted(2.0)
    result = judged(effects)
    se = np.std(effects, ddof=1) / math.sqrt(8)
    lo, hi = stats.t.interval(0.95, 7, loc=np.mean(effects), scale=se)
    assert result["interval"] == pytest.approx([lo, hi]) and result["noise"] == pytest.approx(se)
    assert result["margin_in_intervals"] == pytest.approx(np.mean(effects) / (hi - np.mean(effects)))
    assert result["seeds_counted"] == 8 and result["seeds_above"] == "8 of 8"


def test_an_interval_wholly_below_the_margin_does_not_hold():
    assert judged(planted(-2.0))["verdict"] == FAILS


def test_the_margin_moves_the_verdict():
    effects = planted(2.0)
    assert judged(effects, margin=0.0)["verdict"] == HOLDS
    assert judged(effects, margin=2.0)["verdict"] == CANNOT  # the same effects, a margin at their mean
    assert judged(effects, margin=4.0)["verdict"] == FAILS and judged(effects, margin=4.0)["margin"] == 4.0


def test_the_minimum_detectable_effect_has_power_point_nine():
    result = judged(planted(2.0))
    se, crit = result["noise"], stats.t.ppf(0.975, 7)
    nc = result["min_detectable_effect"] / se
    assert stats.nct.sf(crit, 7, nc) + stats.nct.cdf(-crit, 7, nc) == pytest.approx(0.9, abs=1e-6)
    assert result["min_detectable_effect"] < 2.0  # 2 SDs over 8 seeds are decided with power 0.9
    assert judged(planted(2.0)[:3])["min_detectable_effect"] > 2.0  # 3 seeds cannot promise it


def test_effects_that_do_not_vary_are_one_run_judged_on_binomial_and_run_to_run_noise():
    alone = judged([0.05] * 8)
    assert alone["verdict"] == CANNOT and alone["reason"] == core.ONE_RUN and alone["seeds_counted"] == 1
    one = judged([0.05] * 8, binomial=0.01)  # the run-to-run noise, 0.057, swamps a 0.05 lead
    assert one["seeds_counted"] == 1 and one["verdict"] == CANNOT
    assert one["noise"] == pytest.approx(math.sqrt(0.01**2 + core.RUN_TO_RUN**2))
    assert one["interval"][1] - 0.05 == pytest.approx(stats.norm.ppf(0.975) * one["noise"], rel=1e-6)
    assert judged([0.2] * 8, binomial=0.01)["verdict"] == HOLDS
    two = judged([0.2] * 8, binomial=0.01, sides=2)  # both sides single runs: twice the run-to-run variance
    assert two["noise"] == pytest.approx(math.sqrt(0.01**2 + 2 * core.RUN_TO_RUN**2))


def test_a_varying_side_adds_its_spread_to_the_single_runs_noise():
    effects = [0.1 + 0.01 * k for k in range(8)]
    result = judged(effects, binomial=0.02)
    seeds = np.var(effects, ddof=1) / 8
    assert result["noise"] == pytest.approx(math.sqrt(seeds + 0.02**2 + core.RUN_TO_RUN**2))


def test_a_missing_seed_cannot_be_judged():
    result = assessed([1.0, cannot("no run"), 1.1, 1.2])
    assert (result["verdict"], result["reason"]) == (CANNOT, core.MISSING) and "replicate 1" in result["evidence"]


def test_a_failing_seed_does_not_hold_and_is_named():
    result = assessed([5.0, 5.1, fails("lr 0.1 diverged"), 5.2, 5.3])
    assert result["verdict"] == FAILS and result["evidence"].startswith("replicate 2 of 5: lr 0.1 diverged")


def test_a_collapsed_comparison_drops_its_seed_and_too_few_left_cannot_be_judged():
    kept = assessed([5.0, cannot("rival collapsed", core.COLLAPSED), 5.1, 5.2, 5.3])
    assert kept["verdict"] == HOLDS and kept["seeds_counted"] == 4
    dropped = [cannot("rival collapsed", core.COLLAPSED)] * 3
    few = assessed([5.0, 5.1, *dropped])
    assert (few["verdict"], few["reason"]) == (CANNOT, core.COLLAPSED) and "replicates 2, 3, 4 dropped" in few[
        "evidence"
    ]


def test_a_non_finite_effect_cannot_be_judged():
    assert assessed([1.0, math.nan, 1.2])["reason"] == core.MISSING


def test_one_seed_is_one_run():
    result = core.assess(check_of([0.5]), {"k": 0}, [], core.Thresholds({}))
    assert result["verdict"] == CANNOT and result["reason"] == core.ONE_RUN


def test_within_noise_says_whether_it_is_a_tie_or_too_few_seeds():
    tie = judged(planted(0.3))  # 8 seeds decide 2 SDs: a 0.3 SD effect within noise is a tie
    assert tie["verdict"] == CANNOT and tie["undecided"] == core.TIE and "a true tie" in tie["evidence"]
    few = judged(planted(0.3)[:3])  # 3 seeds cannot decide 2 SDs
    assert few["verdict"] == CANNOT and few["undecided"] == core.FEW_SEEDS and few["min_detectable_effect"] > 2
    one = judged([0.01] * 8, binomial=0.01)  # one run never decides 2 of its SDs
    assert one["verdict"] == CANNOT and one["undecided"] == core.FEW_SEEDS
    assert judged(planted(2.0))["undecided"] is None


@pytest.mark.parametrize(
    "value, moved",
    [
        (0.8, [0.6, 1.0]),  # an accuracy stays <= 1
        (0.1, [0.075, 0.125]),
        (1.5, [1.125, 1.875]),  # a ratio is not clamped
        (10, [8, 12]),  # an integer moves round(25%)
        (2, [1, 3]),  # at least one step
        (1, [2]),  # and stays >= 1
        ((10, 20), [(8, 15), (12, 25)]),  # a window moves both ends
    ],
)
def test_sensitivity_moves_floats_integers_and_windows_and_keeps_them_valid(value, moved):
    assert core.moves(value) == pytest.approx(moved) if not isinstance(value, tuple) else core.moves(value) == moved


def test_an_integer_threshold_near_its_verdict_is_sensitive():
    def check(facts, th):
        return Finding(facts["x"] - th.WINDOW + 0.01 * facts["k"], "")

    views = [{"x": 10.5, "k": k} for k in range(8)]
    th = core.Thresholds({"WINDOW": 10})
    verdict = core.assess(check, views[0], views, th)["verdict"]
    assert verdict == HOLDS and core.sensitive_to(check, views[0], views, th, verdict) == ["WINDOW"]
    th = core.Thresholds({"WINDOW": 2})
    assert core.sensitive_to(check, views[0], views, th, HOLDS) == []


def test_a_previous_threshold_value_is_re_judged():
    def check(facts, th):
        return Finding(facts["x"] - th.SHARE + 0.001 * facts["k"], "")

    views = [{"x": 0.85, "k": k} for k in range(8)]
    th = core.Thresholds({"SHARE": 0.8})
    assert core.assess(check, views[0], views, th)["verdict"] == HOLDS  # reads SHARE
    assert core.with_previous(check, views[0], views, th, {"SHARE": 0.9}) == {"SHARE": FAILS}
    assert core.with_previous(check, views[0], views, core.Thresholds({"SHARE": 0.8}), {}) == {}


def test_a_part_with_fewer_seeds_pairs_only_the_seeds_it_has():
    cells = [4.0, 4.2, 4.1]  # a CNN cell of 3 seeds compared with a probe cell of 8
    outcomes = [*cells, *[cannot("the cell has no replicate k")] * 5]
    check = check_of(outcomes)
    views = [{"k": k} for k in range(8)]
    paired = core.assess(check, {"k": 0}, views, core.Thresholds({}), shared=3)
    assert paired["verdict"] == HOLDS and paired["seeds_counted"] == 3
    assert core.assess(check, {"k": 0}, views, core.Thresholds({}))["reason"] == core.MISSING  # nothing shared
    gap = check_of([4.0, cannot("no value"), 4.1, 4.2, 4.3])  # a seed inside the shared ones is missing
    assert core.assess(gap, {"k": 0}, views[:5], core.Thresholds({}), shared=3)["reason"] == core.MISSING


def test_the_shared_seeds_are_those_every_replicated_part_has():
    from nnrepro.report.claims import seeds

    facts = {"cnn": {"probe": {"replicates": [{}] * 8}, "finetune": {"replicates": [{}] * 3}}}
    assert seeds.seed_count(facts, seeds.CNN) == 8 and seeds.shared_count(facts, seeds.CNN) == 3
    assert seeds.shared_count({"long": {"replicates": [{}] * 8}}, seeds.RUNS) == 8


SHARE = 0.8  # a threshold of this module, as a section module has them
THRESHOLDS = ("SHARE",)


def test_a_registered_claim_gives_every_field_and_its_verdict_under_a_previous_threshold():
    @core.claim("planted", "1.1.1", "A share above SHARE.", "no words")
    def planted_claim(facts, th):
        return Finding(get_share(facts) - th.SHARE, f"share {get_share(facts)}", {"share": get_share(facts)})

    def get_share(facts):
        return facts["long"]["share"]

    core.REGISTRY.remove(planted_claim)
    runs = [{"share": 0.85 + 0.001 * k} for k in range(8)]
    facts = {"long": {"share": 0.8535, "replicates": runs}}
    result = planted_claim(facts, None, {"SHARE": 0.9})
    assert result["verdict"] == HOLDS and result["seeds_counted"] == 8
    assert result["verdict_with_previous"] == {"SHARE": FAILS}
    assert result["sensitive_to"] == ["SHARE"] and result["numbers"] == {"share": 0.8535}
    assert result["interval"][0] > 0 and result["margin_in_intervals"] > 1 and result["min_detectable_effect"] > 0
    assert planted_claim(facts)["verdict_with_previous"] == {}
