"""Names of matrix cells, spelt exactly as DVC renders `${item...}` in dvc.yaml's paths."""

from pathlib import Path

CNN_BASELINES = ("scratch", "probe", "finetune")  # one stage each: cnn_scratch, cnn_probe, cnn_finetune


def dvc_str(value) -> str:
    """DVC's rendering of a YAML scalar: booleans lower-case, numbers as Python prints them (1, 0.01, 1e-05)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lr_cell(lr, batchnorm: bool) -> str:
    """mlp_lr's cell, e.g. lr0.01-bntrue."""
    return f"lr{dvc_str(lr)}-bn{dvc_str(batchnorm)}"


def grid_cell(depth, width) -> str:
    """mlp_grid's cell, e.g. d6-w16."""
    return f"d{dvc_str(depth)}-w{dvc_str(width)}"


def cnn_cell(baseline: str, lr) -> str:
    """A CNN cell, e.g. finetune-0.0001 (an integer lr stays an integer: scratch-1)."""
    return f"{baseline}-{dvc_str(lr)}"


def cnn_file(folder, baseline: str, cell: str, suffix: str) -> Path:
    """A CNN cell's file in its baseline's folder, e.g. metrics/cnn/probe/probe-0.01.json."""
    return Path(folder) / baseline / f"{cell}{suffix}"


def batch_run(batch_size: int, epochs: int) -> str:
    """mlp_batch's run, e.g. b128-e50."""
    return f"b{batch_size}-e{epochs}"
