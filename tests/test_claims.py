"""The claims package across its sections: the registry (every claim once, in the course's order, its words quoted
exactly), check_all's fields and counts on the sections' factories together, collapsed or wrecked facts never holding
vacuously, each seed's view of the facts, and what the package may import. Each claim's own cases are in
tests/test_claims_optimisation.py (1.1.1-1.1.4) and tests/test_claims_evaluation.py (1.2-2.2); the verdict rule in
tests/test_verdicts.py."""

import ast
import json
import re
from pathlib import Path

import pytest
import test_claims_evaluation as evaluation_cases
import test_claims_optimisation as optimisation_cases

from nnrepro.report import claims
from nnrepro.report.claims import core, reading, seeds

HOLDS, FAILS, CANNOT = claims.HOLDS, claims.FAILS, claims.CANNOT
ROOT = Path(__file__).resolve().parents[1]
COURSE_TEXT = ROOT / "reference/course_report.md"  # the course's text, as given (may be absent)
SECTIONS = ("optimisation", "batch", "evaluation", "gradients", "cnn")  # the report's order
FIELDS = {
    "id",
    "section",
    "claim",
    "sentence",
    "verdict",
    "reason",
    "undecided",
    "note",
    "effect",
    "noise",
    "interval",
    "margin",
    "margin_in_intervals",
    "seeds_counted",
    "seeds_above",
    "seed_effects",
    "min_detectable_effect",
    "threshold_sensitive",
    "sensitive_to",
    "verdict_with_previous",
    "numbers",
    "evidence",
}
REMOVED = {"larger_batches_faster", "scratch_near_chance", "table_finetune_best_lr", "width32_best_all_splits"}
REMOVED |= {"xgboost_vs_probe"}  # "with the XGBoost having a single best" compares nothing


def facts() -> dict:
    """Every section's made-up facts, on which every claim holds: 1.1's runs over 8 seeds, the grid over 5, the
    probe over 5, the CNN cells over 3 and 5."""
    return {**optimisation_cases.facts(), **evaluation_cases.facts()}  # evaluation's course block is the whole file


def runs_and_cells(data: dict) -> list:
    """(container, name) of every MLP run, grid cell (and the best and worst cells' histories) and CNN cell."""
    containers = [*data["lr_sweep"].values(), data["long"], data["batch"], data["grid"]["cells"]]
    histories = [(data["grid"], f"{which}_history") for which in ("best", "worst")]  # the best and worst cells'
    return [(c, name) for c in containers + list(data["cnn"]["cells"].values()) for name in c] + histories


def flag_everywhere(data: dict, key: str) -> None:
    """Set `key` (diverged or collapsed) on every run and cell, each replicate, every probe seed and XGBoost."""
    for container, name in runs_and_cells(data):
        for record in (container[name], *container[name].get("replicates", [])):
            record[key] = True
    for variant in ("plain", "residual"):
        data["probe"][variant][key] = [True] * len(data["probe"][variant]["seeds"])
    data["cnn"]["xgboost"][key] = True


def test_the_registry_holds_every_section_in_the_reports_order_each_claim_once():
    ids = [c.claim_id for c in claims.CLAIMS]
    blocks = [c.section_block for c in claims.CLAIMS]
    assert len(ids) == len(set(ids)) == 54 and not REMOVED & set(ids)
    assert blocks == sorted(blocks, key=SECTIONS.index)  # each module's claims together, modules in order
    sections = [tuple(map(int, c(facts())["section"].split("."))) for c in claims.CLAIMS[:1]]
    assert sections == [(1, 1, 1)] and ids[0] == "lr_largest_stalls" and ids[-1] == "worst_pick"


def test_the_2_1_claims_follow_the_course_text():
    """The course's 2.1 gives its table, then its sentences; the claims register in that order."""
    results = [r for r in claims.check_all({}) if r["section"] == "2.1"]
    assert [r["id"] for r in results][:5] == [f"table_{b}_{r}_lr" for b, r in core_table_rows()]
    text = COURSE_TEXT.read_text() if COURSE_TEXT.exists() else None
    if text is None:
        pytest.skip(f"{COURSE_TEXT} is not in the repository")
    at = [text.index(r["sentence"]) for r in results[5:]]
    assert at == sorted(at), [r["id"] for r in results[5:]]


def core_table_rows() -> list:
    rows = [(b, r) for b in claims.cnn.TABLE for r in ("best", "worst")]
    return [row for row in rows if row != ("finetune", "best")]  # best_pick judges that one


