"""Every claim on made-up numbers, three ways: it holds, a counter-example does not, degenerate input never holds."""

import copy
import json

import numpy as np
import pytest

from nnrepro.report import claims

HOLDS, FAILS, CANNOT = claims.HOLDS, claims.FAILS, claims.CANNOT


def run(val_loss, diverged=False):
    """A history whose accuracy is 1 - loss / 4 on every split (synthetic)."""
    acc = [None if x is None else 1 - x / 4 for x in val_loss]
    return {"diverged": diverged, "epoch": [float(e) for e in range(1, len(val_loss) + 1)],
            "train_loss": list(val_loss), "train_acc": acc, "validation_loss": list(val_loss),
            "validation_acc": acc, "test_loss": list(val_loss), "test_acc": acc}


FLAT = [3.0, 2.9, 3.0, 2.9, 3.0, 2.9, 3.0, 2.9]
WIGGLY = [1.0, 0.6, 0.8, 0.5, 0.7, 0.4, 0.6, 0.4]
PLAIN = {1.0: FLAT, 0.01: WIGGLY, 0.001: [1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.41, 0.4],
         0.0001: [2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3]}
BATCHNORM = {1.0: [3.0, 2.0, 3.0, 2.0, 3.0, 2.0, 3.0, 2.5], 0.01: [0.8, 0.6, 0.5, 0.45, 0.4, 0.38, 0.37, 0.36],
             0.001: [0.9, 0.6, 0.5, 0.45, 0.42, 0.4, 0.39, 0.38], 0.0001: [1.5, 1.2, 1.0, 0.9, 0.8, 0.7, 0.65, 0.6]}
LONG_DROP = list(np.linspace(2.0, 0.5, 20))


def batch_run(batch, epochs, first_acc, first_loss, final_acc, seconds):
    steps = [round(0.1 * i, 1) for i in range(1, 11)] + [float(e) for e in range(2, epochs + 1)]
    acc = [first_acc] + [final_acc] * (len(steps) - 1)
    loss = [first_loss] + [0.5] * (len(steps) - 1)
    return {"diverged": False, "epoch": steps, "train_loss": loss, "train_acc": acc, "validation_loss": loss,
            "validation_acc": acc, "test_loss": loss, "test_acc": acc,
            "batch_size": batch, "epochs": epochs, "seconds_per_epoch": seconds}


def cell(depth, width, train, val, test):
    return {"depth": depth, "width": width, "diverged": False, "final_train_acc": train,
            "final_validation_acc": val, "final_test_acc": test, "final_train_loss": 1 - train,
            "final_validation_loss": 1 - val, "final_test_loss": 1 - test}


def probe(grad, dead=0.5, seeds=5, epochs=3):
    return {"layers": [0, 30, 60, 90, 95, 99], "seeds": list(range(seeds)),
            "grad_sq_norm": [[list(grad) for _ in range(epochs)] for _ in range(seeds)],
            "dead_fraction": [[[dead] * 6 for _ in range(epochs)] for _ in range(seeds)],
            "final_validation_acc": [0.5] * seeds}


def cnn(accs):
    return {lr: {"validation_acc": a, "test_acc": a, "diverged": False}
            for lr, a in zip([0.1, 0.01, 0.001, 0.0001, 0.00001], accs)}


