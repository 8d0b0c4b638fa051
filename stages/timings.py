"""Stage timings: every stage's wall-clock seconds on one page (reports/timings.md), kept apart from the report
so that the report and the metrics are byte-identical across reruns; and the one wall-clock claim of the course,
"the training speed was faster with higher batch sizes" (1.1.4), judged here over repeated timings."""

import argparse
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from nnrepro import io, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe.mlp import MLP
from nnrepro.report import interval, readback

logger = logging.getLogger(__name__)

SENTENCE = "the training speed was faster with higher batch sizes"
REPEATS = 5  # timings of every batch size, alternating; the verdict is the 95% t interval over them
STEPS = 30  # Adam steps timed per batch size and repeat (after WARMUP), scaled to one epoch's steps
WARMUP = 3
CLASSES = 33  # the embedded Europe data's countries; the output layer's size barely moves a step's cost


def step_seconds(model: MLP, optimiser: torch.optim.Optimizer, batch: int, steps: int) -> float:
    """Seconds per Adam step of `model` on random points in batches of `batch` (forward, loss, backward, step)."""
    x, y = torch.randn(batch, 2) * 20, torch.randint(0, CLASSES, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def one_step() -> None:
        optimiser.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimiser.step()

    for _ in range(WARMUP):
        one_step()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return (time.perf_counter() - start) / steps


def time_batches(batches: list, depth: int, width: int, n_train: int, repeats: int = REPEATS, steps: int = STEPS):
    """{batch size: [seconds per epoch, one per repeat]}: STEPS timed steps scaled to ceil(n_train / batch) steps,
    the batch sizes alternating within each repeat (their order reversed every other repeat), on one thread."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: no oversubscription on a shared machine, the same for every size
    seconds: dict[int, list[float]] = {b: [] for b in batches}
    try:
        for r in range(repeats):
            for b in batches if r % 2 == 0 else batches[::-1]:
                model = MLP(depth, width, CLASSES)
                per_step = step_seconds(model, torch.optim.Adam(model.parameters(), lr=1e-3), b, steps)
                seconds[b].append(per_step * math.ceil(n_train / b))
    finally:
        torch.set_num_threads(threads)
    return seconds


def speedups(seconds: dict) -> list:
    """Each repeat's effect: the smallest speed-up from one batch size to the next larger (seconds ratio minus 1)."""
    sizes = sorted(seconds)
    return [
        min(seconds[a][r] / seconds[b][r] - 1 for a, b in zip(sizes, sizes[1:])) for r in range(len(seconds[sizes[0]]))
    ]


def judge(effects: list) -> dict:
    """The rule of every claim (docs/claims.md, nnrepro.report.interval): the 95% Student-t interval of the mean
    effect wholly above 0 holds, wholly below does not hold, otherwise it cannot be judged (within noise)."""
    mean, noise = float(np.mean(effects)), interval.spread(effects)
    if noise.se == 0:
        return {"verdict": interval.CANNOT, "reason": "one run", "effect": mean, "interval": None}
    half = noise.half_width()
    verdict = interval.decide(mean - half, mean + half, 0.0)
    return {
        "verdict": verdict,
        "reason": "within noise" if verdict == interval.CANNOT else None,
        "effect": mean,
        "interval": [mean - half, mean + half],
    }


def claim_section(seconds: dict, result: dict) -> list:
    sizes = sorted(seconds)
    span = "" if result["interval"] is None else ", 95% interval [{:.3g}, {:.3g}]".format(*result["interval"])
    shown = result["verdict"] + (f" ({result['reason']})" if result["reason"] else "")
    return [
        f'## Claim (1.1.4): "{SENTENCE}"',
        "",
        f"**{shown}**: the smallest speed-up from one batch size to the next, {result['effect']:.3g} "
        f"(seconds per epoch of the smaller over the larger, minus 1){span}, over {len(seconds[sizes[0]])} "
        "repeats.",
        "",
        f"Measured here: {STEPS} Adam steps of the study's MLP (params mlp.depth, mlp.width) on random points, one "
        "CPU thread, per "
        "batch size of mlp_batch.pairs and repeat, the sizes alternating, scaled to one epoch of europe.n_train "
        "points. A step's cost, not a whole run's: the pipeline's own seconds per epoch are in the table below.",
        "",
        "| batch size | seconds per epoch (mean over repeats) |",
        "|---|---|",
        *(f"| {b} | {np.mean(seconds[b]):.4g} |" for b in sizes),
        "",
    ]


def page(folder: Path, claim: list | None = None) -> str:
    rows, per_epoch = [], []
    for path in sorted(folder.rglob("*.json")):
        record = readback.read_json(path)
        rows.append(f"| {path.relative_to(folder).with_suffix('').as_posix()} | {record.get('wall_seconds', 0):.1f} |")
        per_epoch += [
            f"| {k.removesuffix('_seconds_per_epoch')} | {v:.4g} |"
            for k, v in record.items()
            if k.endswith("_seconds_per_epoch")
        ]
    return (
        "\n".join(
            [
                "# Timings",
                "",
                f"Wall-clock seconds of the last run of each stage, on {io.cpu_model()}. These change "
                "from run to run and machine to machine; the report and the metrics do not.",
                "",
                *(claim or []),
                "| stage | seconds |",
                "|---|---|",
                *rows,
                "",
                "Seconds per epoch of each (batch size, epochs) pair in the pipeline's own runs:",
                "",
                "| pair | seconds per epoch |",
                "|---|---|",
                *per_epoch,
            ]
        )
        + "\n"
    )


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timings", type=Path, required=True, help="the timings folder")
    parser.add_argument("--out", type=Path, required=True, help="the Markdown page to write")
    args = parser.parse_args()
    config = params.load()
    batches = sorted({int(b) for b, _ in config.get("mlp_batch.pairs")})
    seconds = time_batches(batches, config.get("mlp.depth"), config.get("mlp.width"), config.get("europe.n_train"))
    result = judge(speedups(seconds))
    io.write_text(args.out, page(readback.require(args.timings), claim_section(seconds, result)))
    logger.info(f"timings: {args.out}; larger batches faster per epoch: {result['verdict']}")


if __name__ == "__main__":
    main()