def test_every_claim_quotes_the_course_exactly():
    if not COURSE_TEXT.exists():
        pytest.skip(f"{COURSE_TEXT} is not in the repository")
    text = COURSE_TEXT.read_text()
    assert [c["id"] for c in claims.check_all({}) if c["sentence"] not in text] == []


def test_check_all_holds_everywhere_on_the_factories_and_has_the_shape():
    results = claims.check_all(facts())
    assert claims.verdict_counts(results) == {HOLDS: 54, FAILS: 0, CANNOT: 0}
    assert claims.reason_counts(results) == {"within noise": 0, "collapsed": 0, "missing": 0, "one run": 0}
    for r in results:
        assert set(r) == FIELDS, r["id"]
        assert r["interval"][0] > r["margin"] and r["seeds_counted"] >= 3 and r["min_detectable_effect"] > 0, r
        assert r["sentence"] and "\n" not in r["evidence"] and re.fullmatch(r"[12](\.\d)+", r["section"])
    assert json.dumps(results) == json.dumps(claims.check_all(facts()))  # the same facts, the same bytes


def test_a_claim_counts_the_seeds_its_parts_share():
    counted = {r["id"]: r["seeds_counted"] for r in claims.check_all(facts())}
    assert counted["lr_largest_stalls"] == 8 and counted["best_generalises"] == 5  # 1.1's runs: 8, the grid: 5
    assert counted["residual_alive"] == 5 and counted["probe_beats_scratch"] == 3  # probe 5; scratch 3 beside 5


def test_counts_split_the_unjudged_by_reason():
    data = facts()
    del data["grid"]["best_points"]  # missing: best_accurate_small_countries
    data["course"].pop("2.2")  # missing: best_pick, worst_pick
    optimisation_cases.collapse("lr_sweep", "plain", 0.01)(data)  # lr 0.01 plain: compared with by two claims
    results = claims.check_all(data)
    unjudged = {r["id"]: r["reason"] for r in results if r["verdict"] == CANNOT}
    assert unjudged == {
        "lr_smallest_slow": "collapsed",
        "bn_steadier_lr001": "collapsed",
        "bn_steadier_most_lr001": "collapsed",
        "bn_stabilises_faster": "collapsed",
        "bn_remains_stable": "collapsed",
        "best_accurate_small_countries": "missing",
        "best_pick": "missing",
        "worst_pick": "missing",
    }
    assert claims.reason_counts(results) == {"within noise": 0, "collapsed": 5, "missing": 3, "one run": 0}
    assert claims.verdict_counts(results) == {
        HOLDS: 46,
        FAILS: 0,
        CANNOT: 8,
    }  # lr_middle_best: its subject, judged on its loss


def test_nothing_holds_vacuously_when_every_run_and_cell_collapsed():
    data = facts()
    flag_everywhere(data, "collapsed")
    results = claims.check_all(data)
    held = [r for r in results if r["verdict"] == HOLDS]
    assert all(r["note"] == core.COLLAPSED_NOTE for r in held), [(r["id"], r["note"]) for r in held]
    assert len(held) < 15, [r["id"] for r in held]  # only where the course itself describes the run failing


def test_empty_or_wrecked_facts_never_hold():
    assert claims.verdict_counts(claims.check_all({}))[CANNOT] == len(claims.CLAIMS)
    data = facts()
    flag_everywhere(data, "diverged")
    for variant in ("plain", "residual"):
        evaluation_cases.zero_grads(variant)(data)
        data["probe"][variant]["final_validation_acc"] = [None] * len(data["probe"][variant]["seeds"])
    data["cnn"]["xgboost"]["test_acc"] = None
    assert [r["id"] for r in claims.check_all(data) if r["verdict"] == HOLDS] == []


def test_a_diverged_run_only_compared_with_drops_the_seed_not_the_claim():
    with pytest.raises(core.Verdict) as compared:
        reading.live({"diverged": True}, "plain lr 1", subject=False)
    assert (compared.value.verdict, compared.value.reason) == (CANNOT, core.COLLAPSED)
    with pytest.raises(core.Verdict) as about:
        reading.live({"diverged": True}, "plain lr 1", subject=True)
    assert about.value.verdict == FAILS
    data = facts()
    evaluation_cases.flag("diverged", "grid", "cells", "d6-w8", seeds_={0})(data)  # worst_is_one_layer compares it
    result = claims.CLAIMS[[c.claim_id for c in claims.CLAIMS].index("worst_is_one_layer")](data)
    assert (result["verdict"], result["seeds_counted"]) == (HOLDS, 4), result