def facts() -> dict:
    """Complete made-up facts on which every claim holds."""
    grid = [(1, 16, 0.70, 0.70, 0.69), (2, 16, 0.80, 0.80, 0.79), (6, 16, 0.90, 0.90, 0.89),
            (10, 16, 0.89, 0.89, 0.88), (6, 8, 0.85, 0.85, 0.84), (6, 32, 0.94, 0.93, 0.92), (6, 64, 0.97, 0.88, 0.87)]
    return {
        "lr_sweep": {"plain": {lr: run(v) for lr, v in PLAIN.items()},
                     "batchnorm": {lr: run(v) for lr, v in BATCHNORM.items()}},
        "long": {"plain": run(LONG_DROP + [0.6, 0.5] * 5), "batchnorm": run(LONG_DROP + [0.52, 0.5] * 5)},
        "batch": {"b1-e1": batch_run(1, 1, 0.7, 1.0, 0.8, 40.0), "b16-e1": batch_run(16, 1, 0.5, 1.5, 0.6, 4.0),
                  "b128-e50": batch_run(128, 50, 0.3, 2.0, 0.9, 0.8),
                  "b1024-e50": batch_run(1024, 50, 0.1, 2.5, 0.85, 0.2)},
        "grid": {"cells": {f"d{d}-w{w}": cell(d, w, *a) for d, w, *a in grid}, "best": "d6-w32",
                 "worst": "d1-w16", "depth_slice_width": 16, "width_slice_depth": 6},
        "probe": {"depth": 100, "plain": probe([1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1]),
                  "residual": probe([1e-2, 1e-2, 2e-2, 2e-2, 3e-2, 5e-2], dead=0.1)},
        "cnn": {"cells": {"scratch": cnn([0.55, 0.50, 0.56, 0.52, 0.51]), "probe": cnn([0.70, 0.65, 0.60, 0.55, 0.50]),
                          "finetune": cnn([0.50, 0.60, 0.80, 0.90, 0.70])},
                "xgboost": {"validation_acc": 0.72, "test_acc": 0.72}},
    }


BY_ID = {c.claim_id: c for c in claims.CLAIMS}


def judge(claim_id: str, edit=None) -> dict:
    data = facts()
    if edit:
        edit(data)
    return BY_ID[claim_id](data)


def put(*path_and_value):
    """An edit setting facts[path...] = value."""
    *path, value = path_and_value

    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(value)
    return edit


def drop(*path):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


def diverge(*path):
    def edit(data):
        node = data
        for key in path:
            node = node[key]
        node["diverged"] = True
    return edit


def edits(*fns):
    def edit(data):
        for fn in fns:
            fn(data)
    return edit


def pmutate(variant, fn):
    """Apply fn(grad_sq_norm, dead_fraction) (nested lists, every seed) to one probe."""
    def edit(data):
        fn(data["probe"][variant]["grad_sq_norm"], data["probe"][variant]["dead_fraction"])
    return edit


def zero_from_epoch_2(grads, dead):
    for seed in grads:
        for epoch in seed[1:]:
            epoch[0] = 0.0


def all_zero(grads, dead):
    for seed in grads:
        for epoch in seed:
            epoch[:] = [0.0] * len(epoch)


SCRATCH = ("cnn", "cells", "scratch")
PROBE = ("cnn", "cells", "probe")
TUNE = ("cnn", "cells", "finetune")
CELLS = ("grid", "cells")

