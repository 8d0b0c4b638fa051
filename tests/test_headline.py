"""The headline metrics: the numbers a reader looks at first, short unique keys, each taken from the right place."""

from nnrepro.report import headline


def test_headline_takes_each_baseline_best_cell_by_validation_accuracy():
    cells = {"scratch": {0.1: {"lr": 0.1, "validation_acc": 0.5, "test_acc": 0.6},
                         0.01: {"lr": 0.01, "validation_acc": 0.55, "test_acc": 0.52}},
             "probe": {0.1: {"lr": 0.1, "validation_acc": None, "test_acc": None},
                       0.01: {"lr": 0.01, "validation_acc": 0.7, "test_acc": 0.75}},
             "finetune": {0.001: {"lr": 0.001, "validation_acc": 0.9, "test_acc": 0.85}}}
    facts = {"long": {"plain": {"final_test_acc": 0.91}, "batchnorm": {"final_test_acc": 0.93}},
             "grid": {"best": "d6-w32", "worst": "d1-w16"},
             "cnn": {"cells": cells, "xgboost": {"validation_acc": 0.6, "test_acc": 0.65}}}
    result = headline.headline(facts, holds=17)
    assert tuple(result) == headline.KEYS
    assert result == {"long_acc": 0.91, "long_bn_acc": 0.93, "grid_best": "d6-w32", "grid_worst": "d1-w16",
                      "scratch_acc": 0.52, "probe_acc": 0.75, "finetune_acc": 0.85, "xgboost_acc": 0.65,
                      "claims_hold": 17}  # scratch: chosen on validation (0.55), not on its higher test accuracy
