"""The claims of sections 1.2 and 2 (evaluation, gradients, cnn) on made-up per-seed facts: each check returns one
seed's effect in its unit, signed so the course's sentence holds when it is above 0; every claim holds on the
factory, fails on its counter-example, and never holds on degenerate input (diverged, collapsed, missing)."""

import copy
import math
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnrepro.report import claims
from nnrepro.report.claims import cnn, core, evaluation, gradients, seeds

HOLDS, FAILS, CANNOT = claims.HOLDS, claims.FAILS, claims.CANNOT
COURSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "reference/course_report.yaml").read_text())
MINE = (evaluation, gradients, cnn)
BY_ID = {c.claim_id: c for c in claims.CLAIMS if c.__wrapped__.__module__ in {m.__name__ for m in MINE}}
SPLITS = ("train", "validation", "test")
RUNS, PROBE_SEEDS, CNN_RUNS = 5, 5, 3  # MLP replicates, gradient-probe seeds, scratch/fine-tune replicates
LRS = (0.1, 0.01, 0.001, 0.0001, 0.00001)


def jitter(name: str, n: int, sd: float) -> np.ndarray:
    """Seed-to-seed noise of one run or cell, its own for each name (so differences between cells vary too)."""
    return np.random.default_rng(zlib.crc32(name.encode())).normal(0.0, sd, n)


# --- MLP grid --------------------------------------------------------------------------------------------------------
def grid_cell(depth, width, train, val, test, n=RUNS) -> dict:
    noise = jitter(f"d{depth}-w{width}-{train}-{val}", 3 * n, 0.002).reshape(n, 3)  # each split its own
    reps = [
        {
            **{f"final_{s}_acc": a + e for s, a, e in zip(SPLITS, (train, val, test), seed)},
            "diverged": False,
            "collapsed": False,
        }
        for seed in noise
    ]
    mean = {f"final_{s}_acc": float(np.mean([r[f"final_{s}_acc"] for r in reps])) for s in SPLITS}
    return {"depth": depth, "width": width, "diverged": False, "collapsed": False, **mean, "replicates": reps}


def history(gap, name, n=RUNS, epochs=20) -> dict:
    """A loss history whose validation and test losses end `gap` (relative) above the train loss, in each seed
    about as much (each seed's own noise)."""

    def one(g):
        train = [0.3 + 1.5 * math.exp(-0.3 * e) for e in range(epochs)]
        rows = {"epoch": [float(e + 1) for e in range(epochs)], "train_loss": train}
        for split, extra in (("validation", 0.0), ("test", 0.005)):
            rows[f"{split}_loss"] = [t * (1 + g + extra) for t in train]
        for split in SPLITS:
            rows[f"{split}_acc"] = [1 - x / 4 for x in rows[f"{split}_loss"]]
        return {**rows, "diverged": False, "collapsed": False}

    return {**one(gap), "replicates": [one(gap + e) for e in jitter(name, n, 0.004)]}


def spot_points(wrong_per_seed=(0, 1, 0, 1, 0), n=40) -> dict:
    """The best model's test points: n in Albania, n on Sardinia; seed k gets `wrong_per_seed[k]` of Sardinia's
    wrong."""
    truth = ["Albania"] * n + ["Italy"] * n
    return {
        "long": [20.0] * n + [9.0] * n,
        "lat": [41.0] * n + [40.0] * n,
        "country": truth,
        "replicates": [{"predicted": truth[: 2 * n - w] + ["France"] * w} for w in wrong_per_seed],
    }


def edge_points(errors_at=(9.0, 10.0), n=RUNS) -> dict:
    """Points on a lattice, country A west of longitude 9.5 and B east; each seed misclassifies the points at the
    longitudes `errors_at` (at one latitude more or less per seed, so the seeds differ)."""
    lons, lats = np.meshgrid(np.arange(0.0, 20.0), np.arange(40.0, 46.0))
    lon, lat = lons.ravel().tolist(), lats.ravel().tolist()
    truth = ["A" if x < 9.5 else "B" for x in lon]

    def predicted(k):
        flip = {"A": "B", "B": "A"}
        return [flip[t] if x in errors_at and y < 42 + k % 3 else t for t, x, y in zip(truth, lon, lat)]

    return {"long": lon, "lat": lat, "country": truth, "replicates": [{"predicted": predicted(k)} for k in range(n)]}