COUNTER = {  # claim id -> an edit after which the claim does not hold
    "lr_largest_stalls": put("lr_sweep", "plain", 1.0, run([3.0, 2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.7])),
    "lr_smallest_slow": put("lr_sweep", "plain", 0.0001, run([2.0, 1.0, 0.6, 0.5, 0.4, 0.35, 0.32, 0.3])),
    "lr_middle_best": put("lr_sweep", "plain", 0.0001, run([0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])),
    "long_early_drop": put("long", "plain", run(list(np.linspace(2.0, 0.5, 30)))),
    "bn_steadier_lr001": put("lr_sweep", "batchnorm", 0.01, run(WIGGLY)),
    "bn_steadier_long": put("long", "batchnorm", run(LONG_DROP + [0.6, 0.5] * 5)),
    "bn_smallest_lr_faster": put("lr_sweep", "batchnorm", 0.0001, run([x + 0.5 for x in PLAIN[0.0001]])),
    "bn_lr1_unstable": put("lr_sweep", "batchnorm", 1.0, run(FLAT)),
    "bn_lr1_worst": put("lr_sweep", "batchnorm", 1.0, run([3.0, 2.0, 3.0, 2.0, 3.0, 2.0, 3.0, 0.2])),
    "batch1_beats_16": put("batch", "b1-e1", batch_run(1, 1, 0.7, 1.0, 0.5, 40.0)),
    "larger_batches_faster": put("batch", "b1024-e50", "seconds_per_epoch", 1.0),
    "initial_acc_falls": put("batch", "b1024-e50", batch_run(1024, 50, 0.4, 2.5, 0.85, 0.2)),
    "initial_loss_rises": put("batch", "b1024-e50", batch_run(1024, 50, 0.1, 1.8, 0.85, 0.2)),
    "b128_beats_b1024": put("batch", "b1024-e50", batch_run(1024, 50, 0.1, 2.5, 0.95, 0.2)),
    "best_generalises": put(*CELLS, "d6-w32", cell(6, 32, 0.99, 0.93, 0.92)),
    "worst_underfits": put(*CELLS, "d1-w16", cell(1, 16, 0.95, 0.70, 0.69)),
    "shallow_below_deep": put(*CELLS, "d2-w16", cell(2, 16, 0.95, 0.95, 0.94)),
    "depth10_no_gain": put(*CELLS, "d10-w16", cell(10, 16, 0.95, 0.95, 0.94)),
    "width32_sweet_spot": put(*CELLS, "d6-w16", cell(6, 16, 0.96, 0.95, 0.94)),
    "width64_overfits": put(*CELLS, "d6-w64", cell(6, 64, 0.89, 0.88, 0.87)),
    "plain_vanishing": put("probe", "plain", probe([1e-2] * 6)),
    "residual_alive": put("probe", "residual", probe([1e-9, 1e-2, 1e-2, 1e-2, 1e-2, 1e-2], dead=0.1)),
    "finetune_best_low_lr": put(*TUNE, 0.1, {"validation_acc": 0.95, "test_acc": 0.95, "diverged": False}),
    "probe_best_high_lr": put(*PROBE, 0.001, {"validation_acc": 0.9, "test_acc": 0.9, "diverged": False}),
    "probe_beats_finetune_high_lr": put(*TUNE, 0.01, {"validation_acc": 0.7, "test_acc": 0.7, "diverged": False}),
    "probe_beats_scratch": put(*SCRATCH, 0.001, {"validation_acc": 0.8, "test_acc": 0.8, "diverged": False}),
    "scratch_near_chance": put(*SCRATCH, 0.1, {"validation_acc": 0.55, "test_acc": 0.7, "diverged": False}),
    "xgboost_vs_probe": put("cnn", "xgboost", {"validation_acc": 0.6, "test_acc": 0.6}),
    "finetune_best_overall": put("cnn", "xgboost", {"validation_acc": 0.95, "test_acc": 0.95}),
}

