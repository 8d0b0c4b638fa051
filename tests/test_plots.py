"""dvc.yaml's top-level plots follow the params: a figure of a swept list reads one table of all its cells, so
after the list changes `dvc plots show` and `dvc plots diff` draw every new cell and miss no file."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_stage
from pipeline_helpers import commit, dvc, sh

from nnrepro import cells

SWEPT = {
    "fig01_lr_sweep": "lr",
    "fig03_lr_sweep_batchnorm": "lr_bn",
    "fig05_batch_test_accuracy": "batch",
    "fig06_batch_test_loss": "batch",
}
TINY = {
    "data_seed": 0,
    "replicates": {"first": 0, "mlp": 2, "grad_probe": 2, "probe": 2, "cnn": 1},
    "device": "cpu",
    "lr": 0.01,
    "europe": {"source": "embedded", "csv_dir": "examples/europe", "n_train": 330, "n_validation": 66, "n_test": 66},
    # dvc.yaml interpolates both folders into the prepare stages' deps, so DVC needs them to load any stage
    "faces": {"source": "embedded", "image_dir": "examples/faces"},
    "mlp": {"depth": 2, "width": 8, "features": "xy", "batch_size": 64, "epochs": 2},
}


def cell_names(params: dict) -> set[str]:
    """Every cell the swept lists of `params` make (mlp_lr, mlp_batch, the grid, the CNN baselines)."""
    names = {cells.lr_cell(lr, bn) for lr in params["mlp_lr"]["lrs"] for bn in params["mlp_lr"]["batchnorm"]}
    names |= {cells.batch_run(b, e) for b, e in params["mlp_batch"]["pairs"]}
    names |= {cells.grid_cell(d, w) for d in params["mlp_grid"]["depths"] for w in params["mlp_grid"]["widths"]}
    return names | {cells.cnn_cell(base, lr) for base in cells.CNN_BASELINES for lr in params["cnn"]["lrs"]}


def per_cell_files(plots: list, names: set[str]) -> list[str]:
    """The files of top-level plot definitions that name a cell: they go missing when its list changes."""
    files = [path for plot in plots for props in plot.values() for path in (props or {}).get("y", {})]
    return [path for path in files if set(Path(path).parts) & names]


def test_no_plot_names_a_cell_of_a_swept_list():
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    assert per_cell_files(plots, cell_names(yaml.safe_load((ROOT / "params.yaml").read_text()))) == []


def test_a_plot_that_names_cells_is_found():
    plots = [
        {
            "fig": {
                "y": {
                    "plots/mlp_lr/lr1-bnfalse/plots/metrics/validation/loss.tsv": "loss",
                    "plots/mlp_lr/bnfalse.tsv": "validation_loss",
                }
            }
        }
    ]
    params = {
        "mlp_lr": {"lrs": [1], "batchnorm": [False]},
        "mlp_batch": {"pairs": []},
        "mlp_grid": {"depths": [], "widths": []},
        "cnn": {"lrs": []},
    }
    assert per_cell_files(plots, cell_names(params)) == ["plots/mlp_lr/lr1-bnfalse/plots/metrics/validation/loss.tsv"]


def train_sweeps(repo: Path, lrs: list, pairs: list) -> dict[str, set[str]]:
    """mlp_lr and mlp_batch on tiny params with these lists; each figure's expected cells."""
    params = {
        **TINY,
        "mlp_lr": {"lrs": lrs, "batchnorm": [False, True]},
        "mlp_batch": {"pairs": pairs, "first_epoch_evals": 2},
    }
    for name in ("mlp_lr", "mlp_batch"):
        metrics = f"metrics/{name}" + (".json" if name == "mlp_batch" else "")
        result = run_stage(
            f"{name}.py",
            [
                "--data",
                "data/europe",
                "--live",
                f"plots/{name}",
                "--models",
                f"models/{name}",
                "--metrics",
                metrics,
                "--provenance",
                f"provenance/{name}.json",
                "--timings",
                f"timings/{name}.json",
            ],
            repo,
            params,
        )
        assert result.returncode == 0, result.stderr
    return {
        "lr": {cells.lr_cell(lr, False) for lr in lrs},
        "lr_bn": {cells.lr_cell(lr, True) for lr in lrs},
        "batch": {cells.batch_run(b, e) for b, e in pairs},
    }


