"""The start-up and finish every training stage shares: params, seed, threads and device in; metrics, provenance,
timings and DVCLive histories out, each in a file of its own (metrics compare byte for byte across reruns)."""

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nnrepro import errors, io, params
from nnrepro.runtime import device


@dataclass
class Stage:
    params: params.Params
    seed: int
    device: torch.device
    began: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return time.perf_counter() - self.began


PATHS = {
    "metrics": "summary metrics JSON (a DVC metrics file)",
    "provenance": "seed, device and versions JSON",
    "timings": "wall-clock seconds JSON",
    "data": "input data (folder or file)",
    "live": "DVCLive folder",
    "model": "the trained model",
    "models": "folder for the trained models",
}


OUTPUTS = ("metrics", "provenance", "timings", "live", "model", "models")  # the PATHS a stage writes


class _Parser(argparse.ArgumentParser):
    def parse_args(self, *args, **kwargs):
        """The arguments; the outputs among PATHS checked writable, and removed again if this run fails or is
        stopped while they did not exist before it (DVC deletes them before it runs a stage)."""
        parsed = super().parse_args(*args, **kwargs)
        outputs = [getattr(parsed, name) for name in OUTPUTS if getattr(parsed, name, None) is not None]
        io.check_writable(outputs)
        existed = {path for path in outputs if path.exists()}
        errors.on_failure(lambda: io.remove_new(outputs, existed))
        return parsed


def parser(description: str, *paths: str, metrics: bool = True) -> argparse.ArgumentParser:
    """A stage's command line: the records every training stage writes, plus `paths` (names of PATHS)."""
    result = _Parser(description=description)
    for name in ("metrics",) * metrics + ("provenance", "timings", *paths):
        result.add_argument(f"--{name}", type=Path, required=True, help=PATHS[name])
    return result


def start(threads: int | None = None) -> Stage:
    """params.yaml, its seed and the device, every generator seeded; threads default to device.thread_count()."""
    config = params.load()
    seed = config.integer("seed", 0)
    return Stage(config, seed, device.setup(seed, config.choice("device", device.NAMES), threads))


def finish(stage: Stage, args: argparse.Namespace, metrics: dict | None, timings: dict | None = None) -> None:
    """Write the metrics, the provenance and the timings (the stage's wall time plus `timings`)."""
    if metrics is not None:
        io.write_json(args.metrics, metrics)
    io.write_json(args.provenance, io.provenance(stage.seed, stage.device.type))
    io.write_json(
        args.timings,
        {"wall_seconds": round(stage.seconds(), 3), **{k: round(v, 4) for k, v in (timings or {}).items()}},
    )
