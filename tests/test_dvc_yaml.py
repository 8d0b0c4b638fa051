"""dvc.yaml tells the truth: every stage's deps are its script and exactly the project modules it imports; the
reporting side imports no training code; cell names are spelt as DVC renders them."""

import copy
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from dvc_checks import boundary_violations, deps_mismatches, params_mismatches, stale_lock_entries
from nnrepro import cells

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
REPORTING_SIDE = "report"
TRAINING_SIDE = tuple(sorted(p.parent.name for p in (ROOT / "src/nnrepro").glob("*/__init__.py")
                             if p.parent.name != REPORTING_SIDE))


def test_every_stage_lists_exactly_its_import_closure():
    assert deps_mismatches(STAGES, ROOT) == []


def test_a_removed_or_extra_dep_is_named():
    broken = copy.deepcopy(STAGES)
    broken["evaluate"]["deps"].remove("src/nnrepro/europe/points.py")
    broken["figures"]["deps"].append("src/nnrepro/europe/loop.py")
    broken["timings"]["deps"].remove("src/nnrepro/report")
    broken["mlp_lr"]["deps"].append("src/nnrepro/faces")
    assert deps_mismatches(broken, ROOT) == [
        "mlp_lr: lists src/nnrepro/faces in deps but does not import it",
        "evaluate: imports src/nnrepro/europe/points.py but does not list it in deps",
        "figures: lists src/nnrepro/europe/loop.py in deps but does not import it",
        "timings: imports src/nnrepro/report/__init__.py but does not list it in deps",
        "timings: imports src/nnrepro/report/readback.py but does not list it in deps",
    ]


def test_the_sides_are_the_packages_on_disk():
    assert TRAINING_SIDE == ("europe", "faces", "runtime")


def test_reporting_package_imports_no_training_package():
    assert boundary_violations(ROOT / "src", REPORTING_SIDE, TRAINING_SIDE) == []


def test_a_planted_training_import_in_the_reporting_package_is_named(tmp_path):
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    headline = tmp_path / "src/nnrepro/report/headline.py"
    headline.write_text(headline.read_text() + "\n\ndef _late():\n    from nnrepro.europe import loop  # noqa\n")
    assert boundary_violations(tmp_path / "src", REPORTING_SIDE, TRAINING_SIDE) == [
        "nnrepro/report/headline.py imports nnrepro.europe"]


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


def test_dvc_lock_records_only_stages_of_dvc_yaml(tmp_path):
    assert stale_lock_entries(ROOT) == [], "run python tools/prune_lock.py"
    for name in ("dvc.yaml", "dvc.lock", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    from dvc.repo import Repo

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    Repo.init(str(tmp_path))
    lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())
    lock["stages"]["mlp_lr@1-false"] = copy.deepcopy(lock["stages"]["mlp_lr"])  # a cell merged away, still locked
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert stale_lock_entries(tmp_path) == ["mlp_lr@1-false"]
    prune = subprocess.run([sys.executable, str(ROOT / "tools" / "prune_lock.py"), str(tmp_path)], capture_output=True,
                           text=True, timeout=120)
    assert prune.returncode == 0 and "mlp_lr@1-false" in prune.stdout, prune.stderr
    assert stale_lock_entries(tmp_path) == [] and yaml.safe_load((tmp_path / "dvc.lock").read_text()) == {
        **lock, "stages": {k: v for k, v in lock["stages"].items() if k != "mlp_lr@1-false"}}
