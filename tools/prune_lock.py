"""Drop from dvc.lock the stages that dvc.yaml no longer defines: DVC keeps their entries after a stage is renamed,
merged or removed, and every `dvc repro` then parses them. Edits the text in place, so the stages kept stay byte
for byte as DVC wrote them; tests/test_dvc_yaml.py fails until it has run.
Usage: python tools/prune_lock.py [project folder, default: this one]"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import dvc_checks  # noqa: E402  (found through the sys.path line above)

STAGE = re.compile(r"""^  (['"]?)(\S.*?)\1:\s*$""")  # a stage's key, two spaces in, under `stages:`


def prune(text: str, stale: set[str]) -> str:
    """The lock text without the blocks of the `stale` stages."""
    out, dropping = [], False
    for line in text.splitlines(keepends=True):
        key = STAGE.match(line)
        if key:
            dropping = key.group(2) in stale
        elif line.strip() and not line.startswith("  "):
            dropping = False
        if not dropping:
            out.append(line)
    return "".join(out)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    stale = dvc_checks.stale_lock_entries(root)
    lock = root / "dvc.lock"
    lock.write_text(prune(lock.read_text(), set(stale)))
    print(f"{lock}: dropped {len(stale)} stale stage(s){': ' + ', '.join(stale) if stale else ''}")


if __name__ == "__main__":
    main()