GRID = [
    (1, 16, 0.78, 0.78, 0.77),
    (2, 16, 0.84, 0.84, 0.83),
    (6, 16, 0.90, 0.90, 0.89),
    (10, 16, 0.88, 0.88, 0.87),
    (6, 8, 0.85, 0.85, 0.84),
    (6, 32, 0.945, 0.94, 0.935),
    (6, 64, 0.93, 0.875, 0.865),
]


# --- Gradient probe ---------------------------------------------------------------------------------------------------
def probe(grad, dead=0.25, acc=0.3, n=PROBE_SEEDS, epochs=3, name="plain") -> dict:
    """Every seed's curves: seed k's early layers scaled by 1 + 0.2 k and 1 - 0.2 k in turn (equal layers part), its
    dead fractions and accuracy moved a little, so the seeds' effects differ."""
    scale = [[1 + 0.2 * k * (-1) ** i for i in range(6)] for k in range(n)]
    noise = jitter(name, n, 0.01)
    return {
        "layers": [0, 30, 60, 90, 95, 99],
        "seeds": list(range(n)),
        "grad_sq_norm": [
            [[None if g is None else g * (s[i] if i < 4 else 1) for i, g in enumerate(grad)] for _ in range(epochs)]
            for s in scale
        ],
        "dead_fraction": [[[dead + 0.01 * k] * 6 for _ in range(epochs)] for k in range(n)],
        "final_validation_acc": [acc + e for e in noise],
        "diverged": [False] * n,
        "collapsed": [False] * n,
    }


PLAIN_GRAD = [1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1]
RESIDUAL_GRAD = [1e-2, 1e-2, 2e-2, 2e-2, 3e-2, 5e-2]


# --- CNN cells --------------------------------------------------------------------------------------------------------
def cnn_cell(name, acc, n) -> dict:
    """One CNN cell over n replicates around `acc` (validation and test alike); `runs` as readback counts them."""
    reps = [
        {"validation_acc": acc + e, "test_acc": acc + e, "diverged": False, "collapsed": False}
        for e in jitter(name, n, 0.005)
    ]
    mean = float(np.mean([r["validation_acc"] for r in reps]))
    return {
        "validation_acc": mean,
        "test_acc": mean,
        "diverged": False,
        "collapsed": False,
        "runs": n,
        "replicates": reps,
    }


def baseline(name, accs, n) -> dict:
    return {lr: cnn_cell(f"{name}-{lr:g}", a, n) for lr, a in zip(LRS, accs)}


SCRATCH_ACC = [0.49, 0.44, 0.56, 0.49, 0.48]
PROBE_ACC = [0.70, 0.65, 0.60, 0.55, 0.50]
TUNE_ACC = [0.50, 0.55, 0.80, 0.97, 0.70]


def facts() -> dict:
    """Made-up facts on which every claim of the three sections holds, in every seed."""
    return {
        "grid": {
            "cells": {f"d{d}-w{w}": grid_cell(d, w, *a) for d, w, *a in GRID},
            "best": "d6-w32",
            "worst": "d1-w16",
            "select_from": "course",
            "depth_slice_width": 16,
            "width_slice_depth": 6,
            "largest_share": 0.1,
            "best_history": history(0.05, "best"),
            "worst_history": history(0.04, "worst"),
            "best_points": spot_points(),
            "points": {"d6-w64": edge_points()},
        },
        "probe": {
            "depth": 100,
            "plain": probe(PLAIN_GRAD),
            "residual": probe(RESIDUAL_GRAD, dead=0.1, acc=0.6, name="residual"),
        },
        "cnn": {
            "cells": {
                "scratch": baseline("scratch", SCRATCH_ACC, CNN_RUNS),
                "probe": baseline("probe", PROBE_ACC, PROBE_SEEDS),
                "finetune": baseline("finetune", TUNE_ACC, CNN_RUNS),
            },
            "xgboost": {"validation_acc": 0.82, "test_acc": 0.82, "diverged": False, "collapsed": False},
            "n_images": {"validation": 2000, "test": 2000},
        },
        "course": copy.deepcopy(COURSE),
    }


# --- Edits -----------------------------------------------------------------------------------------------------------
def node_at(data, path):
    for key in path:
        data = data[key]
    return data


def put(*path_and_value):
    *path, value = path_and_value
    return lambda data: node_at(data, path[:-1]).__setitem__(path[-1], copy.deepcopy(value))


def drop(*path):
    return lambda data: node_at(data, path[:-1]).__delitem__(path[-1])


