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
TRAINING_SIDE = tuple(
    sorted(p.parent.name for p in (ROOT / "src/nnrepro").glob("*/__init__.py") if p.parent.name != REPORTING_SIDE)
)


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
        "timings: imports src/nnrepro/report/interval.py but does not list it in deps",
        "timings: imports src/nnrepro/report/readback.py but does not list it in deps",
    ]


def test_every_folder_of_code_is_on_one_side():
    """A folder of modules without an __init__.py would escape the boundary check below."""
    folders = {p.parent.name for p in (ROOT / "src/nnrepro").glob("*/*.py")}
    assert REPORTING_SIDE in folders and folders == {REPORTING_SIDE, *TRAINING_SIDE}


def test_reporting_package_imports_no_training_package():
    assert boundary_violations(ROOT / "src", REPORTING_SIDE, TRAINING_SIDE) == []


def test_a_planted_import_of_each_training_package_in_the_reporting_package_is_named(tmp_path):
    """Every package of the training side is watched, whatever it is called: one late import of each is planted."""
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    headline = tmp_path / "src/nnrepro/report/headline.py"
    late = "".join(f"\n\ndef _late_{name}():\n    import nnrepro.{name}  # noqa\n" for name in TRAINING_SIDE)
    headline.write_text(headline.read_text() + late)
    assert boundary_violations(tmp_path / "src", REPORTING_SIDE, TRAINING_SIDE) == [
        f"nnrepro/report/headline.py imports nnrepro.{name}" for name in TRAINING_SIDE
    ]


def test_params_check_names_missing_and_unread_keys():
    declared = {"mlp_long": {"seed", "mlp.depth", "mlp_long"}, "report": {"mlp"}}
    read = {"mlp_long": {"seed", "mlp.depth", "mlp.width", "mlp_long.epochs"}, "report": {"mlp"}}
    assert params_mismatches(read, declared) == ["mlp_long: reads 'mlp.width' but does not declare it"]
    read["mlp_long"] = {"mlp.depth", "mlp_long.epochs"}
    assert params_mismatches(read, declared) == ["mlp_long: declares 'seed' but never reads it"]


NAMES = [
    (1, "1"),
    (0.01, "0.01"),
    (1e-05, "1e-05"),
    (0.0001, "0.0001"),
    (100, "100"),
    (True, "true"),
    (False, "false"),
]  # a cell's value and its name as DVC spells it


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory):
    """One DVC repository for this module: a copy of the project's dvc.yaml, dvc.lock and params.yaml, and in
    names/ a matrix stage over each value of NAMES, read from names/params.yaml as the pipeline reads its lists."""
    from dvc.repo import Repo

    root = tmp_path_factory.mktemp("dvc_repo")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    Repo.init(str(root))
    for name in ("dvc.yaml", "dvc.lock", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "names").mkdir()
    values = {f"v{i}": [value] for i, (value, _) in enumerate(NAMES)}
    (root / "names/params.yaml").write_text(yaml.safe_dump({"values": values}))
    stages = {
        f"s{i}": {"matrix": {"v": f"${{values.v{i}}}"}, "cmd": "echo", "outs": [f"out{i}/${{item.v}}.txt"]}
        for i in range(len(NAMES))
    }
    (root / "names/dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return root


@pytest.fixture(scope="module")
def rendered(dvc_repo) -> dict[int, str]:
    """NAMES index -> the output path DVC rendered from that value."""
    from dvc.repo import Repo

    with Repo(str(dvc_repo)) as repo:
        paths = [out.def_path for stage in repo.index.stages for out in stage.outs if out.def_path.startswith("out")]
    return {int(path.split("/")[0][3:]): path.split("/", 1)[1] for path in paths}


@pytest.mark.parametrize("index", range(len(NAMES)), ids=[spelt for _, spelt in NAMES])
def test_cell_names_follow_dvc_rendering(rendered, index):
    """DVC itself renders `${item.v}` in a matrix stage's path; our names must match it byte for byte."""
    value, spelt = NAMES[index]
    assert rendered[index] == f"{spelt}.txt"
    assert cells.dvc_str(value) == spelt
    assert cells.cnn_cell("scratch", value) == f"scratch-{spelt}"


def test_dvc_lock_records_only_stages_of_dvc_yaml(dvc_repo):
    assert stale_lock_entries(ROOT) == [], "run python tools/prune_lock.py"
    lock = yaml.safe_load((dvc_repo / "dvc.lock").read_text())
    lock["stages"]["mlp_lr@1-false"] = copy.deepcopy(lock["stages"]["mlp_lr"])  # a cell merged away, still locked
    (dvc_repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert stale_lock_entries(dvc_repo) == ["mlp_lr@1-false"]
    prune = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "prune_lock.py"), str(dvc_repo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prune.returncode == 0 and "mlp_lr@1-false" in prune.stdout, prune.stderr
    assert stale_lock_entries(dvc_repo) == [] and yaml.safe_load((dvc_repo / "dvc.lock").read_text()) == {
        **lock,
        "stages": {k: v for k, v in lock["stages"].items() if k != "mlp_lr@1-false"},
    }


def undescribed(stages: dict) -> list[str]:
    """Stages without a one-line `desc:` (what `dvc stage list` prints beside each name)."""
    return [
        name
        for name, stage in stages.items()
        if not isinstance(stage.get("desc"), str) or not stage["desc"].strip() or "\n" in stage["desc"]
    ]


def test_every_stage_has_a_one_line_desc():
    assert undescribed(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]) == []


def test_a_stage_without_desc_is_named():
    stages = {"a": {"desc": "trains", "cmd": "x"}, "b": {"cmd": "y"}, "c": {"desc": "two\nlines", "cmd": "z"}}
    assert undescribed(stages) == ["b", "c"]