DIVERGED_CNN = {"validation_acc": None, "test_acc": None, "diverged": True}
DEGENERATE = [  # (claim id, edit, the verdict its docstring promises, a word of the evidence)
    ("lr_largest_stalls", diverge("lr_sweep", "plain", 1.0), FAILS, "diverged"),
    ("lr_largest_stalls", drop("lr_sweep"), CANNOT, "lr_sweep"),
    ("lr_smallest_slow", put("lr_sweep", "plain", 0.0001, run([None] * 8)), CANNOT, "finite"),
    ("lr_smallest_slow", diverge("lr_sweep", "plain", 0.001), CANNOT, "diverged"),
    ("lr_middle_best", diverge("lr_sweep", "plain", 0.01), FAILS, "diverged"),
    ("lr_middle_best", edits(drop("lr_sweep", "plain", 0.01), drop("lr_sweep", "plain", 0.001)), CANNOT, "middle"),
    ("long_early_drop", put("long", "plain", run(LONG_DROP[:10])), CANNOT, "epoch 20"),
    ("long_early_drop", diverge("long", "plain"), FAILS, "diverged"),
    ("bn_steadier_lr001", drop("lr_sweep", "batchnorm", 0.01), CANNOT, "0.01"),
    ("bn_steadier_long", diverge("long", "batchnorm"), FAILS, "diverged"),
    ("bn_steadier_long", diverge("long", "plain"), CANNOT, "diverged"),
    ("bn_steadier_long", put("long", "plain", run([1.0] * 30)), FAILS, None),  # flat both: nothing to steady
    ("bn_smallest_lr_faster", diverge("lr_sweep", "plain", 0.0001), CANNOT, "diverged"),
    ("bn_smallest_lr_faster", diverge("lr_sweep", "batchnorm", 0.0001), FAILS, "diverged"),
    ("bn_lr1_unstable", diverge("lr_sweep", "batchnorm", 1.0), CANNOT, "diverged"),
    ("bn_lr1_worst", put("lr_sweep", "batchnorm", 1.0, "validation_acc", [None] * 8), CANNOT, "final"),
    ("bn_lr1_worst", diverge("lr_sweep", "batchnorm", 1.0), CANNOT, "diverged"),
    ("batch1_beats_16", drop("batch", "b16-e1"), CANNOT, "batch size 16"),
    ("batch1_beats_16", diverge("batch", "b1-e1"), FAILS, "diverged"),
    ("larger_batches_faster", put("batch", "b16-e1", "seconds_per_epoch", None), CANNOT, "seconds"),
    ("larger_batches_faster", diverge("batch", "b128-e50"), CANNOT, "diverged"),
    ("initial_acc_falls", put("batch", "b16-e1", "test_acc", [None] * 10), CANNOT, "test_acc"),
    ("initial_acc_falls", put("batch", "b16-e1", "epoch", [1.0] * 10), CANNOT, "not comparable"),
    ("initial_loss_rises", diverge("batch", "b1024-e50"), CANNOT, "diverged"),
    ("b128_beats_b1024", put("batch", "b1024-e50", "epochs", 40), CANNOT, "different numbers of epochs"),
    ("b128_beats_b1024", diverge("batch", "b128-e50"), FAILS, "diverged"),
    ("best_generalises", put("grid", "best", "d9-w99"), CANNOT, "d9-w99"),
    ("best_generalises", put(*CELLS, "d6-w32", "final_train_acc", float("nan")), CANNOT, "train accuracy"),
    ("worst_underfits", edits(diverge(*CELLS, "d1-w16"), put(*CELLS, "d1-w16", "final_train_acc", None)),
     CANNOT, "diverged"),
    ("worst_underfits", put("grid", "worst", "d6-w32"), CANNOT, "same"),
    ("shallow_below_deep", drop(*CELLS, "d2-w16"), CANNOT, "depth 2"),
    ("depth10_no_gain", diverge(*CELLS, "d10-w16"), CANNOT, "diverged"),
    ("width32_sweet_spot", diverge(*CELLS, "d6-w32"), FAILS, "diverged"),
    ("width32_sweet_spot", drop("grid", "width_slice_depth"), CANNOT, "width_slice_depth"),
    ("width64_overfits", diverge(*CELLS, "d6-w64"), FAILS, "diverged"),
    ("width64_overfits", diverge(*CELLS, "d6-w8"), CANNOT, "diverged"),
    ("plain_vanishing", pmutate("plain", all_zero), FAILS, "dead"),
    ("plain_vanishing", put("probe", "plain", probe([1e-9, 1e-9, 1e-8, 1e-7, 1e-2, 1e-1], dead=1.0)), FAILS, "dead"),
    ("plain_vanishing", put("probe", "plain", "grad_sq_norm", []), CANNOT, "empty"),
    ("plain_vanishing", put("probe", "plain", probe([None] * 6)), CANNOT, "missing values"),
    ("residual_alive", pmutate("residual", zero_from_epoch_2), FAILS, "from epoch 2"),
    ("residual_alive", pmutate("residual", all_zero), FAILS, "dead"),
    ("residual_alive", drop("probe", "residual"), CANNOT, "probe.residual"),
    ("finetune_best_low_lr", put(*TUNE, {lr: DIVERGED_CNN for lr in (0.1, 0.01, 0.001)}), CANNOT, "finetune"),
    ("probe_best_high_lr", edits(put(*PROBE, 0.1, DIVERGED_CNN), put(*PROBE, 0.01, DIVERGED_CNN)), CANNOT, "high"),
    ("probe_beats_finetune_high_lr", put(*TUNE, 0.1, DIVERGED_CNN), CANNOT, "diverged"),
    ("probe_beats_finetune_high_lr", put(*PROBE, 0.1, DIVERGED_CNN), FAILS, "diverged"),
    ("probe_beats_scratch", put(*SCRATCH, {}), CANNOT, "empty"),
    ("scratch_near_chance", put(*SCRATCH, 0.01, DIVERGED_CNN), CANNOT, "diverged"),
    ("xgboost_vs_probe", drop("cnn", "xgboost"), CANNOT, "xgboost"),
    ("finetune_best_overall", put("cnn", "xgboost", "test_acc", None), CANNOT, "XGBoost"),
]


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_holds_on_the_made_up_facts(claim_id):
    result = judge(claim_id)
    assert result["verdict"] == HOLDS, result


