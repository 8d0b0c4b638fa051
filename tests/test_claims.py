"""Each claim check on crafted metrics, both ways: it holds, and it does not."""

import numpy as np
import pandas as pd
import pytest

from nnrepro import claims


def run(val_loss, diverged=False, **metrics):
    history = pd.DataFrame({"epoch": np.arange(1, len(val_loss) + 1, dtype=float), "validation/loss": val_loss})
    return {"history": history, "metrics": {"diverged": diverged, "final_validation_acc": 0.5,
                                            "epochs_run": float(len(val_loss)), **metrics}}


FALLS = [2.0, 1.5, 1.0, 0.8]


def sweep(largest, smallest, middle=FALLS):
    return {1.0: run(largest), 0.01: run(middle), 0.0001: run(smallest)}


def test_largest_lr_stalls_both_ways():
    held = claims.largest_lr_stalls(sweep([3.1, 3.1, 3.2, 3.1], FALLS))
    assert held["holds"] and "lr=1" in held["evidence"] and "3.100" in held["evidence"]
    assert not claims.largest_lr_stalls(sweep(FALLS, FALLS))["holds"]
    diverged = {**sweep(FALLS, FALLS), 1.0: run([3.0], diverged=True)}
    assert claims.largest_lr_stalls(diverged)["holds"]


def test_smallest_lr_descends_slowly_both_ways():
    slow = claims.smallest_lr_descends_slowly(sweep([3, 3, 3, 3], [2.0, 1.9, 1.8, 1.7]))
    assert slow["holds"] and "mean 1.850" in slow["evidence"]
    assert not claims.smallest_lr_descends_slowly(sweep([3, 3, 3, 3], [1.0, 0.5, 0.4, 0.3]))["holds"]
    assert not claims.smallest_lr_descends_slowly(sweep([3, 3, 3, 3], [2.0, 2.1, 2.2, 2.3]))["holds"]  # rises


def test_excess_variation_is_zero_for_monotone_curves():
    assert claims.excess_variation([3, 2, 1]) == 0
    assert claims.excess_variation([3, 1, 2, 1]) == pytest.approx(2.0)


def test_batchnorm_steadier_both_ways():
    smooth, wiggly = [2.0, 1.5, 1.2, 1.0], [2.0, 1.0, 1.6, 1.0]
    long = {"plain": run(wiggly), "batchnorm": run(smooth)}
    held = claims.batchnorm_steadier({False: {0.01: run(wiggly)}, True: {0.01: run(smooth)}}, long)
    assert held["holds"] and "2 of 2" in held["evidence"] and "1.200 plain vs 0.000 BatchNorm" in held["evidence"]
    flipped = {"plain": run(smooth), "batchnorm": run(wiggly)}
    assert not claims.batchnorm_steadier({False: {0.01: run(smooth)}, True: {0.01: run(wiggly)}}, flipped)["holds"]


def pairs(acc1, acc16, seconds=(50.0, 5.0, 0.5)):
    sizes = ((1, 1, acc1), (16, 1, acc16), (128, 50, 0.9))
    return {f"b{b}-e{e}": {"metrics": {"batch_size": b, "epochs": e, "final_test_acc": a}, "seconds_per_epoch": s}
            for (b, e, a), s in zip(sizes, seconds)}


def test_batch1_beats_batch16_both_ways():
    held = claims.batch1_beats_batch16(pairs(0.78, 0.55))
    assert held["holds"] and held["evidence"] == "batch 1: 0.780, batch 16: 0.550"
    assert not claims.batch1_beats_batch16(pairs(0.50, 0.55))["holds"]
    assert not claims.batch1_beats_batch16(pairs(None, 0.55))["holds"]  # batch 1 diverged


def test_larger_batches_faster_both_ways():
    held = claims.larger_batches_faster(pairs(0.7, 0.5))
    assert held["holds"] and "batch 128: 0.5 s" in held["evidence"]
    assert not claims.larger_batches_faster(pairs(0.7, 0.5, seconds=(50.0, 60.0, 0.5)))["holds"]


def test_depth1_worst_both_ways():
    table = pd.DataFrame({"depth": [1, 2, 6], "final_validation_acc": [0.6, 0.8, 0.9], "final_test_acc": [0.6] * 3})
    held = claims.depth1_worst(table, 16)
    assert held["holds"] and "depth 1: 0.600" in held["evidence"]
    table["final_validation_acc"] = [0.8, 0.6, np.nan]  # a diverged depth ranks lowest
    assert not claims.depth1_worst(table, 16)["holds"]


def test_vanishing_gradients_both_ways():
    dead = {0: np.array([0.0, 0.0]), 30: np.array([1e-9, 1e-9]), 99: np.array([1e-2, 1e-2])}
    healthy = {0: np.array([1e-2, 1e-2]), 30: np.array([1e-2, 1e-2]), 99: np.array([1e-2, 1e-2])}
    held = claims.vanishing_gradients({"plain": dead, "residual": healthy}, 100)
    assert held["holds"] and "2 exactly-zero" in held["evidence"] and "layers (0, 30)" in held["claim"]
    assert not claims.vanishing_gradients({"plain": healthy, "residual": healthy}, 100)["holds"]
    assert not claims.vanishing_gradients({"plain": dead, "residual": dead}, 100)["holds"]
    all_zero = {k: np.zeros(2) for k in dead}  # a completely dead net: nothing reaches layer 0
    assert claims.vanishing_gradients({"plain": all_zero, "residual": healthy}, 100)["holds"]


def cells(rows):
    return pd.DataFrame([{"cell": f"{b}-{lr}", "baseline": b, "lr": lr, "val_accuracy": a, "test_accuracy": a}
                         for b, lr, a in rows])


GOOD = [("scratch", 0.1, 0.5), ("scratch", 0.001, 0.52), ("probe", 0.1, 0.8), ("probe", 0.001, 0.7),
        ("finetune", 0.1, 0.6), ("finetune", 0.001, 0.9)]
BAD = [("scratch", 0.1, 0.5), ("scratch", 0.001, 0.75), ("probe", 0.1, 0.6), ("probe", 0.001, 0.95),
       ("finetune", 0.1, 0.9), ("finetune", 0.001, 0.6)]


def test_cnn_claims_hold_on_the_report_pattern():
    table = cells(GOOD)
    for check in (claims.finetune_best_at_small_lr, claims.probe_best_at_large_lr, claims.scratch_near_chance):
        result = check(table)
        assert result["holds"], result
    assert "finetune best at lr=0.001 (val 0.900, test 0.900)" in claims.finetune_best_at_small_lr(table)["evidence"]


def test_cnn_claims_fail_on_the_opposite_pattern():
    table = cells(BAD)
    for check in (claims.finetune_best_at_small_lr, claims.probe_best_at_large_lr, claims.scratch_near_chance):
        result = check(table)
        assert not result["holds"] and result["evidence"], result


def test_every_result_has_claim_holds_and_evidence():
    result = claims.depth1_worst(pd.DataFrame({"depth": [1, 2], "final_validation_acc": [0.5, 0.6],
                                               "final_test_acc": [0.5, 0.6]}), 16)
    assert set(result) == {"claim", "holds", "evidence"} and isinstance(result["holds"], bool)