def flag(key, *path, seeds_=None):
    """Set `key` on a run or cell and its replicates (`seeds_`: only those replicates; a probe variant: its list)."""

    def edit(data):
        node = node_at(data, path)
        if "seeds" in node:
            node[key] = [seeds_ is None or k in seeds_ for k in range(len(node["seeds"]))]
            return
        reps = node.get("replicates", [])
        for k, record in enumerate(reps):
            record[key] = seeds_ is None or k in seeds_
        node[key] = seeds_ is None or not reps

    return edit


def edits(*fns):
    def edit(data):
        for fn in fns:
            fn(data)

    return edit


def zero_grads(variant, seeds_=None, layers=slice(None), epochs=slice(None)):
    """Gradients of exactly 0 in some seeds, layers and epochs of a probe variant."""

    def edit(data):
        for k, seed in enumerate(data["probe"][variant]["grad_sq_norm"]):
            if seeds_ is None or k in seeds_:
                for epoch in seed[epochs]:
                    epoch[layers] = [0.0] * len(epoch[layers])

    return edit


CELLS = ("grid", "cells")
SCRATCH, PROBE, TUNE = (("cnn", "cells", b) for b in ("scratch", "probe", "finetune"))


# --- Running a check -------------------------------------------------------------------------------------------------
def judge(claim_id, edit=None) -> dict:
    data = facts()
    if edit:
        edit(data)
    return BY_ID[claim_id](data)


def per_seed(claim_id, edit=None, paired=True) -> list:
    """The check's outcome in each seed's view: a Finding, or the Verdict that stopped it; `paired`: only the seeds
    every part it reads has, as the core counts them."""
    data = facts()
    if edit:
        edit(data)
    judged = BY_ID[claim_id]
    check = judged.__wrapped__
    th = core.section_thresholds(check)
    outcomes = [core._attempt(check, view, th) for view in seeds.seed_views(data, judged.over)]
    return core._paired(outcomes, seeds.shared_count(data, judged.over)) if paired else outcomes


def effects(outcomes) -> list:
    return [o.effect - getattr(o, "margin", 0.0) for o in outcomes if isinstance(o, core.Finding)]


def stopped(outcomes, verdict, reason=None) -> list:
    return [
        o
        for o in outcomes
        if isinstance(o, core.Verdict) and o.verdict == verdict and (reason is None or o.reason == reason)
    ]


COUNTER = {  # claim id -> an edit after which the sentence does not hold, seed by seed
    "best_generalises": put(*CELLS, "d6-w32", grid_cell(6, 32, 0.99, 0.94, 0.935)),
    "best_losses_converge": put("grid", "best_history", history(0.2, "best")),
    "best_accurate_small_countries": put("grid", "best_points", spot_points((12, 10, 11, 12, 10))),
    "worst_losses_close": put("grid", "worst_history", history(0.25, "worst")),
    "worst_not_too_inaccurate": put(*CELLS, "d1-w16", grid_cell(1, 16, 0.4, 0.4, 0.4)),
    "worst_underfits": put(*CELLS, "d1-w16", grid_cell(1, 16, 0.95, 0.78, 0.77)),
    "worst_is_one_layer": put(*CELLS, "d6-w8", grid_cell(6, 8, 0.7, 0.7, 0.7)),
    "shallow_below_deep": put(*CELLS, "d2-w16", grid_cell(2, 16, 0.95, 0.95, 0.94)),
    "depth10_no_gain": put(*CELLS, "d10-w16", grid_cell(10, 16, 0.909, 0.909, 0.899)),  # a gain of 0.9 points
    "width32_sweet_spot": put(*CELLS, "d6-w64", grid_cell(6, 64, 0.96, 0.875, 0.865)),  # w64 ahead on train only
    "width64_overfits": put(*CELLS, "d6-w64", grid_cell(6, 64, 0.89, 0.88, 0.87)),
    "width64_edge_errors": put("grid", "points", "d6-w64", edge_points(errors_at=(0.0, 19.0))),
    "plain_vanishing": put("probe", "plain", probe([1e-2] * 6)),
    "plain_not_dead_units": put("probe", "plain", probe(PLAIN_GRAD, dead=0.75)),
    "plain_backwards": put("probe", "plain", probe([1e-1, 1e-1, 1e-3, 1e-4, 1e-5, 1e-6])),
    "residual_alive": put("probe", "residual", probe([1e-9, 1e-2, 1e-2, 1e-2, 3e-2, 5e-2], dead=0.1, acc=0.6)),
    "residual_better_results": put("probe", "residual", probe(RESIDUAL_GRAD, acc=0.2, name="residual")),
    "finetune_best_low_lr": put(*TUNE, baseline("ft", [0.95, 0.55, 0.80, 0.85, 0.70], CNN_RUNS)),
    "probe_best_high_lr": put(*PROBE, 0.001, cnn_cell("p", 0.9, PROBE_SEEDS)),
    "finetune_inaccurate_high_lr": put(*TUNE, 0.01, cnn_cell("ft", 0.62, CNN_RUNS)),
    "probe_beats_finetune_high_lr": put(*TUNE, 0.01, cnn_cell("ft", 0.75, CNN_RUNS)),
    "finetune_much_better_than_scratch": put(*TUNE, baseline("ft", [0.5, 0.55, 0.6, 0.62, 0.58], CNN_RUNS)),
    "probe_beats_scratch": put(*SCRATCH, 0.001, cnn_cell("s", 0.8, CNN_RUNS)),
    "finetune_best_overall": put(*TUNE, baseline("ft", [0.5, 0.55, 0.6, 0.62, 0.58], CNN_RUNS)),
    "table_scratch_best_lr": put(*SCRATCH, 0.1, cnn_cell("s", 0.62, CNN_RUNS)),
    "table_scratch_worst_lr": put(*SCRATCH, 0.1, cnn_cell("s", 0.40, CNN_RUNS)),
    "table_probe_best_lr": put(*PROBE, 0.01, cnn_cell("p", 0.75, PROBE_SEEDS)),
    "table_probe_worst_lr": put(*PROBE, 0.0001, cnn_cell("p", 0.45, PROBE_SEEDS)),
    "table_finetune_worst_lr": put(*TUNE, 0.01, cnn_cell("ft", 0.40, CNN_RUNS)),
    "best_pick": put(*TUNE, 0.0001, cnn_cell("ft", 0.75, CNN_RUNS)),
    "worst_pick": put(*PROBE, baseline("p", [0.52, 0.5, 0.5, 0.5, 0.5], PROBE_SEEDS)),
}

