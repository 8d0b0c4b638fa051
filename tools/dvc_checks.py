"""The dvc.yaml checks that tools/sync_deps.py and tools/prune_lock.py fix, and tests/test_dvc_yaml.py runs: the project
modules a stage script imports, transitively (Python's ast: every import, at any depth), and what dvc.yaml and dvc.lock
must agree with."""

import ast
from pathlib import Path

PACKAGE = "nnrepro"


def imported_modules(path: Path) -> set[str]:
    """Dotted names of every module `path` imports (`from nnrepro import x` counts nnrepro.x when it is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_files(name: str, src: Path) -> list[Path]:
    """The files Python runs to import dotted `name` from `src`: every enclosing package's __init__, then the module."""
    parts, files = name.split("."), []
    for end in range(1, len(parts) + 1):
        for candidate in (src.joinpath(*parts[:end], "__init__.py"), src.joinpath(*parts[:end]).with_suffix(".py")):
            if candidate.is_file():
                files.append(candidate)
    return files


def closure(script: Path, src: Path) -> set[str]:
    """Paths of the project modules `script` imports, transitively, every package __init__ on the way included."""
    found, todo = set(), [script]
    while todo:
        for name in imported_modules(todo.pop()):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            for path in module_files(name, src):
                if path not in found:
                    found.add(path)
                    todo.append(path)
    return found


def boundary_violations(src: Path, side: str, forbidden: tuple[str, ...]) -> list[str]:
    """One line per module of package `side` whose import closure reaches one of the `forbidden` packages."""
    problems = []
    for module in sorted((src / PACKAGE / side).rglob("*.py")):
        reached = {p.relative_to(src / PACKAGE).parts[0] for p in closure(module, src)}
        problems += [
            f"{module.relative_to(src).as_posix()} imports {PACKAGE}.{name}" for name in forbidden if name in reached
        ]
    return problems


def script_of(stage: dict) -> str:
    """The stage script a dvc.yaml stage runs: `python stages/<name>.py ...`."""
    return stage["cmd"].split()[1]


def deps_mismatches(stages: dict, root: Path) -> list[str]:
    """One line per project module missing from, or superfluous in, a stage's deps (dvc.yaml as parsed YAML). A
    directory dep under src/ covers every module in it, and is superfluous when the stage imports none of them."""
    problems = []
    for name, stage in stages.items():
        script = script_of(stage)
        wanted = {p.relative_to(root).as_posix() for p in closure(root / script, root / "src")}
        listed = [d for d in stage.get("deps", []) if d.startswith("src/")]
        folders = [d.rstrip("/") + "/" for d in listed if (root / d).is_dir()]
        covered = {m for m in wanted if m in listed or any(m.startswith(f) for f in folders)}
        if script not in stage.get("deps", []):
            problems.append(f"{name}: its script {script} is not in its deps")
        problems += [f"{name}: imports {m} but does not list it in deps" for m in sorted(wanted - covered)]
        problems += [
            f"{name}: lists {m} in deps but does not import it"
            for m in sorted(listed)
            if m not in wanted and not any(w.startswith(m.rstrip("/") + "/") for w in wanted)
        ]
    return problems


def _covers(key: str, other: str) -> bool:
    return key == other or other.startswith(key + ".")


def params_mismatches(read: dict[str, set], declared: dict[str, set]) -> list[str]:
    """One line per key a stage read but does not declare, or declares but never read (a section covers its keys)."""
    problems = []
    for name in sorted(declared):
        got, listed = read.get(name, set()), declared[name]
        problems += [
            f"{name}: reads '{k}' but does not declare it"
            for k in sorted(got)
            if not any(_covers(d, k) for d in listed)
        ]
        problems += [
            f"{name}: declares '{d}' but never reads it"
            for d in sorted(listed)
            if not any(_covers(d, k) or _covers(k, d) for k in got)
        ]
    return problems


def stale_lock_entries(root: Path) -> list[str]:
    """Stages dvc.lock still records that dvc.yaml no longer defines (DVC keeps them after a rename or merge)."""
    import yaml
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        defined = {stage.name for stage in repo.index.stages}
    return sorted(set(yaml.safe_load((Path(root) / "dvc.lock").read_text())["stages"]) - defined)
