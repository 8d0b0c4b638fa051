"""The reporting side reads the cells the training stages wrote, never file names rebuilt from params."""

import inspect

import pytest
import synthetic_results as synth

from nnrepro.errors import UserError
from nnrepro.report import readback


@pytest.fixture
def tree(tmp_path):
    synth.write_mlp_runs(tmp_path)
    return tmp_path


def test_the_lr_sweep_is_every_cell_mlp_lr_wrote(tree):
    sweep = readback.lr_sweep(tree / "metrics/mlp_lr", tree / "plots/mlp_lr")
    assert list(sweep) == ["plain", "batchnorm"]
    for name, bn in (("plain", False), ("batchnorm", True)):
        assert list(sweep[name]) == sorted((float(lr) for lr, b in synth.LR_CURVES if b == bn), reverse=True)
    assert sweep["plain"][1.0]["diverged"] and not sweep["batchnorm"][1.0]["diverged"]


def test_a_sweep_changed_in_params_since_the_run_reads_what_was_written(tree):
    """No params in the reading: a learning rate added to mlp_lr.lrs but not trained yet (DVC reruns mlp_lr
    first) is never looked for, and a cell the run did not write is simply absent."""
    assert "config" not in inspect.signature(readback.facts).parameters
    (tree / "metrics/mlp_lr/lr0.0001-bntrue.json").unlink()
    sweep = readback.lr_sweep(tree / "metrics/mlp_lr", tree / "plots/mlp_lr")
    assert list(sweep["batchnorm"]) == [1.0, 0.01] and list(sweep["plain"]) == [1.0, 0.01, 0.0001]


def test_no_cell_written_is_one_line_naming_the_stage(tmp_path):
    (tmp_path / "metrics").mkdir()
    with pytest.raises(UserError, match="mlp_lr's cells in .* is missing: run `dvc repro` so that mlp_lr runs first"):
        readback.lr_sweep(tmp_path / "metrics", tmp_path / "plots")


def test_each_cnn_replicate_is_collapsed_on_its_own_predictions():
    """A replicate at the class share counts as collapsed where it gave every validation image one class (or, written
    before replicates carried `one_class`, by its accuracy alone); the cell's mean is judged apart."""
    reps = [
        {"validation_acc": 0.5, "one_class": True},
        {"validation_acc": 0.6, "one_class": False},
        {"validation_acc": 0.5, "one_class": False},  # at chance, but it tells the classes apart
        {"validation_acc": 0.5},
    ]
    cell = {"validation_acc": 0.525, "one_class": True, "replicates": reps}
    result = {
        "lr_sweep": {},
        "long": {},
        "batch": {},
        "grid": {"best_history": {}, "worst_history": {}, "cells": {}},
        "probe": {"plain": {}, "residual": {}},
        "cnn": {"largest_share": 0.5, "xgboost": {"validation_acc": 0.7}, "selection": {"cells": [cell]}},
    }
    readback.mark_collapsed(result, 0.1)
    assert not cell["collapsed"] and [r["collapsed"] for r in reps] == [True, False, False, True]


def test_a_replicates_metrics_say_whether_it_gave_one_class():
    import numpy as np

    from nnrepro.faces import predictions

    data = {s: {"names": ["a", "b", "c"], "labels": [0, 1, 1]} for s in ("validation", "test")}
    history = [{"train_loss": 0.7}]
    one = predictions.frame(data, {"validation": np.array([0.9, 0.8, 0.7]), "test": np.array([0.1, 0.9, 0.9])})
    two = predictions.frame(data, {"validation": np.array([0.1, 0.8, 0.7]), "test": np.array([0.9, 0.8, 0.7])})
    assert predictions.cell_metrics(one, history)["one_class"] is True
    assert predictions.cell_metrics(two, history)["one_class"] is False