DIVERGED_CELL = {"validation_acc": None, "test_acc": None, "diverged": True, "collapsed": False, "runs": 1}
MISSING, DROPPED = core.MISSING, core.COLLAPSED
DEGENERATE = [  # (claim id, edit, what a seed's view gives: FAILS, DROPPED or MISSING, the claim's verdict, a word)
    ("best_generalises", flag("diverged", *CELLS, "d6-w32"), FAILS, FAILS, "diverged"),
    ("best_generalises", flag("collapsed", *CELLS, "d6-w32"), FAILS, FAILS, "collapsed"),
    ("best_losses_converge", flag("diverged", "grid", "best_history"), FAILS, FAILS, "diverged"),
    ("best_losses_converge", drop("grid", "best_history"), MISSING, CANNOT, "best_history"),
    ("best_accurate_small_countries", put("grid", "best_points", None), MISSING, CANNOT, "best_test_predictions"),
    ("best_accurate_small_countries", flag("diverged", *CELLS, "d6-w32"), FAILS, FAILS, "diverged"),
    ("worst_losses_close", flag("collapsed", "grid", "worst_history"), FAILS, FAILS, "collapsed"),
    ("worst_not_too_inaccurate", flag("collapsed", *CELLS, "d1-w16"), FAILS, FAILS, "collapsed"),
    ("worst_not_too_inaccurate", flag("diverged", *CELLS, "d6-w32"), DROPPED, CANNOT, "diverged"),
    (
        "worst_not_too_inaccurate",
        edits(drop("grid", "largest_share"), drop("grid", "best_points")),
        MISSING,
        CANNOT,
        "share",
    ),
    ("worst_underfits", flag("collapsed", *CELLS, "d6-w32"), DROPPED, CANNOT, "collapsed"),
    ("worst_underfits", put("grid", "worst", "d6-w32"), MISSING, CANNOT, "same"),
    ("worst_is_one_layer", flag("diverged", *CELLS, "d2-w16"), DROPPED, CANNOT, "diverged"),
    ("shallow_below_deep", flag("collapsed", *CELLS, "d6-w16"), FAILS, FAILS, "collapsed"),
    ("shallow_below_deep", flag("collapsed", *CELLS, "d2-w16"), DROPPED, CANNOT, "collapsed"),
    ("depth10_no_gain", flag("collapsed", *CELLS, "d10-w16"), FAILS, FAILS, "collapsed"),
    ("depth10_no_gain", flag("diverged", *CELLS, "d6-w16"), DROPPED, CANNOT, "diverged"),
    ("width32_sweet_spot", flag("diverged", *CELLS, "d6-w32"), FAILS, FAILS, "diverged"),
    ("width32_sweet_spot", drop("grid", "width_slice_depth"), MISSING, CANNOT, "width_slice_depth"),
    ("width64_overfits", flag("collapsed", *CELLS, "d6-w64"), FAILS, FAILS, "collapsed"),
    ("width64_overfits", flag("collapsed", *CELLS, "d6-w8"), DROPPED, CANNOT, "collapsed"),
    ("width64_edge_errors", drop("grid", "points"), MISSING, CANNOT, "per-point"),
    ("width64_edge_errors", put("grid", "points", "d6-w64", edge_points(errors_at=())), FAILS, FAILS, "no test point"),
    ("plain_vanishing", zero_grads("plain"), FAILS, FAILS, "dead"),
    ("plain_vanishing", put("probe", "plain", probe([None] * 6)), MISSING, CANNOT, "missing values"),
    ("plain_vanishing", flag("diverged", "probe", "plain"), FAILS, FAILS, "diverged"),
    ("plain_not_dead_units", flag("diverged", "probe", "plain"), FAILS, FAILS, "diverged"),
    ("plain_not_dead_units", drop("probe", "plain"), MISSING, CANNOT, "probe.plain"),
    ("plain_backwards", zero_grads("plain", layers=slice(4, 6), epochs=slice(1, 2)), FAILS, FAILS, "exactly 0"),
    ("plain_backwards", zero_grads("plain"), FAILS, FAILS, "dead"),
    ("residual_alive", zero_grads("residual", layers=slice(0, 1), epochs=slice(1, None)), FAILS, FAILS, "epoch 2"),
    ("residual_alive", flag("collapsed", "probe", "residual"), FAILS, FAILS, "collapsed"),
    ("residual_alive", drop("probe", "residual"), MISSING, CANNOT, "probe.residual"),
    ("residual_better_results", flag("collapsed", "probe", "plain"), DROPPED, CANNOT, "collapsed"),
    ("residual_better_results", flag("collapsed", "probe", "residual"), FAILS, FAILS, "collapsed"),
    ("residual_better_results", put("probe", "plain", "final_validation_acc", [None] * 5), MISSING, CANNOT, "plain"),
    ("finetune_best_low_lr", put(*TUNE, {lr: DIVERGED_CELL for lr in (0.1, 0.01, 0.001)}), FAILS, FAILS, "winning"),
    ("finetune_best_low_lr", edits(*(put(*TUNE, lr, DIVERGED_CELL) for lr in (0.1, 0.01))), DROPPED, CANNOT, "other"),
    ("finetune_best_low_lr", put(*TUNE, {0.001: cnn_cell("ft", 0.9, CNN_RUNS)}), MISSING, CANNOT, "no trained"),
    ("finetune_best_low_lr", flag("collapsed", *TUNE, 0.0001), FAILS, FAILS, "collapsed"),
    (
        "probe_best_high_lr",
        edits(put(*PROBE, 0.1, DIVERGED_CELL), put(*PROBE, 0.01, DIVERGED_CELL)),
        FAILS,
        FAILS,
        "winning",
    ),
    (
        "finetune_inaccurate_high_lr",
        put(*TUNE, {0.001: cnn_cell("ft", 0.9, CNN_RUNS)}),
        MISSING,
        CANNOT,
        "no fine-tune",
    ),
    (
        "finetune_inaccurate_high_lr",
        edits(put(*TUNE, 0.1, DIVERGED_CELL), put(*TUNE, 0.01, DIVERGED_CELL)),
        DROPPED,
        CANNOT,
        "diverged",
    ),
    ("probe_beats_finetune_high_lr", flag("diverged", *TUNE, 0.1), DROPPED, CANNOT, "diverged"),
    ("probe_beats_finetune_high_lr", flag("collapsed", *PROBE, 0.1), FAILS, FAILS, "collapsed"),
    ("finetune_much_better_than_scratch", flag("collapsed", *TUNE, 0.0001), FAILS, FAILS, "collapsed"),
    ("finetune_much_better_than_scratch", put(*SCRATCH, {}), MISSING, CANNOT, "empty"),
    ("probe_beats_scratch", flag("collapsed", *PROBE, 0.1), FAILS, FAILS, "collapsed"),
    ("finetune_best_overall", put("cnn", "xgboost", "test_acc", None), MISSING, CANNOT, "XGBoost"),
    ("finetune_best_overall", flag("collapsed", *TUNE, 0.0001), FAILS, FAILS, "collapsed"),
    ("table_scratch_best_lr", flag("diverged", *SCRATCH, 0.1), DROPPED, CANNOT, "diverged"),
    ("table_scratch_best_lr", flag("collapsed", *SCRATCH, 0.001), FAILS, FAILS, "collapsed"),
    ("table_scratch_worst_lr", drop(*SCRATCH, 0.01), MISSING, CANNOT, "not among"),
    (
        "table_scratch_worst_lr",
        edits(flag("collapsed", *SCRATCH, 0.01), flag("collapsed", *SCRATCH, 0.00001)),
        DROPPED,
        CANNOT,
        "tie",
    ),
    ("table_probe_best_lr", drop("course", "2.1"), MISSING, CANNOT, "course"),
    ("table_probe_best_lr", flag("diverged", *PROBE, 0.1), FAILS, FAILS, "diverged"),
    ("table_probe_worst_lr", flag("diverged", *PROBE, 0.00001), DROPPED, CANNOT, "diverged"),
    ("table_probe_worst_lr", edits(*(flag("collapsed", *PROBE, lr) for lr in LRS)), DROPPED, CANNOT, "tie"),
    ("table_finetune_worst_lr", drop(*TUNE, 0.1), MISSING, CANNOT, "not among"),
    ("best_pick", flag("diverged", *TUNE, 0.0001), FAILS, FAILS, "diverged"),
    ("best_pick", flag("collapsed", *TUNE, 0.0001), FAILS, FAILS, "collapsed"),
    ("worst_pick", flag("diverged", *SCRATCH, 0.001), FAILS, FAILS, "diverged"),
    ("worst_pick", drop(*SCRATCH, 0.001), MISSING, CANNOT, "not among"),
    ("worst_pick", edits(*(flag("collapsed", *SCRATCH, lr) for lr in (0.1, 0.001, 0.0001))), DROPPED, CANNOT, "tie"),
]


