"""A real SSH remote: push, a fresh clone's pull, and an experiment's push/pull between clones, through OpenSSH.

sshd runs on 127.0.0.1 as a child of the test (ssh_server.py); DVC reaches it through dvc-ssh, git goes through a
bare repository standing in for the shared git server. Only prepare_europe and mlp_grid (two tiny cells) run, to
stay fast.
"""

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pipeline_helpers as h
import pytest
import yaml
from conftest import ROOT
from ssh_server import sshd

pytestmark = pytest.mark.slow
STAGE = "mlp_grid"  # depth 1, widths 4 and 8 in tiny_params; reads `lr`, needs prepare_europe's data/europe
MODEL = "models/mlp_grid/d1-w4"  # the files of cell d1-w4's model (one per seed: d1-w4-rep0.pt, ...)
CACHED = ("data/europe", "models/mlp_grid")  # the two stages' cached outputs: to the DVC remote, not to git


def _need(ok: bool, why: str) -> None:
    """Skip when a prerequisite is missing, except in CI, where it is a failure."""
    if not ok:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(why)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need(
        shutil.which("sshd") is not None and shutil.which("ssh-keygen") is not None,
        "sshd or ssh-keygen is not on PATH (Debian: apt-get install openssh-server; sshd is in /usr/sbin)",
    )
    _need(importlib.util.find_spec("dvc_ssh") is not None, "dvc-ssh is not installed (pip install dvc-ssh)")
    with sshd(tmp_path_factory.mktemp("sshd")) as running:
        yield running


def ssh_env(server) -> dict:
    """The pipeline env with HOME away from the user's ~/.ssh (config, keys) and no agent: only the test's key."""
    env = {**h.env(), "HOME": str(server.home)}
    env.pop("SSH_AUTH_SOCK", None)
    return env


def cached(repo: Path) -> dict[str, str]:
    """sha256 of the files DVC caches under CACHED (not the .gitignore files DVC writes beside them)."""
    return {k: v for folder in CACHED for k, v in h.digests(repo, folder).items() if not k.endswith(".gitignore")}


def without_lists(data):
    """A metrics file as `dvc exp show` reports it: DVC leaves out list values (such as a run's `seeds`)."""
    if isinstance(data, dict):
        return {k: without_lists(v) for k, v in data.items() if not isinstance(v, list)}
    return data


def clone(server, origin: Path, dest: Path) -> Path:
    """`git clone` of the shared repository, the user's key set for the remote (--local: an untracked setting)."""
    h.sh(dest.parent, "git", "clone", "-q", str(origin), str(dest), env=ssh_env(server))
    h.sh(dest, "git", "config", "user.name", "nnrepro test")
    h.sh(dest, "git", "config", "user.email", "test@nnrepro.invalid")
    h.dvc(dest, "remote", "modify", "--local", "storage", "keyfile", str(server.keyfile), env=ssh_env(server))
    return dest


@pytest.fixture(scope="module")
def shared(server, tmp_path_factory):
    """Results of the two stages committed, pushed to a bare git origin and to the SSH remote: (origin, digests)."""
    tmp, env = tmp_path_factory.mktemp("shared"), ssh_env(server)
    params = h.tiny_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    repo = h.make_repo(tmp_path_factory.mktemp("work"), params)
    assert h.ran(h.dvc(repo, "repro", STAGE, env=env)) == {"prepare_europe", STAGE}
    h.dvc(repo, "remote", "add", "-d", "storage", server.url(tmp / "remote"), env=env)
    h.dvc(repo, "remote", "modify", "--local", "storage", "keyfile", str(server.keyfile), env=env)
    h.commit(repo, "tiny results, SSH remote")
    h.dvc(repo, "push", env=env)
    assert any((tmp / "remote" / "files" / "md5").iterdir())  # the objects are on the server's disk
    h.sh(tmp, "git", "init", "-q", "--bare", "-b", "main", "origin.git")
    h.sh(repo, "git", "push", "-q", str(tmp / "origin.git"), "main")
    return tmp / "origin.git", cached(repo)


@pytest.fixture(scope="module")
def pulled(server, shared, tmp_path_factory):
    """A fresh clone after `dvc pull` of the two stages (a bare `dvc pull` fails on the stages never run)."""
    repo = clone(server, shared[0], tmp_path_factory.mktemp("a") / "repo")
    assert not (repo / "data" / "europe").exists()  # cached outputs are not in git
    h.dvc(repo, "pull", "--with-deps", STAGE, env=ssh_env(server))
    return repo


def test_fresh_clone_pulls_byte_identical_outputs_over_ssh_and_repro_runs_nothing(server, shared, pulled):
    assert cached(pulled) == shared[1]
    again = h.dvc(pulled, "repro", STAGE, env=ssh_env(server))
    assert h.ran(again) == set() and "up to date" in again.stdout


def test_exp_push_then_exp_pull_moves_an_experiment_and_its_model_between_clones(
    server, shared, pulled, tmp_path_factory
):
    a, env = pulled, ssh_env(server)
    assert h.ran(h.dvc(a, "exp", "run", "-n", "ssh-exp", "-S", "lr=0.02", STAGE, env=env)) == {STAGE}
    trained = cached(a)
    models = sorted(k for k in shared[1] if k == f"{MODEL}.pt" or k.startswith(f"{MODEL}-rep"))
    assert models and all(trained[m] != shared[1][m] for m in models)  # lr 0.02 trained other models
    h.dvc(a, "exp", "push", "origin", "ssh-exp", env=env)  # the exp's git ref to origin, its model over SSH

    b = clone(server, shared[0], tmp_path_factory.mktemp("b") / "repo")
    assert not (b / ".dvc" / "cache").exists()  # so the model can only come from `exp pull`
    h.dvc(b, "exp", "pull", "origin", "ssh-exp", env=env)
    shown = json.loads(h.dvc(b, "exp", "show", "--json", env=env).stdout)
    exp = next(
        rev for row in shown for e in row.get("experiments") or [] for rev in e["revs"] if rev["name"] == "ssh-exp"
    )
    assert exp["data"]["params"]["params.yaml"]["data"]["lr"] == 0.02
    metrics = exp["data"]["metrics"]["metrics/mlp_grid/d1-w4.json"]["data"]
    assert metrics == without_lists(json.loads((a / "metrics" / "mlp_grid" / "d1-w4.json").read_text()))

    # `dvc exp apply` would also try the stages never run here; check out the experiment's commit instead
    h.sh(b, "git", "checkout", "-q", exp["rev"])
    h.dvc(b, "checkout", "--with-deps", STAGE, env=env)  # from B's cache alone, which `exp pull` filled
    assert cached(b) == trained  # the new model, and data/europe, which the experiment did not change
    assert "up to date" in h.dvc(b, "status", "--with-deps", STAGE, env=env).stdout
