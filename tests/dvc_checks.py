"""The project modules a stage script imports, transitively (Python's ast: every import, at any depth)."""

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


def closure(script: Path, src: Path) -> set[str]:
    """Repository-relative paths of the project modules `script` imports, transitively, __init__ included."""
    found, todo = set(), [script]
    while todo:
        for name in imported_modules(todo.pop()):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            parts = name.split(".")
            for candidate in (src.joinpath(*parts).with_suffix(".py"), src.joinpath(*parts, "__init__.py")):
                if candidate.is_file() and candidate not in found:
                    found.add(candidate)
                    todo.append(candidate)
            init = src / PACKAGE / "__init__.py"
            if init not in found:
                found.add(init)
                todo.append(init)
    return found


def script_of(stage: dict) -> str:
    """The stage script a dvc.yaml stage runs: `python stages/<name>.py ...`."""
    return stage["cmd"].split()[1]


def deps_mismatches(stages: dict, root: Path) -> list[str]:
    """One line per project module missing from, or superfluous in, a stage's deps (dvc.yaml as parsed YAML)."""
    problems = []
    for name, stage in stages.items():
        script = script_of(stage)
        wanted = {p.relative_to(root).as_posix() for p in closure(root / script, root / "src")}
        listed = {d for d in stage.get("deps", []) if d.startswith("src/")}
        if script not in stage.get("deps", []):
            problems.append(f"{name}: its script {script} is not in its deps")
        problems += [f"{name}: imports {m} but does not list it in deps" for m in sorted(wanted - listed)]
        problems += [f"{name}: lists {m} in deps but does not import it" for m in sorted(listed - wanted)]
    return problems


def _covers(key: str, other: str) -> bool:
    return key == other or other.startswith(key + ".")


def params_mismatches(read: dict[str, set], declared: dict[str, set]) -> list[str]:
    """One line per key a stage read but does not declare, or declares but never read (a section covers its keys)."""
    problems = []
    for name in sorted(declared):
        got, listed = read.get(name, set()), declared[name]
        problems += [f"{name}: reads '{k}' but does not declare it" for k in sorted(got)
                     if not any(_covers(d, k) for d in listed)]
        problems += [f"{name}: declares '{d}' but never reads it" for d in sorted(listed)
                     if not any(_covers(d, k) or _covers(k, d) for k in got)]
    return problems