# --- Every claim: holds, fails, degenerate ---------------------------------------------------------------------------
@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_holds_in_every_seed_of_the_factory(claim_id):
    outcomes = per_seed(claim_id)
    assert outcomes and all(e > 0 for e in effects(outcomes)), outcomes
    assert not stopped(outcomes, FAILS) and not stopped(outcomes, CANNOT, MISSING), outcomes
    assert judge(claim_id)["verdict"] == HOLDS


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_fails_on_its_counter_example(claim_id):
    outcomes = per_seed(claim_id, COUNTER[claim_id])
    found = effects(outcomes)
    assert found and np.mean(found) < 0 and not stopped(outcomes, CANNOT, MISSING), outcomes
    result = judge(claim_id, COUNTER[claim_id])
    assert result["verdict"] == FAILS and result["evidence"], result


@pytest.mark.parametrize(
    "claim_id, edit, seen, verdict, word", DEGENERATE, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(DEGENERATE)]
)
def test_degenerate_input_never_holds(claim_id, edit, seen, verdict, word):
    outcomes = per_seed(claim_id, edit)
    kind = {FAILS: stopped(outcomes, FAILS), DROPPED: stopped(outcomes, CANNOT, DROPPED)}.get(
        seen, stopped(outcomes, CANNOT, MISSING)
    )
    assert any(word.lower() in o.evidence.lower() for o in kind), outcomes
    result = judge(claim_id, edit)
    assert result["verdict"] == verdict, result


