"""Rewrite each dvc.yaml stage's src/ deps as the import closure of its script (tests/dvc_checks.closure), in
place, keeping every other line: one entry per module, except that a stage importing from a FOLDERS package lists
that folder once (the reporting stages: any edit of the report package reruns them, and dvc.lock stays short).
Run it after changing what a stage imports; tests/test_dvc_yaml.py fails until dvc.yaml agrees.
Usage: python tools/sync_deps.py [dvc.yaml]"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import dvc_checks  # noqa: E402  (found through the sys.path line above)

FOLDERS = ("src/nnrepro/report",)
STAGE = re.compile(r"^  (\w+):$")
SCRIPT = re.compile(r"python (stages/\w+\.py)")
SRC_DEP = re.compile(r"^      - src/")


def wanted(script: str) -> list[str]:
    modules = sorted(p.relative_to(ROOT).as_posix() for p in dvc_checks.closure(ROOT / script, ROOT / "src"))
    folders = [f for f in FOLDERS if any(m.startswith(f + "/") for m in modules)]
    return [m for m in modules if not any(m.startswith(f + "/") for f in folders)] + folders


def rewrite(text: str) -> str:
    out, script, placed = [], None, False
    for line in text.splitlines():
        if STAGE.match(line):
            script, placed = None, False
        found = SCRIPT.search(line)
        script = script or (found and found.group(1))
        if SRC_DEP.match(line):
            if not placed:
                out += [f"      - {dep}" for dep in wanted(script)]
                placed = True
            continue
        out.append(line)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dvc.yaml"
    path.write_text(rewrite(path.read_text()))
