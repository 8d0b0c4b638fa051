"""The documented way back after a failed experiment restores params.yaml even when git's index is stale: DVC
rewrites the file twice within a second at the same size and stages it through its own git library (dulwich),
which records the new file's stat against the old content, so git takes the file as unchanged."""

import os
import re
import subprocess

from conftest import ROOT
from dulwich.index import index_entry_from_stat
from dulwich.repo import Repo

COMMITTED = {"params.yaml": "faces:\n  image_size: 64\n", "dvc.lock": "schema: '2.0'\nstages: {}\n"}
FAILED = {"params.yaml": "faces:\n  image_size: 07\n", "dvc.lock": "schema: '2.0'\nstages: {x: 1}\n"}


def git(repo, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60).stdout


def _stale_index(repo) -> None:
    """A repository whose files hold the failed experiment's bytes while the index says they are the committed
    ones (same size, stat recorded after the rewrite), as DVC leaves it."""
    git(repo, "init", "-q")
    for name, text in COMMITTED.items():
        (repo / name).write_text(text)
    git(repo, "add", *COMMITTED)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "baseline")
    index = Repo(str(repo)).open_index()
    for name, text in FAILED.items():
        (repo / name).write_text(text)
        entry = index[name.encode()]
        index[name.encode()] = index_entry_from_stat(os.stat(repo / name), entry.sha, mode=entry.mode)
    index.write()
    later = os.stat(repo / "params.yaml").st_mtime + 2  # the index written in a later second: not "racily clean"
    os.utime(repo / ".git" / "index", (later, later))


def documented_restore() -> str:
    """The first command of the recovery block in docs/your-data.md."""
    doc = (ROOT / "docs" / "your-data.md").read_text()
    section = doc.split("## Recovering after a failed experiment", 1)[1]
    return re.search(r"```bash\n(.*?)\n", section).group(1)


def test_git_checkout_leaves_the_experiment_value_in_a_stale_index(tmp_path):
    _stale_index(tmp_path)
    assert git(tmp_path, "status", "--porcelain") == ""  # git sees nothing to restore...
    subprocess.run(["git", "checkout", "params.yaml"], cwd=tmp_path, capture_output=True, timeout=60, check=True)
    assert (tmp_path / "params.yaml").read_text() == FAILED["params.yaml"]  # ...so the old advice did nothing


def test_the_documented_recovery_restores_the_committed_files(tmp_path):
    _stale_index(tmp_path)
    command = documented_restore()
    assert command.startswith("git show HEAD:params.yaml > params.yaml")
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, timeout=60)
    assert {name: (tmp_path / name).read_text() for name in COMMITTED} == COMMITTED