def test_every_claim_has_a_counter_example_and_a_degenerate_case():
    assert set(COUNTER) == set(BY_ID) == {c for c, *_ in DEGENERATE}


def test_the_findings_carry_no_holds_override():
    for claim_id in BY_ID:
        for outcome in effects_and_findings(per_seed(claim_id)):
            assert getattr(outcome, "holds", None) is None and math.isfinite(outcome.effect), claim_id


def test_every_claim_quotes_the_course_exactly():
    text = (Path(__file__).resolve().parents[1] / "reference/course_report.md").read_text()
    assert [c.claim_id for c in BY_ID.values() if c({})["sentence"] not in text] == []


# --- The fixed checks, one rule each ----------------------------------------------------------------------------------
def test_depth10_needs_a_decay_and_a_gain_of_0_9_points_does_not_hold():
    def decay(edit=None):
        data = facts()
        if edit:
            edit(data)
        cells = data["grid"]["cells"]
        return cells["d6-w16"]["final_validation_acc"] - cells["d10-w16"]["final_validation_acc"]

    gain = per_seed("depth10_no_gain", COUNTER["depth10_no_gain"])
    assert (
        np.mean(effects(gain)) == pytest.approx(decay(COUNTER["depth10_no_gain"]))
        and decay(COUNTER["depth10_no_gain"]) < 0
    )
    assert np.mean(effects(per_seed("depth10_no_gain"))) == pytest.approx(decay()) and decay() > 0.015


