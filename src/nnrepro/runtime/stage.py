"""The start-up and finish every training stage shares: params, replicate seeds, threads and device in; metrics,
provenance, timings and DVCLive histories out, each in a file of its own (metrics compare byte for byte across
reruns)."""

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nnrepro import errors, io, params, replicates
from nnrepro.runtime import device

KINDS = ("mlp", "grad_probe", "probe", "cnn")  # the replicates.<kind> counts: which runs a stage repeats
UNSEEDED = 0  # the global generators' seed in a stage that trains nothing (it draws nothing either)


@dataclass
class Stage:
    params: params.Params
    seeds: list[int]  # replicate k's seed, replicates.first + k; empty in a stage that trains nothing
    device: torch.device
    began: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return time.perf_counter() - self.began


PATHS = {
    "metrics": "summary metrics JSON (a DVC metrics file)",
    "provenance": "first replicate seed, device and versions JSON",
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


def start(threads: int | None = None, kind: str | None = None) -> Stage:
    """params.yaml, the device and, for a stage training runs of `kind` (one of KINDS), their replicates' seeds
    replicates.first, first + 1, ... (replicates.<kind> of them); the global generators seeded from
    replicates.first, or from UNSEEDED in a stage that trains nothing (so it reads no seed: none of its results
    depends on one). Threads default to device.thread_count()."""
    config = params.load()
    seeds: list[int] = []
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        seeds = replicates.seeds_of(config.integer("replicates.first", 0), config.integer(f"replicates.{kind}"))
    first = seeds[0] if seeds else UNSEEDED
    return Stage(config, seeds, device.setup(first, config.choice("device", device.NAMES), threads))


def finish(stage: Stage, args: argparse.Namespace, metrics: dict | None, timings: dict | None = None) -> None:
    """Write the metrics, the provenance and the timings (the stage's wall time plus `timings`)."""
    if metrics is not None:
        io.write_json(args.metrics, metrics)
    io.write_json(args.provenance, io.provenance(stage.seeds[0] if stage.seeds else None, stage.device.type))
    io.write_json(
        args.timings,
        {"wall_seconds": round(stage.seconds(), 3), **{k: round(v, 4) for k, v in (timings or {}).items()}},
    )