@pytest.mark.parametrize("claim_id", list(BY_ID))
def test_each_claim_fails_on_its_counter_example(claim_id):
    result = judge(claim_id, COUNTER[claim_id])
    assert result["verdict"] == FAILS, result
    assert result["evidence"]


@pytest.mark.parametrize("claim_id, edit, verdict, word", DEGENERATE,
                         ids=[f"{c}-{i}" for i, (c, *_) in enumerate(DEGENERATE)])
def test_degenerate_input_gives_the_promised_verdict(claim_id, edit, verdict, word):
    result = judge(claim_id, edit)
    assert result["verdict"] == verdict, result
    assert word is None or word.lower() in result["evidence"].lower(), result["evidence"]


def test_every_claim_has_a_counter_example_and_a_degenerate_case():
    assert set(COUNTER) == set(BY_ID) == {c for c, *_ in DEGENERATE}


def test_check_all_holds_everywhere_on_the_factory_and_has_the_shape():
    results = claims.check_all(facts())
    ids = [r["id"] for r in results]
    assert len(results) == len(claims.CLAIMS) == 29 and len(set(ids)) == len(ids)
    assert ids[:2] == ["lr_largest_stalls", "lr_smallest_slow"] and ids[-1] == "finetune_best_overall"
    assert claims.verdict_counts(results) == {HOLDS: len(results), FAILS: 0, CANNOT: 0}
    for r in results:
        assert set(r) == {"id", "section", "claim", "verdict", "numbers", "evidence", "timing"}
        assert r["verdict"] in claims.VERDICTS and isinstance(r["timing"], bool) and "\n" not in r["evidence"]
    assert json.dumps([r["numbers"] for r in results]) == json.dumps([r["numbers"] for r in claims.check_all(facts())])


def test_timing_claims_keep_seconds_out_of_numbers():
    timed = [r for r in claims.check_all(facts()) if r["timing"]]
    seconds = {run["seconds_per_epoch"] for run in facts()["batch"].values()}
    assert [r["id"] for r in timed] == ["larger_batches_faster"] and "40" in timed[0]["evidence"]
    for r in timed:
        assert not seconds & {v for v in r["numbers"].values() if isinstance(v, float)}
        assert not any("second" in k or "time" in k for k in r["numbers"])


def test_numbers_are_rounded_to_six_significant_digits():
    data = facts()
    data["cnn"]["xgboost"]["test_acc"] = 0.123456789
    assert claims.cnn.xgboost_vs_probe(data)["numbers"]["xgboost_test_acc"] == 0.123457


