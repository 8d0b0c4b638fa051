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


MOVED = ("evaluation", "gradients", "cnn")  # their claims are tested in tests/test_claims_evaluation.py
BY_ID = {c.claim_id: c for c in claims.CLAIMS if c.__wrapped__.__module__.rsplit(".", 1)[-1] not in MOVED}


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
    "lr_largest_stalls": put("lr_sweep", "plain", 1.0, run(list(np.linspace(3.0, 0.7, 30)))),
    "lr_smallest_slow": put("lr_sweep", "plain", 0.0001, run(decay(2.0, 0.3, 0.5))),
    "lr_middle_best": put("lr_sweep", "plain", 0.0001, run([0.3] + [0.2] * 29)),
    "long_early_drop": put("long", "plain", run(list(np.linspace(2.0, 0.5, 30)))),
    "long_peaks": put("long", "plain", run(LONG_DROP + [0.5] * 10)),
    "bn_steadier_lr001": put("lr_sweep", "batchnorm", 0.01, run(PLAIN[0.01])),
    "bn_steadier_lr0001": put("lr_sweep", "batchnorm", 0.001, run(PLAIN[0.001])),
    "bn_steadier_long": put("long", "batchnorm", run(LONG_DROP + [0.6, 0.5] * 5)),
    "bn_stabilises_faster": put("lr_sweep", "batchnorm", 0.001, run(BATCHNORM[0.001][:-1] + [0.6])),
    "bn_remains_stable": put("lr_sweep", "batchnorm", 0.01, run(decay(0.8, 0.36, 0.8, 0.1, 5))),
    "bn_smallest_lr_faster": put("lr_sweep", "batchnorm", 0.0001, run([x + 0.5 for x in PLAIN[0.0001]])),
    "bn_lr1_unstable": put("lr_sweep", "batchnorm", 1.0, run(FLAT)),
    "bn_lr1_worst": put("lr_sweep", "batchnorm", 1.0, run([3.0, 2.0] * 10 + [0.2] * 10)),
    "batch1_beats_16": put("batch", "b1-e1", batch_run(1, 1, 0.7, 1.0, 0.5, 40.0)),
    "batch1_about_course": put("batch", "b1-e1", batch_run(1, 1, 0.7, 1.0, 0.7, 40.0)),
    "larger_batches_faster": put("batch", "b1024-e50", "seconds_per_epoch", 1.0),
    "initial_acc_falls": put("batch", "b1024-e50", batch_run(1024, 50, 0.4, 2.5, 0.85, 0.2, rate=0.1)),
    "initial_loss_rises": put("batch", "b1024-e50", batch_run(1024, 50, 0.1, 1.8, 0.85, 0.2, rate=0.1)),
    "b128_beats_b1024": put("batch", "b1024-e50", batch_run(1024, 50, 0.1, 2.5, 0.95, 0.2, rate=0.1)),
    "b128_stabilises_faster": put("batch", "b128-e50", batch_run(128, 50, 0.3, 2.0, 0.9, 0.8, rate=0.05)),
    "b1024_not_noisy": put("batch", "b1024-e50", batch_run(1024, 50, 0.1, 2.5, 0.85, 0.2, noise=0.04)),
}