def drawn(repo: Path, *revisions: str, figures=tuple(SWEPT), series: str = "cell") -> dict[str, dict[str, set]]:
    """figure -> revision -> the series (cells) its vega-lite spec draws (`dvc plots show/diff --json`), each
    spec rendered by vega (vl_convert) with one legend entry per series."""
    import vl_convert

    cmd = ["plots", "diff", *revisions, "--json", "--targets"] if revisions else ["plots", "show", "--json"]
    out = json.loads(dvc(repo, *cmd, *figures).stdout)
    assert "errors" not in out, out["errors"]
    found = {}
    for figure, renders in out["data"].items():
        assert not any("errors" in r for r in renders), renders
        values = [v for r in renders for v in r["content"]["data"]["values"]]
        found[figure] = {rev: {v[series] for v in values if v["rev"] == rev} for rev in {v["rev"] for v in values}}
        svg = vl_convert.vegalite_to_svg(renders[0]["content"])
        labels = {f"layer {v[series]}" if series == "layer" else v[series] for v in values}
        assert labels <= set(re.findall(r">([^<>]+)</text>", svg)), f"{figure}: {sorted(labels)} not in its legend"
    return found


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git+DVC repo with the project's dvc.yaml and plot templates and the default sweeps' lists, committed."""
    repo = tmp_path_factory.mktemp("plots")
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "config", "user.name", "nnrepro test")
    sh(repo, "git", "config", "user.email", "test@nnrepro.invalid")
    dvc(repo, "init", "-q")
    commit(repo, "dvc init")  # DVCLive stops in a git repo without commits
    shutil.copy(ROOT / "dvc.yaml", repo / "dvc.yaml")
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    result = run_stage("prepare_europe.py", ["--out", "data/europe"], repo, TINY)
    assert result.returncode == 0, result.stderr
    defaults = yaml.safe_load((ROOT / "params.yaml").read_text())
    expected = train_sweeps(
        repo, defaults["mlp_lr"]["lrs"], [[b, e] for b, e in defaults["mlp_batch"]["pairs"] if b >= 16]
    )  # batch size 1: minutes on 2 cores
    commit(repo, "the default lists")
    return repo, expected


def test_changed_lists_draw_every_new_cell_in_show_and_diff(repo):
    repo, before = repo
    after = train_sweeps(repo, [0.1, 0.003], [[32, 1], [64, 2], [128, 2]])
    shown = drawn(repo)
    assert set(shown) == set(SWEPT)
    for figure, group in SWEPT.items():
        assert shown[figure] == {"workspace": after[group]}
    diffed = drawn(repo, "HEAD")
    for figure, group in SWEPT.items():
        assert diffed[figure] == {"workspace": after[group], "HEAD": before[group]}


def test_changed_probed_layers_draw_every_layer(repo):
    repo, _ = repo
    params = {
        **TINY,
        "grad_probe": {"depth": 6, "width": 4, "epochs": 2, "batch_size": 64, "layers": [1, 4]},
    }
    result = run_stage(
        "grad_probe.py",
        [
            "--data",
            "data/europe",
            "--live",
            "plots/grad_probe",
            "--models",
            "models/grad_probe",
            "--metrics",
            "metrics/grad_probe.json",
            "--provenance",
            "provenance/grad_probe.json",
            "--timings",
            "timings/grad_probe.json",
        ],
        repo,
        params,
    )
    assert result.returncode == 0, result.stderr
    figures = ("fig13_gradients_plain", "fig13b_gradients_residual")
    assert drawn(repo, figures=figures, series="layer") == {f: {"workspace": {"1", "4"}} for f in figures}