def test_empty_or_wrecked_facts_never_hold():
    assert claims.verdict_counts(claims.check_all({}))[CANNOT] == len(claims.CLAIMS)
    data = facts()
    for runs in [*data["lr_sweep"].values(), data["long"], data["batch"], data["grid"]["cells"],
                 *data["cnn"]["cells"].values()]:
        for item in runs.values():
            item.update(diverged=True)
    for variant in ("plain", "residual"):
        all_zero(data["probe"][variant]["grad_sq_norm"], None)
    data["cnn"]["xgboost"]["test_acc"] = None
    results = claims.check_all(data)
    assert not [r["id"] for r in results if r["verdict"] == HOLDS]


def test_a_dead_plain_network_is_not_a_vanishing_gradient():
    result = judge("plain_vanishing", pmutate("plain", all_zero))
    assert result["evidence"].startswith("the network is dead: every probed gradient is exactly 0 in 5 of 5 seeds")


def test_vanishing_and_alive_need_most_seeds():
    def two_of_five_dead(grads, dead):
        for seed in grads[3:]:
            for epoch in seed:
                epoch[:] = [0.0] * 6
    assert judge("plain_vanishing", pmutate("plain", two_of_five_dead))["verdict"] == HOLDS
    assert judge("residual_alive", pmutate("residual", two_of_five_dead))["verdict"] == HOLDS

    def three_of_five_dead(grads, dead):
        for seed in grads[2:]:
            for epoch in seed:
                epoch[:] = [0.0] * 6
    assert judge("plain_vanishing", pmutate("plain", three_of_five_dead))["verdict"] == FAILS


def test_excess_variation_is_zero_for_monotone_curves():
    assert claims.optimisation.excess_variation([3, 2, 1]) == 0
    assert claims.optimisation.excess_variation([3, 1, 2, 1]) == pytest.approx(2.0)


def test_claims_imports_only_the_standard_library_numpy_and_itself():
    import ast
    from pathlib import Path

    names = set()
    for path in Path(claims.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {name.split(".")[0] for name in names} <= {"functools", "math", "numpy", "nnrepro"}
    assert {name for name in names if name.startswith("nnrepro")} <= {"nnrepro", "nnrepro.report.claims",
                                                                      "nnrepro.report.claims.core"}


def test_a_bug_in_a_check_fails_loudly_instead_of_becoming_a_verdict():
    from nnrepro.report.claims.core import claim, REGISTRY

    @claim("buggy", "0", "a check with a typo")
    def buggy(facts, numbers):
        return facts["no such key"], ""

    REGISTRY.remove(buggy)
    with pytest.raises(KeyError):
        buggy({})


def test_first_evaluations_a_few_steps_apart_still_compare():
    """Rounded evaluation steps put batch 1024's first evaluation at epoch 0.095 and batch 128's at 0.1005."""
    nearby = put("batch", "b1024-e50", "epoch", [0.095] + facts()["batch"]["b1024-e50"]["epoch"][1:])
    assert judge("initial_acc_falls", nearby)["verdict"] == "holds"
    far = put("batch", "b1024-e50", "epoch", [0.2] + facts()["batch"]["b1024-e50"]["epoch"][1:])
    assert judge("initial_acc_falls", far)["verdict"] == "cannot be judged"


def test_residual_alive_is_judged_against_the_layer_nearest_the_output():
    """Layer 0's gradient is scaled by the raw inputs: a huge layer 0 must not make the others look vanished."""
    big_input_layer = put("probe", "residual", probe([1e4, 0.5, 0.5, 0.5, 0.5, 0.5]))
    assert judge("residual_alive", big_input_layer)["verdict"] == "holds"
    faded_middle = put("probe", "residual", probe([1e4, 1e-6, 0.5, 0.5, 0.5, 0.5]))
    assert judge("residual_alive", faded_middle)["verdict"] == "does not hold"