DEGENERATE = [  # (claim id, edit, the verdict its docstring promises, a word of the evidence)
    ("lr_largest_stalls", diverge("lr_sweep", "plain", 1.0), FAILS, "diverged"),
    ("lr_largest_stalls", drop("lr_sweep"), CANNOT, "lr_sweep"),
    ("lr_smallest_slow", put("lr_sweep", "plain", 0.0001, run([None] * 30)), CANNOT, "finite"),
    ("lr_smallest_slow", diverge("lr_sweep", "plain", 0.001), CANNOT, "diverged"),
    ("lr_middle_best", diverge("lr_sweep", "plain", 0.01), FAILS, "diverged"),
    ("lr_middle_best", edits(drop("lr_sweep", "plain", 0.01), drop("lr_sweep", "plain", 0.001)), CANNOT, "middle"),
    ("long_early_drop", put("long", "plain", run(LONG_DROP[:10])), CANNOT, "epoch 20"),
    ("long_early_drop", diverge("long", "plain"), FAILS, "diverged"),
    ("long_peaks", put("long", "plain", run(LONG_DROP)), CANNOT, "after epoch 20"),
    ("bn_steadier_lr001", drop("lr_sweep", "batchnorm", 0.01), CANNOT, "0.01"),
    ("bn_steadier_lr0001", diverge("lr_sweep", "batchnorm", 0.001), FAILS, "diverged"),
    ("bn_steadier_long", diverge("long", "batchnorm"), FAILS, "diverged"),
    ("bn_steadier_long", diverge("long", "plain"), CANNOT, "diverged"),
    ("bn_steadier_long", put("long", "plain", run([1.0] * 30)), FAILS, "no peaks"),  # flat both: nothing to steady
    ("bn_stabilises_faster", diverge("lr_sweep", "plain", 0.01), CANNOT, "diverged"),
    ("bn_remains_stable", put("lr_sweep", "batchnorm", 0.01, run(BATCHNORM[0.01][:15])), CANNOT, "after epoch 20"),
    ("bn_smallest_lr_faster", diverge("lr_sweep", "plain", 0.0001), CANNOT, "diverged"),
    ("bn_smallest_lr_faster", diverge("lr_sweep", "batchnorm", 0.0001), FAILS, "diverged"),
    ("bn_lr1_unstable", diverge("lr_sweep", "batchnorm", 1.0), CANNOT, "diverged"),
    ("bn_lr1_worst", put("lr_sweep", "batchnorm", 1.0, "validation_acc", [None] * 30), CANNOT, "finite"),
    ("bn_lr1_worst", diverge("lr_sweep", "batchnorm", 1.0), CANNOT, "diverged"),
    ("batch1_beats_16", drop("batch", "b16-e1"), CANNOT, "batch size 16"),
    ("batch1_beats_16", diverge("batch", "b1-e1"), FAILS, "diverged"),
    ("batch1_about_course", drop("course"), CANNOT, "course"),
    ("larger_batches_faster", put("batch", "b16-e1", "seconds_per_epoch", None), CANNOT, "seconds"),
    ("larger_batches_faster", diverge("batch", "b128-e50"), CANNOT, "diverged"),
    ("initial_acc_falls", put("batch", "b16-e1", "test_acc", [None] * 10), CANNOT, "test_acc"),
    ("initial_acc_falls", put("batch", "b16-e1", "epoch", [1.0] * 10), CANNOT, "not comparable"),
    ("initial_loss_rises", diverge("batch", "b1024-e50"), CANNOT, "diverged"),
    ("b128_beats_b1024", put("batch", "b1024-e50", "epochs", 40), CANNOT, "different numbers of epochs"),
    ("b128_beats_b1024", diverge("batch", "b128-e50"), FAILS, "diverged"),
    ("b128_stabilises_faster", diverge("batch", "b1024-e50"), CANNOT, "diverged"),
    ("b1024_not_noisy", put("batch", "b128-e50", batch_run(128, 50, 0.3, 2.0, 0.9, 0.8)), FAILS, "no noise"),
]

