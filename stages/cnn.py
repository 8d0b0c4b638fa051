"""Stage cnn (cnn_scratch, cnn_probe or cnn_finetune): train one baseline at every learning rate of cnn.lrs, each
cell over its replicates (one per seed), and score each cell on validation and test; each cell keeps its own
metrics, predictions, DVCLive history and model file, named after the cell (e.g. metrics/cnn/probe/probe-0.01.json).

On the CPU in one process group, every (lr, replicate) is a job of its own, and the jobs run side by side, one
worker process per core with one thread each (runtime/parallel.py: on a 2-core AMD EPYC two 1-thread workers train
MobileNetV2 1.4x faster than one 2-thread process); each worker loads the data once. The stage then writes every
cell, files and layout as when its replicates train one after another, as they do on a GPU or under torchrun:
with cnn.nproc_per_node > 1 the stage restarts itself under torchrun, and started by torchrun (several GPUs or
machines) every rank trains on its share of each batch and rank 0 scores and writes."""

import dataclasses
import logging
import time
from io import BytesIO
from pathlib import Path

import torch

from nnrepro import io, params, replicates
from nnrepro.cells import CNN_BASELINES, cnn_cell
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import cnn, images, predictions
from nnrepro.runtime import distributed, parallel, stage
from nnrepro.runtime.device import thread_count

logger = logging.getLogger(__name__)

KEYS = {
    "scratch": ("arch", "epochs", "batch_size", "image_size", "memory_mb", "nproc_per_node"),
    "probe": ("epochs", "batch_size", "nproc_per_node"),
    "finetune": ("arch", "epochs", "batch_size", "image_size", "weights_path", "memory_mb", "nproc_per_node"),
}

CNN_KEYS = ("train_loss", "train_acc")  # what a CNN cell's history logs (evaluated once, after training)

