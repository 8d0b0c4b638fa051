"""Replication (nnrepro.report.replication): two claims.json files, commits or DVC experiments compared verdict by
verdict, changed and opposite counted; the CLI that `make replicate` ends with."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnrepro.errors import UserError
from nnrepro.report import replication
from nnrepro.report.claims.core import CANNOT, FAILS, HOLDS

ROOT = Path(__file__).resolve().parents[1]
OLD = {"a": HOLDS, "b": HOLDS, "c": FAILS, "d": CANNOT, "e": HOLDS, "gone": HOLDS}
NEW = {"a": HOLDS, "b": FAILS, "c": HOLDS, "d": HOLDS, "e": CANNOT, "added": FAILS}


def claims_file(path: Path, verdicts: dict) -> Path:
    entries = {cid: {"claim": f"claim {cid}", "verdict": v, "reason": None} for cid, v in verdicts.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries))
    return path


def test_changed_and_opposite_verdicts_are_counted():
    result = replication.compare(OLD, NEW)
    assert result["claims"] == 5 and [cid for cid, *_ in result["changed"]] == ["b", "c", "d", "e"]
    assert result["opposite"] == [("b", HOLDS, FAILS), ("c", FAILS, HOLDS)]
    assert (result["only_old"], result["only_new"]) == (["gone"], ["added"])
    assert replication.compare(OLD, OLD) == {**replication.compare(OLD, OLD), "changed": [], "opposite": []}


def test_the_summary_gives_counts_and_one_row_per_changed_claim():
    text = replication.summary(replication.compare(OLD, NEW), "HEAD", "replicate-100")
    assert text.startswith("4 of 5 verdicts changed, 2 opposite")
    assert "| b | holds | does not hold | yes |" in text and "| d | cannot be judged | holds | no |" in text
    assert "Only in HEAD: gone." in text and "Only in replicate-100: added." in text


def test_the_cli_compares_two_files(tmp_path):
    old, new = claims_file(tmp_path / "old.json", OLD), claims_file(tmp_path / "new.json", NEW)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "nnrepro.report.replication", str(old), str(new)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("4 of 5 verdicts changed, 2 opposite"), done.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "nnrepro.report.replication", str(old), "no-such-experiment"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert missing.returncode == 2 and "no-such-experiment" in missing.stderr


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def test_a_commit_and_an_experiment_are_read_from_their_committed_claims(tmp_path, monkeypatch):
    git(tmp_path, "init", "-q")
    claims_file(tmp_path / replication.CLAIMS, OLD)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "seeds from 0")
    claims_file(tmp_path / replication.CLAIMS, NEW)
    git(tmp_path, "commit", "-qam", "seeds from 100")
    git(tmp_path, "update-ref", "refs/exps/ab/cdef/replicate-100", "HEAD")  # as `dvc exp run -n` stores one
    git(tmp_path, "reset", "-q", "--hard", "HEAD~1")
    monkeypatch.chdir(tmp_path)
    assert replication.read_claims("HEAD") == OLD and replication.read_claims("replicate-100") == NEW
    with pytest.raises(UserError, match="replicate-7: no claims.json"):
        replication.read_claims("replicate-7")


STAGE = """\
import json, yaml
first = yaml.safe_load(open("params.yaml"))["replicates"]["first"]
verdicts = {"a": "holds", "b": "holds" if first == 0 else "does not hold", "c": "cannot be judged"}
json.dump({k: {"verdict": v} for k, v in verdicts.items()}, open("metrics/claims.json", "w"))
"""


def test_the_make_replicate_recipe_runs_a_temporary_experiment_and_leaves_the_workspace_as_committed(tmp_path):
    """The Makefile's recipe, run in a one-stage DVC repository whose claims depend on replicates.first."""
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "t")
    git(tmp_path, "config", "user.email", "t@t")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "stage.py").write_text(STAGE)
    (tmp_path / "params.yaml").write_text("replicates:\n  first: 0\n")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  claims:\n    cmd: python stage.py\n    deps: [stage.py]\n    params: [replicates.first]\n"
        "    metrics:\n      - metrics/claims.json:\n          cache: false\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "timeout": 120}
    assert subprocess.run(["dvc", "init", "-q"], **run).returncode == 0
    assert subprocess.run(["dvc", "repro", "-q"], **run).returncode == 0
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "seeds from 0")
    recipe = (ROOT / "Makefile").read_text().split("\nreplicate:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    outputs = [
        subprocess.run(line.strip().lstrip("-").replace("$(FIRST)", "100"), shell=True, **run) for line in recipe
    ]
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert outputs[-1].stdout.startswith("1 of 3 verdicts changed, 1 opposite")
    assert "| b | holds | does not hold | yes |" in outputs[-1].stdout
    assert git(tmp_path, "status", "--porcelain") == ""  # the workspace is as committed
    assert "first: 0" in (tmp_path / "params.yaml").read_text()


