"""Every claim on made-up numbers over three seeds: it holds, a counter-example does not, degenerate input never
holds, a collapsed subject gives the verdict its docstring promises; and the verdict machinery: effect against
noise, seeds, threshold sensitivity."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnrepro.report import claims
from nnrepro.report.claims import core, seeds

HOLDS, FAILS, CANNOT = claims.HOLDS, claims.FAILS, claims.CANNOT
COURSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "reference/course_report.yaml").read_text())
SPLITS = ("train", "validation", "test")
JITTER = (-1, 0, 1)  # replicate k's curve is the mean's times 1 + 0.002 k: seeds that agree


def curves(val_loss, scale=1.0, epochs=None) -> dict:
    """A history whose accuracy is 1 - loss / 4 on every split (synthetic)."""
    loss = [None if x is None else x * scale for x in val_loss]
    acc = [None if x is None else 1 - x / 4 for x in loss]
    return {
        "epoch": epochs or [float(e) for e in range(1, len(loss) + 1)],
        **{f"{s}_{k}": list(v) for s in SPLITS for k, v in (("loss", loss), ("acc", acc))},
    }


def run(val_loss, diverged=False) -> dict:
    return {
        **curves(val_loss),
        "diverged": diverged,
        "collapsed": False,
        "replicates": [{**curves(val_loss, 1 + 0.002 * j), "diverged": diverged, "collapsed": False} for j in JITTER],
    }


def decay(start, end, rate, peak=0.0, every=3, n=30) -> list:
    """start -> end exponentially over n epochs, `peak` added to every `every`-th evaluation."""
    return [end + (start - end) * math.exp(-rate * i) + (peak if i % every == every - 1 else 0) for i in range(n)]


FLAT = [3.0, 2.9] * 15
PLAIN = {
    1.0: FLAT,
    0.01: decay(1.0, 0.4, 0.15, 0.15),
    0.001: decay(1.2, 0.4, 0.1, 0.06, 4),
    0.0001: list(np.linspace(2.0, 1.3, 30)),
}
BATCHNORM = {
    1.0: [3.0, 2.0] * 15,
    0.01: decay(0.8, 0.36, 0.8),
    0.001: decay(0.9, 0.38, 0.7),
    0.0001: decay(1.5, 0.6, 0.1),
}
LONG_DROP = list(np.linspace(2.0, 0.5, 20))


def batch_run(batch, epochs, first_acc, first_loss, final_acc, seconds, rate=1.0, noise=0.0) -> dict:
    steps = [round(0.1 * i, 1) for i in range(1, 11)] + [float(e) for e in range(2, epochs + 1)]
    acc = [first_acc] + [final_acc] * (len(steps) - 1)
    loss = [0.5 + (first_loss - 0.5) * math.exp(-rate * (s - 0.1)) + noise * (i % 2) for i, s in enumerate(steps)]
    history = {"epoch": steps, **{f"{s}_{k}": v for s in SPLITS for k, v in (("loss", loss), ("acc", acc))}}
    return {
        **history,
        "diverged": False,
        "collapsed": False,
        "batch_size": batch,
        "epochs": epochs,
        "seconds_per_epoch": seconds,
        "replicates": [{**history, "diverged": False, "collapsed": False}] * 3,
    }


def cell(depth, width, train, val, test) -> dict:
    finals = {f"final_{s}_acc": a for s, a in zip(SPLITS, (train, val, test))}
    return {
        "depth": depth,
        "width": width,
        "diverged": False,
        "collapsed": False,
        **finals,
        "replicates": [
            {**{k: v + 0.001 * j for k, v in finals.items()}, "diverged": False, "collapsed": False} for j in JITTER
        ],
    }


def probe(grad, dead=0.25, acc=0.3, seeds=5, epochs=3) -> dict:
    return {
        "layers": [0, 30, 60, 90, 95, 99],
        "seeds": list(range(seeds)),
        "grad_sq_norm": [[list(grad) for _ in range(epochs)] for _ in range(seeds)],
        "dead_fraction": [[[dead] * 6 for _ in range(epochs)] for _ in range(seeds)],
        "final_validation_acc": [acc] * seeds,
        "collapsed": [False] * seeds,
    }


LRS = (0.1, 0.01, 0.001, 0.0001, 0.00001)


def cnn(accs, seeded=False) -> dict:
    """A baseline's cells by lr; `seeded`: each over three seeds around its mean (the linear probe's cells)."""

    def one(a):
        return {"validation_acc": a, "test_acc": a, "diverged": False, "collapsed": False}

    return {
        lr: {**one(a), **({"replicates": [one(a + 0.001 * j) for j in JITTER]} if seeded else {})}
        for lr, a in zip(LRS, accs)
    }


def points(right=True, n=10) -> dict:
    """The best model's test points: n in Albania, n in Sardinia, all right (or all Italy's Sardinia wrong)."""
    truth = ["Albania"] * n + ["Italy"] * n
    return {
        "long": [20.0] * n + [9.0] * n,
        "lat": [41.0] * n + [40.0] * n,
        "country": truth,
        "replicates": [{"predicted": truth if right else truth[:n] + ["France"] * n}] * 3,
    }


def facts() -> dict:
    """Complete made-up facts on which every claim holds."""
    grid = [
        (1, 16, 0.78, 0.78, 0.77),
        (2, 16, 0.84, 0.84, 0.83),
        (6, 16, 0.90, 0.90, 0.89),
        (10, 16, 0.89, 0.89, 0.88),
        (6, 8, 0.85, 0.85, 0.84),
        (6, 32, 0.94, 0.93, 0.92),
        (6, 64, 0.935, 0.88, 0.87),
    ]
    return {
        "lr_sweep": {
            "plain": {lr: run(v) for lr, v in PLAIN.items()},
            "batchnorm": {lr: run(v) for lr, v in BATCHNORM.items()},
        },
        "long": {"plain": run(LONG_DROP + [0.6, 0.5] * 5), "batchnorm": run(LONG_DROP + [0.52, 0.5] * 5)},
        "batch": {
            "b1-e1": batch_run(1, 1, 0.8, 1.0, 0.8, 40.0),
            "b16-e1": batch_run(16, 1, 0.5, 1.5, 0.6, 4.0),
            "b128-e50": batch_run(128, 50, 0.3, 2.0, 0.9, 0.8, noise=0.04),
            "b1024-e50": batch_run(1024, 50, 0.1, 2.5, 0.85, 0.2, rate=0.1),
        },
        "grid": {
            "cells": {f"d{d}-w{w}": cell(d, w, *a) for d, w, *a in grid},
            "best": "d6-w32",
            "worst": "d1-w16",
            "select_from": "course",
            "depth_slice_width": 16,
            "width_slice_depth": 6,
            "best_points": points(),
        },
        "probe": {
            "depth": 100,
            "plain": probe([1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1]),
            "residual": probe([1e-2, 1e-2, 2e-2, 2e-2, 3e-2, 5e-2], dead=0.1, acc=0.6),
        },
        "cnn": {
            "cells": {
                "scratch": cnn([0.49, 0.44, 0.56, 0.49, 0.48]),
                "probe": cnn([0.70, 0.65, 0.60, 0.55, 0.50], True),
                "finetune": cnn([0.50, 0.60, 0.80, 0.90, 0.70]),
            },
            "xgboost": {"validation_acc": 0.72, "test_acc": 0.72},
            "n_images": {"validation": 2000, "test": 2000},
        },
        "course": copy.deepcopy(COURSE),
    }


SECTIONS_1_1 = ("optimisation", "batch")  # their claims: tests/test_claims_optimisation.py
BY_ID = {c.claim_id: c for c in claims.CLAIMS if c.__module__.rsplit(".", 1)[-1] not in SECTIONS_1_1}


def judge(claim_id: str, edit=None) -> dict:
    data = facts()
    if edit:
        edit(data)
    return BY_ID[claim_id](data)


def node_at(data, path):
    for key in path:
        data = data[key]
    return data


def put(*path_and_value):
    """An edit setting facts[path...] = value."""
    *path, value = path_and_value
    return lambda data: node_at(data, path[:-1]).__setitem__(path[-1], copy.deepcopy(value))


def drop(*path):
    return lambda data: node_at(data, path[:-1]).__delitem__(path[-1])


def flag(key, *path):
    """An edit setting `key` on a run or cell and each of its replicates (a probe variant: on every seed)."""

    def edit(data):
        node = node_at(data, path)
        for record in (node, *node.get("replicates", [])):
            record[key] = [True] * len(node["seeds"]) if "seeds" in node else True

    return edit


def diverge(*path):
    return flag("diverged", *path)


def collapse(*path):
    return flag("collapsed", *path)


def edits(*fns):
    def edit(data):
        for fn in fns:
            fn(data)

    return edit


def pmutate(variant, fn):
    """Apply fn(grad_sq_norm, dead_fraction) (nested lists, every seed) to one probe."""
    return lambda data: fn(data["probe"][variant]["grad_sq_norm"], data["probe"][variant]["dead_fraction"])


def zero_from_epoch_2(grads, dead):
    for seed in grads:
        for epoch in seed[1:]:
            epoch[0] = 0.0


def all_zero(grads, dead):
    for seed in grads:
        for epoch in seed:
            epoch[:] = [0.0] * len(epoch)


def dead_seeds(count):
    def edit(grads, dead):
        for seed in grads[len(grads) - count :]:
            for epoch in seed:
                epoch[:] = [0.0] * 6

    return edit


SCRATCH, PROBE, TUNE, CELLS = (
    ("cnn", "cells", "scratch"),
    ("cnn", "cells", "probe"),
    ("cnn", "cells", "finetune"),
    ("grid", "cells"),
)
DIVERGED_CNN = {"validation_acc": None, "test_acc": None, "diverged": True}


def cnn_cell(acc):
    return {"validation_acc": acc, "test_acc": acc, "diverged": False, "collapsed": False}


def scratch_all(edit_of_path):
    return edits(*(edit_of_path(*SCRATCH, lr) for lr in LRS))


COUNTER = {  # claim id -> an edit after which the claim does not hold
    "best_generalises": put(*CELLS, "d6-w32", cell(6, 32, 0.99, 0.93, 0.92)),
    "best_accurate_small_countries": put("grid", "best_points", points(right=False)),
    "worst_underfits": put(*CELLS, "d1-w16", cell(1, 16, 0.95, 0.78, 0.77)),
    "worst_not_too_inaccurate": put(*CELLS, "d1-w16", cell(1, 16, 0.6, 0.6, 0.6)),
    "worst_is_one_layer": put(*CELLS, "d6-w8", cell(6, 8, 0.7, 0.7, 0.7)),
    "shallow_below_deep": put(*CELLS, "d2-w16", cell(2, 16, 0.95, 0.95, 0.94)),
    "depth10_no_gain": put(*CELLS, "d10-w16", cell(10, 16, 0.95, 0.95, 0.94)),
    "width32_sweet_spot": put(*CELLS, "d6-w16", cell(6, 16, 0.96, 0.95, 0.94)),
    "width32_best_all_splits": put(*CELLS, "d6-w64", cell(6, 64, 0.97, 0.88, 0.87)),
    "width64_overfits": put(*CELLS, "d6-w64", cell(6, 64, 0.89, 0.88, 0.87)),
    "plain_vanishing": put("probe", "plain", probe([1e-2] * 6)),
    "plain_not_dead_units": put("probe", "plain", probe([1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1], dead=0.75)),
    "residual_alive": put("probe", "residual", probe([1e-9, 1e-2, 1e-2, 1e-2, 1e-2, 1e-2], dead=0.1, acc=0.6)),
    "residual_better_results": put("probe", "residual", "final_validation_acc", [0.2] * 5),
    "finetune_best_low_lr": put(*TUNE, 0.1, cnn_cell(0.95)),
    "probe_best_high_lr": put(*PROBE, 0.001, cnn_cell(0.9)),
    "probe_beats_finetune_high_lr": put(*TUNE, 0.01, cnn_cell(0.7)),
    "probe_beats_scratch": put(*SCRATCH, 0.001, cnn_cell(0.8)),
    "scratch_near_chance": put(*SCRATCH, 0.1, cnn_cell(0.7)),
    "xgboost_vs_probe": put("cnn", "xgboost", {"validation_acc": 0.6, "test_acc": 0.6}),
    "finetune_best_overall": put("cnn", "xgboost", {"validation_acc": 0.95, "test_acc": 0.95}),
    "table_scratch_best_lr": put(*SCRATCH, 0.1, cnn_cell(0.62)),
    "table_scratch_worst_lr": put(*SCRATCH, 0.1, cnn_cell(0.40)),
    "table_probe_best_lr": put(*PROBE, 0.01, cnn_cell(0.75)),
    "table_probe_worst_lr": put(*PROBE, 0.0001, cnn_cell(0.45)),
    "table_finetune_best_lr": put(*TUNE, 0.001, cnn_cell(0.95)),
    "table_finetune_worst_lr": put(*TUNE, 0.01, cnn_cell(0.40)),
    "best_pick": put(*PROBE, 0.1, cnn_cell(0.95)),
    "worst_pick": put(*PROBE, cnn([0.52, 0.5, 0.5, 0.5, 0.5])),
}

DEGENERATE = [  # (claim id, edit, the verdict its docstring promises, a word of the evidence)
    ("best_generalises", put("grid", "best", "d9-w99"), CANNOT, "d9-w99"),
    ("best_generalises", put(*CELLS, "d6-w32", "final_train_acc", float("nan")), CANNOT, "train accuracy"),
    ("best_accurate_small_countries", put("grid", "best_points", None), CANNOT, "best_test_predictions.csv"),
    (
        "worst_underfits",
        edits(diverge(*CELLS, "d1-w16"), put(*CELLS, "d1-w16", "final_train_acc", None)),
        CANNOT,
        "diverged",
    ),
    ("worst_underfits", put("grid", "worst", "d6-w32"), CANNOT, "same"),
    ("worst_not_too_inaccurate", diverge(*CELLS, "d6-w32"), CANNOT, "diverged"),
    ("worst_is_one_layer", diverge(*CELLS, "d2-w16"), CANNOT, "diverged"),
    ("shallow_below_deep", drop(*CELLS, "d2-w16"), CANNOT, "depth 2"),
    ("depth10_no_gain", diverge(*CELLS, "d10-w16"), CANNOT, "diverged"),
    ("width32_sweet_spot", diverge(*CELLS, "d6-w32"), FAILS, "diverged"),
    ("width32_sweet_spot", drop("grid", "width_slice_depth"), CANNOT, "width_slice_depth"),
    ("width32_best_all_splits", drop(*CELLS, "d6-w32"), CANNOT, "width 32"),
    ("width64_overfits", diverge(*CELLS, "d6-w64"), FAILS, "diverged"),
    ("width64_overfits", diverge(*CELLS, "d6-w8"), CANNOT, "diverged"),
    ("plain_vanishing", pmutate("plain", all_zero), FAILS, "dead"),
    ("plain_vanishing", put("probe", "plain", "grad_sq_norm", []), CANNOT, "empty"),
    ("plain_vanishing", put("probe", "plain", probe([None] * 6)), CANNOT, "missing values"),
    (
        "plain_not_dead_units",
        put("probe", "plain", probe([1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1], dead=1.0)),
        FAILS,
        "layer 0: 1",
    ),
    ("residual_alive", pmutate("residual", zero_from_epoch_2), FAILS, "from epoch 2"),
    ("residual_alive", pmutate("residual", all_zero), FAILS, "dead"),
    ("residual_alive", drop("probe", "residual"), CANNOT, "probe.residual"),
    ("residual_better_results", put("probe", "plain", "final_validation_acc", [None] * 5), CANNOT, "plain"),
    ("finetune_best_low_lr", put(*TUNE, {lr: DIVERGED_CNN for lr in (0.1, 0.01, 0.001)}), CANNOT, "finetune"),
    ("probe_best_high_lr", edits(put(*PROBE, 0.1, DIVERGED_CNN), put(*PROBE, 0.01, DIVERGED_CNN)), CANNOT, "high"),
    ("probe_beats_finetune_high_lr", put(*TUNE, 0.1, DIVERGED_CNN), CANNOT, "diverged"),
    ("probe_beats_finetune_high_lr", put(*PROBE, 0.1, DIVERGED_CNN), FAILS, "diverged"),
    ("probe_beats_scratch", put(*SCRATCH, {}), CANNOT, "empty"),
    ("scratch_near_chance", put(*SCRATCH, 0.01, DIVERGED_CNN), CANNOT, "diverged"),
    ("xgboost_vs_probe", drop("cnn", "xgboost"), CANNOT, "xgboost"),
    ("finetune_best_overall", put("cnn", "xgboost", "test_acc", None), CANNOT, "XGBoost"),
    ("table_scratch_best_lr", put(*SCRATCH, 0.1, DIVERGED_CNN), CANNOT, "diverged"),
    ("table_scratch_worst_lr", drop(*SCRATCH, 0.01), CANNOT, "not among"),
    ("table_probe_best_lr", drop("course", "2.1"), CANNOT, "course"),
    ("table_probe_worst_lr", put(*PROBE, 0.00001, DIVERGED_CNN), CANNOT, "diverged"),
    ("table_finetune_best_lr", put(*TUNE, 0.01, DIVERGED_CNN), CANNOT, "diverged"),
    ("table_finetune_worst_lr", drop(*TUNE, 0.1), CANNOT, "not among"),
    ("best_pick", put(*TUNE, 0.0001, DIVERGED_CNN), CANNOT, "diverged"),
    ("worst_pick", put(*SCRATCH, 0.001, DIVERGED_CNN), CANNOT, "diverged"),
]

COLLAPSE = "holds (collapsed: one class predicted)"
NO, UNJUDGED = FAILS, "cannot be judged (collapsed)"
COLLAPSED = [  # (claim id, the run or cell to collapse, the verdict shown, as its docstring promises)
    ("best_generalises", (*CELLS, "d6-w32"), NO),
    ("best_accurate_small_countries", (*CELLS, "d6-w32"), NO),
    ("worst_underfits", (*CELLS, "d1-w16"), COLLAPSE),
    ("worst_underfits", (*CELLS, "d6-w32"), UNJUDGED),
    ("worst_not_too_inaccurate", (*CELLS, "d1-w16"), NO),
    ("worst_is_one_layer", (*CELLS, "d1-w16"), COLLAPSE),
    ("worst_is_one_layer", (*CELLS, "d6-w8"), UNJUDGED),
    ("shallow_below_deep", (*CELLS, "d2-w16"), UNJUDGED),
    ("shallow_below_deep", (*CELLS, "d6-w16"), NO),
    ("depth10_no_gain", (*CELLS, "d10-w16"), UNJUDGED),
    ("width32_sweet_spot", (*CELLS, "d6-w32"), NO),
    ("width32_best_all_splits", (*CELLS, "d6-w8"), UNJUDGED),
    ("width64_overfits", (*CELLS, "d6-w64"), NO),
    ("plain_vanishing", ("probe", "plain"), COLLAPSE),
    ("plain_not_dead_units", ("probe", "plain"), COLLAPSE),
    ("residual_alive", ("probe", "residual"), NO),
    ("residual_better_results", ("probe", "plain"), COLLAPSE),
    ("residual_better_results", ("probe", "residual"), NO),
    ("finetune_best_low_lr", (*TUNE, 0.0001), NO),
    ("finetune_best_low_lr", (*TUNE, 0.01), COLLAPSE),
    ("probe_best_high_lr", (*PROBE, 0.1), NO),
    ("probe_beats_finetune_high_lr", (*PROBE, 0.1), NO),
    ("probe_beats_finetune_high_lr", (*TUNE, 0.1), COLLAPSE),
    ("probe_beats_scratch", (*SCRATCH, 0.001), COLLAPSE),
    ("probe_beats_scratch", (*PROBE, 0.1), NO),
    ("scratch_near_chance", (*SCRATCH, 0.01), COLLAPSE),
    ("xgboost_vs_probe", ("cnn", "xgboost"), NO),
    ("xgboost_vs_probe", (*PROBE, 0.1), UNJUDGED),
    ("finetune_best_overall", (*TUNE, 0.0001), NO),
    ("table_scratch_best_lr", (*SCRATCH, 0.001), NO),
    ("table_scratch_worst_lr", (*SCRATCH, 0.01), COLLAPSE),
    ("table_probe_best_lr", (*PROBE, 0.1), NO),
    ("table_probe_worst_lr", (*PROBE, 0.00001), COLLAPSE),
    ("table_finetune_best_lr", (*TUNE, 0.0001), NO),
    ("table_finetune_worst_lr", (*TUNE, 0.1), COLLAPSE),
    ("best_pick", (*TUNE, 0.0001), NO),
    ("worst_pick", (*SCRATCH, 0.001), COLLAPSE),
]


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_holds_on_the_made_up_facts_in_every_seed(claim_id):
    result = judge(claim_id)
    every = {seeds.RUNS: "3 of 3", seeds.PROBE: "5 of 5", seeds.CNN: "3 of 3", seeds.ONE: "1 of 1"}[
        BY_ID[claim_id].over
    ]
    assert result["verdict"] == HOLDS and result["seeds_holding"] == every, result
    assert result["effect"] > (result["noise"] or 0), result


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_fails_on_its_counter_example(claim_id):
    result = judge(claim_id, COUNTER[claim_id])
    assert result["verdict"] == FAILS, result
    assert result["evidence"]


@pytest.mark.parametrize(
    "claim_id, edit, verdict, word", DEGENERATE, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(DEGENERATE)]
)
def test_degenerate_input_gives_the_promised_verdict(claim_id, edit, verdict, word):
    result = judge(claim_id, edit)
    assert result["verdict"] == verdict, result
    assert word.lower() in result["evidence"].lower(), result["evidence"]


@pytest.mark.parametrize("claim_id, path, shown", COLLAPSED, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(COLLAPSED)])
def test_a_collapsed_run_gives_the_promised_verdict(claim_id, path, shown):
    result = judge(claim_id, collapse(*path))
    assert claims.shown_verdict(result) == shown, result


def test_every_claim_has_a_counter_example_a_degenerate_and_a_collapsed_case():
    assert set(COUNTER) == set(BY_ID) == {c for c, *_ in DEGENERATE} == {c for c, *_ in COLLAPSED}


def test_nothing_holds_vacuously_when_every_run_and_cell_collapsed():
    data = facts()
    for path in [("lr_sweep", v, lr) for v in ("plain", "batchnorm") for lr in PLAIN] + [
        ("long", "plain"),
        ("long", "batchnorm"),
        *(("batch", n) for n in data["batch"]),
        *((*CELLS, n) for n in data["grid"]["cells"]),
        ("probe", "plain"),
        ("probe", "residual"),
        *((*b, lr) for b in (SCRATCH, PROBE, TUNE) for lr in LRS),
        ("cnn", "xgboost"),
    ]:
        collapse(*path)(data)
    results = claims.check_all(data)
    vacuous = [r["id"] for r in results if r["verdict"] == HOLDS and not r["note"] and not r["timing"]]
    assert vacuous == [] and claims.verdict_counts(results)[HOLDS] == 6, [claims.shown_verdict(r) for r in results]


def test_cnn_seed_views_project_only_the_cnn_cells_run_over_seeds():
    data = facts()
    views = seeds.seed_views(data, seeds.CNN)
    assert len(views) == 3 and views[0]["cnn"]["cells"]["probe"][0.1]["validation_acc"] == pytest.approx(0.699)
    assert views[2]["cnn"]["cells"]["finetune"] == data["cnn"]["cells"]["finetune"]  # one seed: the same in each view
    assert views[1]["long"] is data["long"]  # nothing outside the CNN study is projected
    del data["cnn"]["cells"]["probe"]
    assert seeds.seed_views(data, seeds.CNN) == []  # no cell over seeds: one seed


def test_every_claim_quotes_the_course_exactly():
    course = Path(__file__).resolve().parents[1] / "reference/course_report.md"  # the course's text, as given
    if not course.exists():
        pytest.skip(f"{course} is not in the repository")
    text = course.read_text()
    assert [c["id"] for c in claims.check_all({}) if c["sentence"] not in text] == []


def test_every_section_names_its_thresholds_and_checks_read_no_other():
    for module in (claims.optimisation, claims.batch, claims.evaluation, claims.gradients, claims.cnn):
        assert module.THRESHOLDS and all(isinstance(getattr(module, n), (int, float)) for n in module.THRESHOLDS)
    with pytest.raises(AttributeError, match="THRESHOLDS"):
        _ = core.Thresholds({"A": 0.1}).B


def test_check_all_holds_everywhere_on_the_factory_and_has_the_shape():
    results = claims.check_all(facts())
    ids = [r["id"] for r in results]
    assert len(results) == len(claims.CLAIMS) == 50 and len(set(ids)) == 50
    assert ids[:2] == ["lr_largest_stalls", "lr_smallest_slow"] and ids[-1] == "worst_pick"
    assert claims.verdict_counts(results) == {HOLDS: 50, FAILS: 0, CANNOT: 0}
    assert claims.reason_counts(results) == {"within noise": 0, "collapsed": 0, "missing": 0}
    for r in results:
        assert set(r) == {
            "id",
            "section",
            "claim",
            "sentence",
            "verdict",
            "reason",
            "note",
            "seeds_holding",
            "effect",
            "noise",
            "threshold_sensitive",
            "sensitive_to",
            "numbers",
            "evidence",
            "timing",
        }
        assert r["sentence"] and "\n" not in r["evidence"] and r["section"][0] in "12"
    assert json.dumps(results) == json.dumps(claims.check_all(facts()))


def test_counts_split_the_unjudged_by_reason():
    data = facts()
    del data["grid"]["best_points"]
    collapse("lr_sweep", "plain", 0.01)(data)
    results = claims.check_all(data)
    assert claims.reason_counts(results) == {"within noise": 0, "collapsed": 3, "missing": 1}  # lr 0.01 compared with
    assert claims.verdict_counts(results) == {HOLDS: 45, FAILS: 1, CANNOT: 4}  # lr_middle_best: it is a subject


def test_each_seed_sees_its_replicate_its_grid_cells_and_its_probe_seed():
    data = facts()
    views = seeds.seed_views(data, seeds.RUNS)
    assert (
        len(views) == 3
        and views[2]["long"]["plain"]["validation_loss"] == data["long"]["plain"]["replicates"][2]["validation_loss"]
    )
    assert views[0]["grid"]["cells"]["d6-w32"]["final_test_acc"] == pytest.approx(0.919)
    assert "replicates" not in views[0]["lr_sweep"]["plain"][1.0] and views[0]["cnn"] == data["cnn"]
    probe_views = seeds.seed_views(data, seeds.PROBE)
    assert len(probe_views) == 5 and probe_views[3]["probe"]["plain"]["seeds"] == [3]
    assert seeds.seed_views(data, seeds.ONE) == [] and seeds.seed_count({}, seeds.RUNS) == 1


def test_numbers_are_rounded_to_six_significant_digits():
    data = facts()
    data["cnn"]["xgboost"]["test_acc"] = 0.723456789
    assert claims.cnn.xgboost_vs_probe(data)["numbers"]["xgboost_test_acc"] == 0.723457


def test_empty_or_wrecked_facts_never_hold():
    assert claims.verdict_counts(claims.check_all({}))[CANNOT] == len(claims.CLAIMS)
    data = facts()
    for runs in [
        *data["lr_sweep"].values(),
        data["long"],
        data["batch"],
        data["grid"]["cells"],
        *data["cnn"]["cells"].values(),
    ]:
        for name in runs:
            diverge(name)(runs)
    for variant in ("plain", "residual"):
        all_zero(data["probe"][variant]["grad_sq_norm"], None)
        data["probe"][variant]["final_validation_acc"] = [None] * 5
    data["cnn"]["xgboost"]["test_acc"] = None
    assert [r["id"] for r in claims.check_all(data) if r["verdict"] == HOLDS] == ["plain_not_dead_units"]


def test_a_dead_plain_network_is_not_a_vanishing_gradient():
    result = judge("plain_vanishing", pmutate("plain", all_zero))
    assert result["evidence"].startswith("the network is dead: every probed gradient is exactly 0 in 5 of 5 seeds")


def test_vanishing_and_alive_need_most_seeds():
    two = [
        judge(c, pmutate(v, dead_seeds(2))) for c, v in (("plain_vanishing", "plain"), ("residual_alive", "residual"))
    ]
    assert [(r["verdict"], r["seeds_holding"]) for r in two] == [(HOLDS, "3 of 5")] * 2
    three = judge("plain_vanishing", pmutate("plain", dead_seeds(3)))
    assert (three["verdict"], three["seeds_holding"]) == (FAILS, "2 of 5")


def test_excess_variation_is_zero_for_monotone_curves():
    assert claims.reading.excess_variation([3, 2, 1]) == 0
    assert claims.reading.excess_variation([3, 1, 2, 1]) == pytest.approx(2.0)


def test_claims_imports_only_the_standard_library_numpy_scipy_and_itself():
    import ast

    names = set()
    for path in Path(claims.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    stdlib = {"dataclasses", "functools", "math", "sys"}
    assert {name.split(".")[0] for name in names} <= stdlib | {"numpy", "scipy", "nnrepro"}
    assert {n for n in names if n.startswith("nnrepro")} <= {"nnrepro", "nnrepro.report.claims"} | {
        f"nnrepro.report.claims.{m}" for m in ("core", "reading", "seeds", "trends")
    }


def test_a_bug_in_a_check_fails_loudly_instead_of_becoming_a_verdict():
    @core.claim("buggy", "0", "a check with a typo", "no words")
    def buggy(facts, th):
        return facts["no such key"]

    core.REGISTRY.remove(buggy)
    with pytest.raises(KeyError):
        buggy({})


def test_residual_alive_is_judged_against_the_layer_nearest_the_output():
    """Layer 0's gradient is scaled by the raw inputs: a huge layer 0 must not make the others look vanished."""
    big_input_layer = put("probe", "residual", probe([1e4, 0.5, 0.5, 0.5, 0.5, 0.5], acc=0.6))
    assert judge("residual_alive", big_input_layer)["verdict"] == HOLDS
    faded_middle = put("probe", "residual", probe([1e4, 1e-6, 0.5, 0.5, 0.5, 0.5], acc=0.6))
    assert judge("residual_alive", faded_middle)["verdict"] == FAILS
