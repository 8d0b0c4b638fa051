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