def judged(effects: list, fixed: float = 0.0, margin: float = 0.0) -> dict:
    """A claims.json entry judged by its seeds: its per-seed effects and the noise the rule gave them."""
    e = np.asarray(effects, dtype=float)
    noise = float(np.sqrt(e.var(ddof=1) / len(e) + fixed))
    return {"verdict": HOLDS, "seed_effects": list(effects), "noise": noise, "margin": margin}


def test_chance_changes_no_verdict_of_claims_far_from_their_margins():
    far = judged([1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 1.01])  # ~30 standard errors above 0
    below = judged([-1.0, -1.1, -0.9, -1.05, -0.95, -1.02, -0.98, -1.01])
    chance = replication.by_chance({"a": far, "b": below}, {"a": far, "b": below}, draws=500)
    assert chance["claims"] == 2 and chance["changed"] == 0 and chance["opposite"] == 0


def test_chance_changes_claims_near_their_margins_often_however_many_seeds():
    rng = np.random.default_rng(1)
    near = {f"c{i}": judged(list(rng.normal(0.8, 1.0, 16))) for i in range(10)}  # effect ~3 standard errors
    chance = replication.by_chance(near, near, draws=500)
    assert chance["claims"] == 10 and 2 < chance["changed"] < 8 and chance["range"][1] > chance["changed"]
    assert chance["opposite"] < 0.1


def test_chance_redraws_only_claims_judged_by_their_seeds_on_both_sides():
    stopped = {"verdict": FAILS, "seed_effects": None, "noise": None, "margin": None}
    one_run = {"verdict": CANNOT, "seed_effects": [0.2], "noise": None, "margin": 0.0}
    near = judged([0.1, -0.3, 0.4, 0.2, 0.0, 0.5, -0.1, 0.3])
    chance = replication.by_chance({"a": near, "b": stopped, "c": one_run}, {"a": stopped, "b": near, "c": near})
    assert chance["claims"] == 0 and chance["changed"] == 0


def test_a_single_run_side_widens_the_interval_and_so_changes_more():
    effects = [0.30, 0.25, 0.35, 0.28, 0.32, 0.27, 0.33, 0.30]  # decided by the seeds alone
    alone = replication.by_chance({"a": judged(effects)}, {"a": judged(effects)}, draws=500)
    noisy = judged(effects, fixed=0.15**2)  # a one-run side: its noise straddles the margin
    beside = replication.by_chance({"a": noisy}, {"a": noisy}, draws=500)
    assert alone["changed"] == 0 and beside["changed"] > 0.1


def test_the_summary_says_what_chance_alone_changes():
    chance = {"changed": 6.4, "range": (3.0, 10.0), "opposite": 0.02, "claims": 49}
    text = replication.summary(replication.compare(OLD, NEW), "HEAD", "replicate-100", chance)
    assert "over the 49 claims" in text and "6.4 changed on average (95% of draws: 3 to 10), 0.02 opposite" in text
