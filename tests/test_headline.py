"""The headline metrics: the numbers a reader looks at first, short unique keys, each taken from the right place."""

from nnrepro.report import headline


def test_headline_takes_each_baseline_best_cell_by_validation_accuracy():
    cells = {
        "scratch": {
            0.1: {"lr": 0.1, "validation_acc": 0.5, "test_acc": 0.6},
            0.01: {"lr": 0.01, "validation_acc": 0.55, "test_acc": 0.52},
        },
        "probe": {
            0.1: {"lr": 0.1, "validation_acc": None, "test_acc": None},
            0.01: {"lr": 0.01, "validation_acc": 0.7, "test_acc": 0.75},
        },
        "finetune": {0.001: {"lr": 0.001, "validation_acc": 0.9, "test_acc": 0.85}},
    }
    facts = {
        "long": {"plain": {"final_test_acc": 0.91}, "batchnorm": {"final_test_acc": 0.93}},
        "grid": {"best": "d6-w32", "worst": "d1-w16"},
        "cnn": {"cells": cells, "xgboost": {"validation_acc": 0.6, "test_acc": 0.65}},
    }
    counts = {"holds": 17, "does not hold": 5, "cannot be judged": 10}
    result = headline.headline(facts, counts, {"within noise": 4, "collapsed": 3, "missing": 2, "one run": 1})
    assert tuple(result) == headline.KEYS
    assert result == {
        "long_acc": 0.91,
        "long_bn_acc": 0.93,
        "grid_best": "d6-w32",
        "grid_worst": "d1-w16",
        "scratch_acc": 0.52,
        "probe_acc": 0.75,
        "finetune_acc": 0.85,
        "xgboost_acc": 0.65,
        "claims_hold": 17,
        "claims_fail": 5,
        "claims_unjudged": 10,
        "unjudged_noise": 4,
        "unjudged_collapsed": 3,
        "unjudged_missing": 2,
        "unjudged_one_run": 1,
    }
    # scratch: chosen on validation (0.55), not on its higher test accuracy


def test_claims_headline_and_selection_pick_the_same_cell_whatever_the_lr_order():
    """A tie on validation and test accuracy, the learning rates listed ascending, and a diverged cell that would
    otherwise win: every reader of "best" picks the same cell, because all of them call selection.best."""
    from nnrepro import selection
    from nnrepro.report.claims import cnn as cnn_claims

    cells = {lr: {"lr": lr, "validation_acc": 0.8, "test_acc": 0.7} for lr in (0.0001, 0.001, 0.01)}
    cells[0.1] = {"lr": 0.1, "validation_acc": 0.99, "test_acc": 0.99, "diverged": True}
    facts = {
        "long": {"plain": {}, "batchnorm": {}},
        "grid": {"best": "a", "worst": "b"},
        "cnn": {"cells": {"finetune": cells}, "xgboost": {"test_acc": 0.5}},
    }
    chosen = selection.best(list(cells.values()))
    assert chosen["lr"] == 0.0001  # ties keep the listed order; the diverged cell ranks last
    assert cnn_claims._best(facts, "finetune") == (0.0001, chosen)
    none = {"holds": 0, "does not hold": 0, "cannot be judged": 0}
    reasons = {"within noise": 0, "collapsed": 0, "missing": 0, "one run": 0}
    assert headline.headline(facts, none, reasons)["finetune_acc"] == chosen["test_acc"]
    assert selection.rank(list(cells.values()), "validation_acc", "test_acc")[-1]["lr"] == 0.1