def test_residual_better_results_does_not_pass_against_a_plain_net_collapsed_in_every_seed():
    every = judge("residual_better_results", flag("collapsed", "probe", "plain"))
    assert every["verdict"] == CANNOT and every["reason"] == core.COLLAPSED, every
    some = per_seed("residual_better_results", flag("collapsed", "probe", "plain", seeds_={0, 1}))
    assert len(stopped(some, CANNOT, DROPPED)) == 2 and len(effects(some)) == 3


def test_a_dead_seed_stays_dead_among_live_ones():
    """Two dead seeds of five: their views fail, whatever the three others' curves would average to."""
    outcomes = per_seed("plain_vanishing", zero_grads("plain", seeds_={3, 4}))
    assert len(stopped(outcomes, FAILS)) == 2 and len(effects(outcomes)) == 3
    assert judge("plain_vanishing", zero_grads("plain", seeds_={3, 4}))["verdict"] == FAILS


def test_residual_alive_reads_the_last_layers_the_plain_picture_keeps():
    """Layer 0's gradient (raw inputs) may be huge: the cure is judged on its smallest layer against the last ones."""
    big_first = put("probe", "residual", probe([1e4, 0.5, 0.5, 0.5, 0.5, 0.5], acc=0.6, name="residual"))
    assert all(e > 0 for e in effects(per_seed("residual_alive", big_first)))
    faded = put("probe", "residual", probe([1e4, 1e-6, 0.5, 0.5, 0.5, 0.5], acc=0.6, name="residual"))
    assert all(e < 0 for e in effects(per_seed("residual_alive", faded)))


def test_plain_not_dead_units_reads_the_most_dead_early_layer_not_the_mean():
    def one_dead_layer(data):
        for seed in data["probe"]["plain"]["dead_fraction"]:
            seed[-1][2] = 1.0

    assert all(e < 0 for e in effects(per_seed("plain_not_dead_units", one_dead_layer)))


def test_worst_not_too_inaccurate_is_its_share_of_the_best_lead_over_guessing():
    (first, *_) = per_seed("worst_not_too_inaccurate")
    cells = facts()["grid"]["cells"]
    worst, best = (cells[n]["replicates"][0]["final_test_acc"] for n in ("d1-w16", "d6-w32"))
    assert first.effect == pytest.approx((worst - 0.1) / (best - 0.1) - evaluation.NOT_TOO_INACCURATE)


def test_the_chance_level_falls_back_to_the_test_points_largest_class():
    no_share = per_seed("worst_not_too_inaccurate", drop("grid", "largest_share"))
    assert all(o.numbers["chance"] == 0.5 for o in no_share)  # Albania and Italy, 40 points each


def test_width32_sweet_spot_needs_every_split_train_included():
    outcomes = per_seed("width32_sweet_spot", COUNTER["width32_sweet_spot"])
    assert all(o.numbers["train_lead"] < 0 < o.numbers["validation_lead"] for o in outcomes)


def test_edge_distance_is_the_nearest_point_of_another_country():
    points = edge_points()
    distance = evaluation._edge_distance(tuple(points["long"]), tuple(points["lat"]), tuple(points["country"]))
    lon = np.asarray(points["long"])
    assert distance[lon == 9.0] == pytest.approx(np.cos(np.radians(np.asarray(points["lat"])[lon == 9.0])), rel=0.02)
    assert distance[lon == 0.0].min() > 8 * distance[lon == 9.0].max()


def test_kendall_tau_is_plus_one_when_gradients_grow_toward_the_output():
    layers = np.array([0, 30, 60, 90])
    assert gradients._concordance(layers, np.array([1e-9, 1e-8, 1e-4, 1.0])) == 1.0
    assert gradients._concordance(layers, np.array([1.0, 1e-4, 1e-8, 1e-9])) == -1.0
    assert gradients._concordance(layers, np.zeros(4)) == 0.0  # a dead net is no order at all