def test_each_seed_sees_its_replicate_its_grid_cells_and_its_probe_seed():
    data = facts()
    views = seeds.seed_views(data, seeds.RUNS)
    assert len(views) == 8 and seeds.shared_count(data, seeds.RUNS) == 5  # 1.1's runs 8 beside the grid's 5
    long = data["long"]["plain"]["replicates"][2]["validation_loss"]
    assert views[2]["long"]["plain"]["validation_loss"] == long
    assert views[0]["grid"]["cells"]["d6-w32"]["final_test_acc"] == pytest.approx(
        data["grid"]["cells"]["d6-w32"]["replicates"][0]["final_test_acc"]
    )
    assert views[6]["grid"]["cells"]["d6-w32"] == {}  # past the grid's replicates
    assert "replicates" not in views[0]["lr_sweep"]["plain"][1.0] and views[0]["cnn"] is data["cnn"]
    probe_views = seeds.seed_views(data, seeds.PROBE)
    assert len(probe_views) == 5 and probe_views[3]["probe"]["plain"]["seeds"] == [3]
    assert seeds.seed_views(data, seeds.ONE) == [] and seeds.seed_count({}, seeds.RUNS) == 1


def test_cnn_seed_views_project_only_the_cnn_cells():
    data = facts()
    views = seeds.seed_views(data, seeds.CNN)
    probe = data["cnn"]["cells"]["probe"][0.1]["replicates"][4]["validation_acc"]
    assert len(views) == 5 and views[4]["cnn"]["cells"]["probe"][0.1]["validation_acc"] == probe
    assert views[4]["cnn"]["cells"]["finetune"][0.1] == {}  # fine-tune has 3 replicates
    assert views[1]["long"] is data["long"]  # nothing outside the CNN study is projected


def test_numbers_are_rounded_to_six_significant_digits():
    data = facts()
    data["cnn"]["xgboost"]["test_acc"] = 0.823456789  # the runner-up of finetune_best_overall
    judged = claims.CLAIMS[[c.claim_id for c in claims.CLAIMS].index("finetune_best_overall")](data)
    assert judged["numbers"]["xgboost_test_acc"] == 0.823457


def test_every_section_names_its_thresholds_and_checks_read_no_other():
    for name in SECTIONS:
        module = getattr(claims, name)
        assert module.THRESHOLDS and all(isinstance(getattr(module, n), (int, float)) for n in module.THRESHOLDS)
    with pytest.raises(AttributeError, match="THRESHOLDS"):
        _ = core.Thresholds({"A": 0.1}).B


def test_previous_threshold_values_re_judge_the_claims_that_read_them():
    previous = {"optimisation": {"STALL_DROP": 0.002}}  # the factory's largest lr drops 0.6%: no stall under 0.2%
    results = {r["id"]: r for r in claims.check_all(facts(), previous)}
    assert results["lr_largest_stalls"]["verdict_with_previous"] == {"STALL_DROP": FAILS}
    readers = {i for i, r in results.items() if r["verdict_with_previous"]}
    assert readers == {"lr_largest_stalls", "lr_smallest_slow"}  # the two claims that read STALL_DROP


def test_excess_variation_is_zero_for_monotone_curves():
    assert reading.excess_variation([3, 2, 1]) == 0
    assert reading.excess_variation([3, 1, 2, 1]) == pytest.approx(2.0)


def test_claims_imports_only_the_standard_library_numpy_scipy_and_itself():
    names = set()
    for path in Path(claims.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    stdlib = {"dataclasses", "functools", "math", "sys"}
    assert {name.split(".")[0] for name in names} <= stdlib | {"numpy", "scipy", "nnrepro"}
    package = {f"nnrepro.report.claims.{m}" for m in ("core", "reading", "seeds", "trends")}
    shared = {"nnrepro.report.interval"}  # the verdict rule's statistics, which replication and timings use too
    assert {n for n in names if n.startswith("nnrepro")} <= {"nnrepro", "nnrepro.report.claims"} | package | shared


def test_a_bug_in_a_check_fails_loudly_instead_of_becoming_a_verdict():
    @core.claim("buggy", "0", "a check with a typo", "no words")
    def buggy(facts, th):
        return facts["no such key"]

    core.REGISTRY.remove(buggy)
    with pytest.raises(KeyError):
        buggy({})
