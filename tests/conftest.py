import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)  # tiny models: extra threads only add contention


def run_stage(script: str, args: list, cwd: Path, params: dict | None, env: dict | None = None
              ) -> subprocess.CompletedProcess:
    """Run stages/<script> from `cwd`, which holds the given params.yaml (None: as it is), as DVC would."""
    if params is not None:
        (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "NNREPRO_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / script), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, env=env,
    )


@pytest.fixture
def stage():
    return run_stage


@pytest.fixture
def repo_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())