# --- Seeds: pairing by replicate, counting only what varies -----------------------------------------------------------
def test_a_claim_over_cells_of_different_seed_counts_counts_the_fewer():
    """Probe cells over 5 replicates, fine-tune cells over 3: views 3 and 4 drop every claim reading fine-tuning."""
    for claim_id in ("probe_beats_finetune_high_lr", "finetune_best_overall", "best_pick"):
        outcomes = per_seed(claim_id, paired=False)
        assert len(outcomes) == PROBE_SEEDS and len(effects(outcomes)) == CNN_RUNS, claim_id
        assert [k for k, o in enumerate(outcomes) if "fewer" in getattr(o, "evidence", "")] == [3, 4]
        assert judge(claim_id)["seeds_counted"] == CNN_RUNS, claim_id
    assert len(effects(per_seed("probe_best_high_lr"))) == PROBE_SEEDS  # the probe alone: all its seeds
    assert judge("probe_best_high_lr")["seeds_counted"] == PROBE_SEEDS


def test_view_k_pairs_replicate_k_of_each_cell():
    (first, *_) = per_seed("probe_beats_finetune_high_lr")
    data = facts()
    lead = {
        lr: data["cnn"]["cells"]["probe"][lr]["replicates"][0]["test_acc"]
        - data["cnn"]["cells"]["finetune"][lr]["replicates"][0]["test_acc"]
        for lr in (0.1, 0.01)
    }
    assert first.effect == pytest.approx(min(lead.values()))


def test_only_a_single_run_side_gives_its_binomial():
    replicated = per_seed("probe_beats_scratch")
    assert all(o.binomial is None for o in effects_and_findings(replicated))
    boost = per_seed("finetune_best_overall")  # the runner-up XGBoost is one run: its binomial alone, one side
    assert all(o.binomial == pytest.approx(math.sqrt(0.82 * 0.18 / 2000)) for o in effects_and_findings(boost))
    assert all(o.sides == 1 for o in effects_and_findings(boost))

    def one_seed_scratch(data):
        for cell in data["cnn"]["cells"]["scratch"].values():
            del cell["replicates"], cell["runs"]

    single = per_seed("probe_beats_scratch", one_seed_scratch)
    assert all(o.sides == 1 for o in effects_and_findings(single))
    assert all(
        o.binomial == pytest.approx(math.sqrt(0.56 * 0.44 / 2000), rel=0.05) for o in effects_and_findings(single)
    )
    assert len(set(round(o.numbers["scratch_test_acc"], 9) for o in effects_and_findings(single))) == 1


def effects_and_findings(outcomes) -> list:
    return [o for o in outcomes if isinstance(o, core.Finding)]


def test_the_thresholds_are_the_module_constants_listed():
    for module in MINE:
        assert module.THRESHOLDS and all(isinstance(getattr(module, n), (int, float)) for n in module.THRESHOLDS)
    assert "NO_GAIN_MARGIN" not in evaluation.THRESHOLDS  # depth 10 needs a decay: no margin for a gain


def test_dropped_duplicates_are_gone():
    dropped = {"width32_best_all_splits", "table_finetune_best_lr", "scratch_near_chance", "xgboost_vs_probe"}
    assert not dropped & set(BY_ID)  # xgboost_vs_probe: "with the XGBoost having a single best" compares nothing


def test_losses_converge_eventually_noise_in_early_epochs_does_not_count():
    """'some noise in some epochs, but the calculations eventually converge': a spike before the last epochs is no
    gap; the same spike kept to the end is."""

    def spike(epochs):
        def edit(data):
            for record in (data["grid"]["best_history"], *data["grid"]["best_history"]["replicates"]):
                record["validation_loss"] = [
                    v * (3 if i in epochs else 1) for i, v in enumerate(record["validation_loss"])
                ]

        return edit

    calm = effects(per_seed("best_losses_converge"))
    assert effects(per_seed("best_losses_converge", spike({3, 4}))) == pytest.approx(calm)
    assert all(e < 0 for e in effects(per_seed("best_losses_converge", spike(set(range(20))))))


def test_a_cells_replicates_are_counted_from_the_selection_where_it_has_no_runs():
    """readback's facts today: no `runs` on a cell, its cnn_evaluate selection row keeps every replicate."""

    def from_selection(data):
        rows = []
        for name, cells in data["cnn"]["cells"].items():
            for lr, cell in cells.items():
                cell["cell"] = f"{name}-{lr:g}"
                rows.append({**cell})
                del cell["runs"]
        data["cnn"]["selection"] = {"cells": rows}

    assert all(o.binomial is None for o in effects_and_findings(per_seed("probe_beats_scratch", from_selection)))
    assert cnn._runs({"cnn": {"cells": {}}}, {"validation_acc": 0.5}) == 1  # nothing says more: one run