COLLAPSE = "holds (collapsed: one class predicted)"
NO, UNJUDGED = FAILS, "cannot be judged (collapsed)"
COLLAPSED = [  # (claim id, the run or cell to collapse, the verdict shown, as its docstring promises)
    ("lr_largest_stalls", ("lr_sweep", "plain", 1.0), COLLAPSE),
    ("lr_smallest_slow", ("lr_sweep", "plain", 0.0001), NO),
    ("lr_middle_best", ("lr_sweep", "plain", 0.01), NO),
    ("lr_middle_best", ("lr_sweep", "plain", 0.0001), UNJUDGED),
    ("long_early_drop", ("long", "plain"), NO),
    ("long_peaks", ("long", "plain"), NO),
    ("bn_steadier_lr001", ("lr_sweep", "batchnorm", 0.01), NO),
    ("bn_steadier_lr001", ("lr_sweep", "plain", 0.01), UNJUDGED),
    ("bn_steadier_lr0001", ("lr_sweep", "batchnorm", 0.001), NO),
    ("bn_steadier_long", ("long", "batchnorm"), NO),
    ("bn_stabilises_faster", ("lr_sweep", "batchnorm", 0.01), NO),
    ("bn_remains_stable", ("lr_sweep", "batchnorm", 0.01), NO),
    ("bn_smallest_lr_faster", ("lr_sweep", "batchnorm", 0.0001), NO),
    ("bn_lr1_unstable", ("lr_sweep", "batchnorm", 1.0), COLLAPSE),
    ("bn_lr1_worst", ("lr_sweep", "batchnorm", 1.0), COLLAPSE),
    ("bn_lr1_worst", ("lr_sweep", "batchnorm", 0.01), UNJUDGED),
    ("batch1_beats_16", ("batch", "b1-e1"), NO),
    ("batch1_beats_16", ("batch", "b16-e1"), COLLAPSE),
    ("batch1_about_course", ("batch", "b1-e1"), NO),
    ("larger_batches_faster", ("batch", "b128-e50"), HOLDS),
    ("initial_acc_falls", ("batch", "b1024-e50"), UNJUDGED),
    ("initial_loss_rises", ("batch", "b16-e1"), UNJUDGED),
    ("b128_beats_b1024", ("batch", "b128-e50"), NO),
    ("b128_beats_b1024", ("batch", "b1024-e50"), UNJUDGED),
    ("b128_stabilises_faster", ("batch", "b128-e50"), NO),
    ("b1024_not_noisy", ("batch", "b1024-e50"), NO),
    ("b1024_not_noisy", ("batch", "b128-e50"), UNJUDGED),
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
    results = [r for r in claims.check_all(data) if r["id"] in BY_ID]
    vacuous = [r["id"] for r in results if r["verdict"] == HOLDS and not r["note"] and not r["timing"]]
    assert vacuous == [] and claims.verdict_counts(results)[HOLDS] == 2, [claims.shown_verdict(r) for r in results]


def test_a_verdict_near_its_threshold_is_flagged_and_a_robust_one_is_not():
    near = judge("lr_largest_stalls", put("lr_sweep", "plain", 1.0, run([3.0, 2.73] * 15)))  # drop 9%, STALL_DROP 10%
    assert near["verdict"] == HOLDS and near["threshold_sensitive"] and near["sensitive_to"] == ["STALL_DROP"]
    robust = judge("lr_largest_stalls")  # drop 3.3%
    assert robust["verdict"] == HOLDS and not robust["threshold_sensitive"] and robust["sensitive_to"] == []
    assert not judge("b128_beats_b1024")["threshold_sensitive"]  # a claim without a threshold never is


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
    results = [r for r in claims.check_all(facts()) if r["id"] in BY_ID]
    ids = [r["id"] for r in results]
    assert len(results) == len(BY_ID) and len(set(ids)) == len(ids) and len(claims.CLAIMS) == len(set(claims.CLAIMS))
    assert ids[:2] == ["lr_largest_stalls", "lr_smallest_slow"]
    assert claims.verdict_counts(results) == {HOLDS: len(BY_ID), FAILS: 0, CANNOT: 0}
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
    assert json.dumps(results) == json.dumps([r for r in claims.check_all(facts()) if r["id"] in BY_ID])


def test_counts_split_the_unjudged_by_reason():
    data = facts()
    collapse("lr_sweep", "plain", 0.01)(data)
    results = [r for r in claims.check_all(data) if r["id"] in BY_ID]
    assert claims.reason_counts(results) == {"within noise": 0, "collapsed": 3, "missing": 0}  # lr 0.01 compared with
    assert claims.verdict_counts(results) == {
        HOLDS: len(BY_ID) - 4,
        FAILS: 1,
        CANNOT: 3,
    }  # lr_middle_best: it is a subject


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


def test_timing_claims_keep_seconds_out_of_numbers():
    timed = [r for r in claims.check_all(facts()) if r["timing"]]
    seconds = {run["seconds_per_epoch"] for run in facts()["batch"].values()}
    assert [r["id"] for r in timed] == ["larger_batches_faster"] and "40" in timed[0]["evidence"]
    for r in timed:
        assert not seconds & {v for v in r["numbers"].values() if isinstance(v, float)}
        assert not any("second" in k or "time" in k for k in r["numbers"])


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
        f"nnrepro.report.claims.{m}" for m in ("core", "reading", "seeds")
    }


def test_a_bug_in_a_check_fails_loudly_instead_of_becoming_a_verdict():
    @core.claim("buggy", "0", "a check with a typo", "no words")
    def buggy(facts, th):
        return facts["no such key"]

    core.REGISTRY.remove(buggy)
    with pytest.raises(KeyError):
        buggy({})


def test_first_evaluations_a_few_steps_apart_still_compare():
    """Rounded evaluation steps put batch 1024's first evaluation at epoch 0.095 and batch 128's at 0.1005."""
    nearby = put("batch", "b1024-e50", "epoch", [0.095] + facts()["batch"]["b1024-e50"]["epoch"][1:])
    assert judge("initial_acc_falls", nearby)["verdict"] == HOLDS
    far = put("batch", "b1024-e50", "epoch", [0.2] + facts()["batch"]["b1024-e50"]["epoch"][1:])
    assert judge("initial_acc_falls", far)["verdict"] == CANNOT


def test_trends_are_judged_on_a_window_not_the_final_point():
    """Batch 128 ahead over its last 10 epochs but behind at the final evaluation still holds."""

    def last_dip(data):
        for record in (data["batch"]["b128-e50"], *data["batch"]["b128-e50"]["replicates"]):
            record["test_acc"] = record["test_acc"][:-1] + [0.5]

    assert judge("b128_beats_b1024", last_dip)["verdict"] == HOLDS
