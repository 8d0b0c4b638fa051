"""dvc.yaml tells the truth: every stage's deps are its script and exactly the project modules it imports; the
reporting side imports no training code; cell names are spelt as DVC renders them."""

import copy
import subprocess

import pytest
import yaml

from conftest import ROOT
from dvc_checks import closure, deps_mismatches, params_mismatches
from nnrepro import cells

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
REPORTING = {"claims", "figures", "report", "timings"}
TRAINING_MODULES = {"stage", "train", "mlp", "gradients", "cnn", "faces", "europe", "device", "boost", "grid",
                    "boundary"}


def test_every_stage_lists_exactly_its_import_closure():
    assert deps_mismatches(STAGES, ROOT) == []


def test_a_removed_or_extra_dep_is_named():
    broken = copy.deepcopy(STAGES)
    broken["evaluate"]["deps"].remove("src/nnrepro/europe.py")
    broken["figures"]["deps"].append("src/nnrepro/train.py")
    assert deps_mismatches(broken, ROOT) == [
        "evaluate: imports src/nnrepro/europe.py but does not list it in deps",
        "figures: lists src/nnrepro/train.py in deps but does not import it",
    ]


def test_reporting_side_imports_no_training_code():
    for name in REPORTING:
        modules = {p.stem for p in closure(ROOT / STAGES[name]["cmd"].split()[1], ROOT / "src")}
        assert not modules & TRAINING_MODULES, f"{name} imports {sorted(modules & TRAINING_MODULES)}"


def test_params_check_names_missing_and_unread_keys():
    declared = {"mlp_long": {"seed", "mlp.depth", "mlp_long"}, "report": {"mlp"}}
    read = {"mlp_long": {"seed", "mlp.depth", "mlp.width", "mlp_long.epochs"}, "report": {"mlp"}}
    assert params_mismatches(read, declared) == ["mlp_long: reads 'mlp.width' but does not declare it"]
    read["mlp_long"] = {"mlp.depth", "mlp_long.epochs"}
    assert params_mismatches(read, declared) == ["mlp_long: declares 'seed' but never reads it"]


@pytest.mark.parametrize("value, spelt", [(1, "1"), (0.01, "0.01"), (1e-05, "1e-05"), (0.0001, "0.0001"),
                                          (100, "100"), (True, "true"), (False, "false")])
def test_cell_names_follow_dvc_rendering(tmp_path, value, spelt):
    """DVC itself renders `${item.v}` in a matrix stage's path; our names must match it byte for byte."""
    from dvc.repo import Repo

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    Repo.init(str(tmp_path))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"values": [value]}))
    (tmp_path / "dvc.yaml").write_text("stages:\n  s:\n    matrix:\n      v: ${values}\n"
                                       "    cmd: echo\n    outs:\n      - out/${item.v}.txt\n")
    with Repo(str(tmp_path)) as repo:
        (stage,) = repo.index.stages
        assert [o.def_path for o in stage.outs] == [f"out/{spelt}.txt"]
    assert cells.dvc_str(value) == spelt
    assert cells.cnn_cell("scratch", value) == f"scratch-{spelt}"
