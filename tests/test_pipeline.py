"""What the DVC pipeline promises, end to end in a throw-away clone with tiny params.

One baseline `dvc repro` is shared by every test here (each test that changes the workspace puts the baseline
back); a second from-scratch run in another copy with its own cache runs beside it for the determinism check.
"""

import json
import re
import shlex
import subprocess
import threading
from pathlib import Path

import pipeline_helpers as h
import psutil
import pytest
import yaml
from conftest import ROOT, kill_session
from dvc_checks import closure, params_mismatches

pytestmark = pytest.mark.slow
OUTPUT_FOLDERS = sorted(h.output_roots())


def snapshot(repo: Path) -> dict[str, str]:
    """Digests of every output file and of dvc.lock."""
    found = {"dvc.lock": h.digests(repo, ".")["dvc.lock"]} if (repo / "dvc.lock").exists() else {}
    for folder in OUTPUT_FOLDERS:
        if (repo / folder).exists():
            found.update(h.digests(repo, folder))
    return found


def restore(repo: Path) -> None:
    """Back to the committed baseline: git for params, lock and uncached outputs, the DVC cache for the rest."""
    h.sh(repo, "git", "reset", "-q", "--hard", "HEAD")
    h.sh(repo, "git", "clean", "-q", "-fd", "--", *OUTPUT_FOLDERS)
    h.dvc(repo, "checkout", "--force")
    assert "up to date" in h.dvc(repo, "status").stdout


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The baseline run, committed: (repo, its first `dvc repro` result, output digests, the twin's process)."""
    params = h.tiny_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    repo = h.make_repo(tmp_path_factory.mktemp("pipeline"), params)
    twin = h.make_repo(tmp_path_factory.mktemp("twin"), params)  # fresh cache, same inputs
    log = (twin / ".." / "twin-repro.log").resolve().open("w")
    twin_run = subprocess.Popen(
        [str(h.BIN / "dvc"), "repro"],
        cwd=twin,
        env=h.env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    params_log = tmp_path_factory.mktemp("params_log")  # each stage process writes the params keys it read here
    try:
        first = h.dvc(repo, "repro", env={**h.env(), "NNREPRO_PARAMS_LOG": str(params_log)}, timeout=h.REPRO_TIMEOUT)
        h.commit(repo, "baseline results")
        yield {
            "repo": repo,
            "first": first,
            "baseline": snapshot(repo),
            "twin": twin,
            "twin_run": twin_run,
            "params_log": params_log,
        }
    finally:
        kill_session(twin_run.pid)  # the twin's dvc and any stage it runs, if the determinism test did not wait
        twin_run.wait()
        log.close()


def test_repro_runs_every_stage_and_writes_every_declared_output(pipeline):
    repo, graph = pipeline["repo"], h.stages(pipeline["repo"])
    assert h.ran(pipeline["first"]) == set(graph)
    declared = {out for _, _, outs in graph.values() for out in outs}
    assert {"metrics/evaluate.json", "metrics/claims.json", "data/europe"} <= declared
    missing = sorted(out for out in declared if not (repo / out).exists())
    assert not missing, f"declared outputs not written: {missing}"
    assert all(any((repo / out).iterdir()) for out in declared if (repo / out).is_dir())


def params_read(log: Path, commands: dict) -> dict[str, set]:
    """stage -> params keys its process read, matched by command line (the accessor's log, one file a process)."""
    by_argv = {tuple(shlex.split(cmd)[1:]): name for name, cmd in commands.items()}
    read = {}
    for file in log.glob("*.json"):
        record = json.loads(file.read_text())
        read.setdefault(by_argv[tuple(record["argv"])], set()).update(record["keys"])
    return read


def test_every_stage_declares_exactly_the_params_it_reads(pipeline):
    from dvc.repo import Repo

    repo = pipeline["repo"]
    with Repo(str(repo)) as dvc_repo:
        commands = {stage.name: stage.cmd for stage in dvc_repo.index.stages}
    declared = {name: keys for name, (keys, _, _) in h.stages(repo).items()}
    read = params_read(pipeline["params_log"], commands)
    assert {"prepare_europe", "mlp_long", "report", "cnn_probe"} <= set(read)
    assert params_mismatches(read, declared) == []


def test_editing_a_module_reruns_exactly_the_stages_importing_it(pipeline):
    repo = pipeline["repo"]
    commands = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    try:
        for module in ("europe/points.py", "report/render.py"):
            assert (repo / "src" / "nnrepro" / module).is_file(), module  # appending would make a new module
            with (repo / "src" / "nnrepro" / module).open("a") as handle:
                handle.write("\n# an edit\n")
            changed = set(json.loads(h.dvc(repo, "status", "--json").stdout))
            path = f"src/nnrepro/{module}"
            importers = {
                name
                for name, stage in commands.items()
                if repo / path in closure(repo / stage["cmd"].split()[1], repo / "src")
            }
            listing = {
                name
                for name, stage in commands.items()  # a file dep, or a folder dep holding it
                if any(path == d or path.startswith(d.rstrip("/") + "/") for d in stage.get("deps", []))
            }
            assert importers <= listing and {c.split("@")[0] for c in changed} == listing, module
            h.sh(repo, "git", "checkout", "--", "src")
        assert listing == {"claims", "figures", "report", "timings"}  # the report's Markdown retrains nothing
    finally:
        restore(repo)


def test_second_repro_runs_nothing_and_status_is_clean(pipeline):
    repo = pipeline["repo"]
    again = h.dvc(repo, "repro")
    assert h.ran(again) == set() and "Data and pipelines are up to date" in again.stdout
    assert "Data and pipelines are up to date" in h.dvc(repo, "status").stdout
    assert snapshot(repo) == pipeline["baseline"]


def test_push_then_fresh_clone_pull_gets_every_output_and_needs_no_rerun(pipeline, tmp_path):
    repo = pipeline["repo"]
    h.dvc(repo, "remote", "add", "-d", "storage", str(tmp_path / "remote"))  # s3://..., ssh://... in real use
    h.commit(repo, "DVC remote")
    h.dvc(repo, "push")
    clone = tmp_path / "clone"
    h.sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    assert not (clone / "data" / "europe").exists()  # cached outputs are not in git
    h.dvc(clone, "pull")
    assert snapshot(clone) == pipeline["baseline"]
    assert "Data and pipelines are up to date" in h.dvc(clone, "status").stdout
    assert h.ran(h.dvc(clone, "repro")) == set()


def test_exp_run_lr_reruns_exactly_the_stages_reading_lr(pipeline):
    repo = pipeline["repo"]
    graph = h.stages(repo)
    expected = h.downstream(graph, {name for name, (keys, _, _) in graph.items() if h.reads(keys, "lr")})
    assert {"mlp_long", "mlp_grid", "evaluate"} <= expected and not {n for n in expected if n.startswith("mlp_lr")}
    try:
        result = h.dvc(repo, "exp", "run", "-n", "lr-0.02", "-S", "lr=0.02")
        assert h.ran(result) == expected
        shown = json.loads(h.dvc(repo, "exp", "show", "--json").stdout)
        baseline = next(row for row in shown if row["rev"] != "workspace")
        exp = next(rev for e in baseline["experiments"] for rev in e["revs"] if rev["name"] == "lr-0.02")

        def metrics(row: dict, name: str) -> dict:
            return row["data"]["metrics"][name]["data"]

        assert exp["data"]["params"]["params.yaml"]["data"]["lr"] == 0.02
        assert baseline["data"]["params"]["params.yaml"]["data"]["lr"] == 0.01
        assert metrics(exp, "metrics/mlp_long.json") != metrics(baseline, "metrics/mlp_long.json")
        untouched = "metrics/mlp_lr/lr0.01-bnfalse.json"  # mlp_lr reads its own lrs, not `lr`
        assert metrics(exp, untouched) == metrics(baseline, untouched)
        assert set(metrics(exp, "metrics/claims.json")) == set(metrics(baseline, "metrics/claims.json"))
        check_readme_table(repo)
    finally:
        restore(repo)


def readme_exp_show() -> list[str]:
    """The `dvc exp show` command the README gives under its <!-- exp-show --> marker."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("<!-- exp-show -->") :].split("```")[1]
    return shlex.split(block.removeprefix("bash").strip())


def check_readme_table(repo: Path) -> None:
    """The README's table fits 200 columns, shows the changed param and the headline numbers, no other metric."""
    command = readme_exp_show()
    assert command[:3] == ["dvc", "exp", "show"]
    table = h.dvc(repo, *command[1:], "--no-pager", env={**h.env(), "COLUMNS": "400"}).stdout
    header = " ".join(table.splitlines()[:4])
    assert max(len(line) for line in table.splitlines()) <= 200, table
    columns = header.split()
    assert {"lr", "params.yaml:lr"} & set(columns) and {"claims_hold", "grid_best"} <= set(columns), table
    assert "mlp.depth" not in header and "final_test_acc" not in header, table  # unchanged params, other metrics


def test_adding_a_grid_width_reruns_the_grid_and_downstream_and_keeps_the_old_cells(pipeline):
    repo = pipeline["repo"]

    def cell(name: str) -> dict:
        return json.loads((repo / "metrics" / "mlp_grid" / f"{name}.json").read_text())

    old = {name: cell(name) for name in ("d1-w4", "d1-w8")}
    try:
        h.set_params(repo, lambda p: p["mlp_grid"]["widths"].append(16))
        after = h.stages(repo)
        readers = {name for name, (keys, _, _) in after.items() if h.reads(keys, "mlp_grid.widths")}
        expected = h.downstream(after, readers)
        assert {"mlp_grid", "evaluate"} <= expected and "mlp_long" not in expected
        assert h.ran(h.dvc(repo, "repro")) == expected
        assert cell("d1-w16")["width"] == 16
        assert {name: cell(name) for name in old} == old  # every cell seeds itself: a new width changes no other
    finally:
        restore(repo)
    assert snapshot(repo) == pipeline["baseline"]


KILLED_EPOCHS = 300  # several seconds of training at tiny params; the rerun trains them all
MLP_LONG_PROGRESS = re.compile(r"^mlp_long [^:]*: epoch ", re.M)


def test_stage_killed_midway_loses_nothing_and_a_rerun_completes(pipeline):
    repo = pipeline["repo"]
    killed_outs = h.stages(repo)["mlp_long"][2]
    try:
        h.set_params(repo, lambda p: p["mlp_long"].update(epochs=KILLED_EPOCHS))  # long enough to be caught running
        # the stage reports its progress every tenth of its epochs: SIGTERM at the first report, mid-training
        result = h.kill_stage_midway(repo, "mlp_long.py", lambda out: MLP_LONG_PROGRESS.search(out))
        assert result.returncode != 0 and "failed to reproduce 'mlp_long'" in result.stdout
        others = {
            k: v
            for k, v in pipeline["baseline"].items()
            if not any(k == o or k.startswith(o + "/") for o in killed_outs)
        }
        now = snapshot(repo)
        assert {k: now.get(k) for k in others} == others  # dvc.lock and every other stage's outputs
        assert not [p for p in repo.rglob("*.tmp") if ".dvc" not in p.parts]  # no half-written file
        rerun = h.dvc(repo, "repro")
        graph = h.stages(repo)
        readers = {name for name, (keys, _, _) in graph.items() if h.reads(keys, "mlp_long.epochs")}
        assert h.ran(rerun) == h.downstream(graph, readers) and "mlp_long" in readers
        assert json.loads((repo / "metrics" / "mlp_long.json").read_text())["plain"]["epochs_run"] == KILLED_EPOCHS
        assert "up to date" in h.dvc(repo, "status").stdout
    finally:
        restore(repo)
    assert snapshot(repo) == pipeline["baseline"]  # the killed stage's old outputs come back from cache and git


def test_two_queued_experiments_run_in_parallel_with_their_share_of_threads(pipeline, tmp_path):
    repo = pipeline["repo"]
    for name, lr in (("q-0.02", "0.02"), ("q-0.005", "0.005")):  # mlp_long only: the queue, not the pipeline
        h.dvc(repo, "exp", "run", "--queue", "-n", name, "-S", f"lr={lr}", "mlp_long")
    seen, stop = {}, threading.Event()
    watcher = threading.Thread(target=_watch_stage_envs, args=(repo / ".dvc" / "tmp" / "exps", seen, stop))
    watcher.start()
    log = tmp_path / "queue.log"
    try:  # the workers write to `log`, every wait is bounded, and they are stopped and killed however this ends
        with h.queue_started(repo, 2, log, h.env(threads=1)):
            status = h.wait_for_queue(repo, log)
    finally:
        stop.set()
        watcher.join()
    assert status.count("Success") == 2, f"{status}\n{h.queue_logs(repo, log)}"
    shown = json.loads(h.dvc(repo, "exp", "show", "--json").stdout)
    runs = {rev["name"]: rev["data"] for row in shown for e in row.get("experiments") or [] for rev in e["revs"]}
    for name, lr in (("q-0.02", 0.02), ("q-0.005", 0.005)):
        assert runs[name]["params"]["params.yaml"]["data"]["lr"] == lr
        assert runs[name]["metrics"]["metrics/mlp_long.json"]["data"]["plain"]["epochs_run"] == 2.0
    assert runs["q-0.02"]["metrics"]["metrics/mlp_long.json"] != runs["q-0.005"]["metrics"]["metrics/mlp_long.json"]
    assert seen, "no stage process of the queued experiments was seen running"
    assert set(seen.values()) == {"1"}, f"NNREPRO_THREADS in the queued stages: {seen}"
    assert snapshot(repo) == pipeline["baseline"]  # queued runs leave the workspace alone


def _watch_stage_envs(exps: Path, seen: dict, stop: threading.Event) -> None:
    """Record NNREPRO_THREADS of every stage process running in DVC's queue workspaces (under `exps`)."""
    while not stop.wait(0.1):
        for proc in psutil.process_iter(["cmdline", "cwd"]):  # a process gone or not ours to read: None
            cwd, cmdline = proc.info["cwd"], proc.info["cmdline"] or []
            if not cwd or exps.resolve() not in Path(cwd).parents:
                continue
            if not any(part.startswith("stages/") for part in cmdline):
                continue
            try:
                environ = proc.environ()
            except psutil.Error:
                continue
            seen[proc.pid] = environ.get("NNREPRO_THREADS", "<unset>")


def test_from_scratch_rerun_with_fresh_cache_gives_identical_metrics(pipeline):
    twin, twin_run = pipeline["twin"], pipeline["twin_run"]
    assert twin_run.wait(timeout=h.REPRO_TIMEOUT) == 0, (twin / ".." / "twin-repro.log").resolve().read_text()[-4000:]
    assert not (twin / ".dvc" / "cache").samefile(pipeline["repo"] / ".dvc" / "cache")
    ours = {k: v for k, v in pipeline["baseline"].items() if k.startswith("metrics/")}
    theirs = h.digests(twin, "metrics")
    assert len(ours) >= 10 and theirs == ours