LOADED: dict[tuple[bool, str], dict] = {}  # (probe?, --data) -> the data: loaded once per worker process


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models", metrics=False)
    parser.add_argument("--baseline", choices=CNN_BASELINES, required=True)
    parser.add_argument("--metrics", type=Path, required=True, help="folder of per-cell metrics JSON files")
    parser.add_argument("--predictions", type=Path, required=True, help="folder of per-cell predictions CSVs")
    args = parser.parse_args()
    world = distributed.from_launcher()
    ctx = stage.start(max(1, thread_count() // world.local_size), cnn.replicate_kind(args.baseline))
    settings = cnn.settings(ctx.params, *KEYS[args.baseline])
    lrs = ctx.params.items("cnn.lrs", params.positive)
    if distributed.relaunch(settings.nproc_per_node, f"cnn_{args.baseline}"):
        return  # rank 0 of the relaunched processes wrote everything
    if world.size > 1:
        ctx.device = distributed.join(world, ctx.device)
    try:
        data = loaded(args.baseline, args.data)  # a missing or corrupt input stops the stage here, with one line
        if ctx.device.type == "cpu" and world.size == 1:
            timings = train_side_by_side(args, ctx, settings, lrs)
        else:
            timings = {}
            for lr in lrs:
                began = time.perf_counter()
                train_and_write(args, ctx, data, settings, lr, world)
                timings[f"{cnn_cell(args.baseline, lr)}_seconds"] = time.perf_counter() - began
        if world.writes:
            stage.finish(ctx, args, None, timings)
    finally:
        distributed.leave(world)


def loaded(baseline: str, path: Path) -> dict:
    """The stage's data (the probe features, else the memory-mapped image cache), loaded once per process."""
    key = (baseline == "probe", str(path))
    if key not in LOADED:
        LOADED[key] = cnn.load_features(path) if baseline == "probe" else images.load_cache(path)
    return LOADED[key]


def replicate_tag(name: str, k: int, count: int) -> str:
    return f"cnn {name} {replicates.REPLICATE.format(k)}" if count > 1 else f"cnn {name}"


def train_side_by_side(args, ctx: stage.Stage, settings: cnn.CnnSettings, lrs: list[float]) -> dict:
    """Every (lr, replicate) trained and scored by parallel.run_all (train_replicate), then each cell's mean history
    logged and the cell written, as train_and_write does; returns the cells' timings."""
    seeds, names = ctx.seeds, [cnn_cell(args.baseline, lr) for lr in lrs]
    settings = picklable(args.baseline, settings)
    jobs = [
        (args.baseline, args.data, settings, lr, seed, ctx.device, replicate_tag(name, k, len(seeds)))
        for name, lr in zip(names, lrs)
        for k, seed in enumerate(seeds)
    ]
    results, seconds = parallel.run_all(train_replicate, jobs, ctx.device)  # the cells' jobs cost alike: any order
    timings = {}
    for i, (name, lr) in enumerate(zip(names, lrs)):
        cell = slice(i * len(seeds), (i + 1) * len(seeds))
        fitted = [(weights_of(weights), history, frame) for weights, history, frame in results[cell]]
        log_live_means(args.live / name, [history for _, history, _ in fitted])
        write_and_report(args, name, lr, seeds, fitted)
        # Its replicates ran side by side with other cells' jobs: a cell's seconds are the sum of its jobs' seconds.
        timings[f"{name}_seconds"] = sum(seconds[cell])
    return timings


def picklable(baseline: str, settings: cnn.CnnSettings) -> cnn.CnnSettings:
    """The settings the workers get: for finetune, the ImageNet weights file found here, once (a missing one stops
    the stage with one line before any worker starts), and no closure over params (allow_download cannot be
    pickled)."""
    if baseline != "finetune":
        return settings
    return dataclasses.replace(settings, weights_path=str(cnn.weights_file(settings)), allow_download=cnn.no_download)


def train_replicate(baseline: str, data_path: Path, settings: cnn.CnnSettings, lr: float, seed: int, device, tag: str):
    """One replicate, built and trained from `seed` (fit_cell seeds it) and scored: (its weights, its history, its
    predictions frame). A job of parallel.run_all, in a worker process or in the stage itself."""
    data = loaded(baseline, data_path)

    def report(row: dict) -> None:
        logger.info(f"{tag}: epoch {row['epoch']}/{settings.epochs} train loss {row['train_loss']:.4f}")

    began = time.perf_counter()
    net, history = cnn.fit_cell(baseline, data, settings, lr, seed, device, report)
    frame = predictions.frame(data, cnn.evaluate_cell(net, baseline, data, settings, device))
    logger.info(f"{tag}: trained and scored in {time.perf_counter() - began:.1f} s")
    return saved(net.state_dict()), history, frame


def saved(weights: dict) -> bytes:
    """A state_dict as torch.save's bytes, the way a job returns it. Returned as tensors, each would come back
    through a file descriptor that the stage holds open while the tensor lives (torch's file_descriptor sharing):
    MobileNetV2 has 314 tensors, so 8 replicates x 5 lrs would hold 12,560, over many systems' open-file limit."""
    buffer = BytesIO()
    torch.save(weights, buffer)
    return buffer.getvalue()


def weights_of(job_bytes: bytes) -> dict:
    """A job's state_dict back from saved(): the same object, whichever process trained it, so its cell's model
    file has the same bytes whether the jobs ran in workers or in the stage."""
    return torch.load(BytesIO(job_bytes), weights_only=True)


def log_live_means(folder: Path, histories: list[list[dict]]) -> None:
    """A cell's mean history in its DVCLive folder, fed replicate by replicate as train_and_write feeds it."""
    live = io.LiveHistory(folder, CNN_KEYS)
    log_mean = replicates.live_means([live], len(histories))
    for k, history in enumerate(histories):
        for row in history:
            log_mean(k, row)
    live.close()


def train_and_write(args, ctx: stage.Stage, data: dict, settings: cnn.CnnSettings, lr: float, world) -> None:
    """One cell's replicates (one per seed), each trained and scored in this process, one after another; written as
    one cell (write_cell)."""
    name = cnn_cell(args.baseline, lr)
    seeds = ctx.seeds
    fitted = []
    live = io.LiveHistory(args.live / name, CNN_KEYS) if world.writes else None  # rank 0 writes
    log_mean = replicates.live_means([live], len(seeds))
    for k, seed in enumerate(seeds):
        tag = replicate_tag(name, k, len(seeds))

        def report(row: dict, tag=tag, k=k) -> None:
            logger.info(f"{tag}: epoch {row['epoch']}/{settings.epochs} train loss {row['train_loss']:.4f}")
            log_mean(k, row)  # the mean over replicates, epoch by epoch (during the last one's training)

        net, history = cnn.fit_cell(args.baseline, data, settings, lr, seed, ctx.device, report, world)
        if world.writes:
            scores = cnn.evaluate_cell(net, args.baseline, data, settings, ctx.device)
            fitted.append((net.state_dict(), history, predictions.frame(data, scores)))
    if world.writes:
        live.close()
        write_and_report(args, name, lr, seeds, fitted)


def write_and_report(args, name: str, lr: float, seeds: list[int], fitted: list) -> None:
    metrics = write_cell(args, name, lr, seeds, fitted)
    logger.info(
        f"cnn {name}: validation acc {metrics['validation_acc']}, test acc {metrics['test_acc']}"
        + (f" (mean of {len(seeds)} replicates)" if len(seeds) > 1 else "")
    )


def write_cell(args, name: str, lr: float, seeds: list[int], fitted: list) -> dict:
    """A cell from its replicates' (state_dict, history, predictions frame), its mean history already logged live.
    One replicate: its predictions, weights and metrics. Several: the mean metrics beside each replicate's
    (<live>/<name>/replicates.tsv, metrics "replicates"), the first replicate's predictions, and every replicate's
    weights in the model file as {"rep<k>": state_dict}."""
    per_seed = [predictions.cell_metrics(frame, history) for _, history, frame in fitted]
    metrics = {"baseline": args.baseline, "lr": float(lr), **replicates.mean_summary(per_seed)}
    histories = [history for _, history, _ in fitted]
    live, model = args.live / name, args.models / f"{name}.pt"
    if len(seeds) > 1:
        names = [replicates.REPLICATE.format(k) for k in range(len(seeds))]
        io.log_replicates(histories, live, CNN_KEYS)
        metrics.update(seeds=seeds, replicates=dict(zip(names, per_seed)))
        io.save_torch({rep: weights for rep, (weights, _, _) in zip(names, fitted)}, model)
    else:
        io.save_torch(fitted[0][0], model)
    io.write_csv(args.predictions / f"{name}.csv", fitted[0][2])
    io.write_json(args.metrics / f"{name}.json", metrics)
    return metrics


if __name__ == "__main__":
    main()
