"""Stage cnn (cnn_scratch, cnn_probe or cnn_finetune): train one baseline at every learning rate of cnn.lrs, in one
process (the data loaded once), and score each cell on validation and test; each cell keeps its own metrics,
predictions, DVCLive history and model file, named after the cell (e.g. metrics/cnn/probe/probe-0.01.json). With
cnn.nproc_per_node > 1 it restarts itself under torchrun; started by torchrun (several GPUs or machines), every rank
trains on its share of each batch and rank 0 scores and writes."""

import logging
import time
from pathlib import Path

from nnrepro import io, params, replicates
from nnrepro.cells import CNN_BASELINES, cnn_cell
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import cnn, images, predictions
from nnrepro.runtime import distributed, stage
from nnrepro.runtime.device import thread_count

logger = logging.getLogger(__name__)

KEYS = {
    "scratch": ("arch", "epochs", "batch_size", "image_size", "memory_mb", "nproc_per_node"),
    "probe": ("epochs", "batch_size", "nproc_per_node"),
    "finetune": ("arch", "epochs", "batch_size", "image_size", "weights_path", "memory_mb", "nproc_per_node"),
}

CNN_KEYS = ("train_loss", "train_acc")  # what a CNN cell's history logs (evaluated once, after training)


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
        data = cnn.load_features(args.data) if args.baseline == "probe" else images.load_cache(args.data)
        timings = {}
        for lr in lrs:
            began = time.perf_counter()
            train_and_write(args, ctx, data, settings, lr, world)
            timings[f"{cnn_cell(args.baseline, lr)}_seconds"] = time.perf_counter() - began
        if world.writes:
            stage.finish(ctx, args, None, timings)
    finally:
        distributed.leave(world)


def train_and_write(args, ctx: stage.Stage, data: dict, settings: cnn.CnnSettings, lr: float, world) -> None:
    """One cell's replicates (one per seed), each trained and scored; written as one cell (write_cell)."""
    name = cnn_cell(args.baseline, lr)
    seeds = ctx.seeds
    fitted = []
    live = io.LiveHistory(args.live / name, CNN_KEYS) if world.writes else None  # rank 0 writes
    log_mean = replicates.live_means([live], len(seeds))
    for k, seed in enumerate(seeds):
        tag = f"cnn {name} {replicates.REPLICATE.format(k)}" if len(seeds) > 1 else f"cnn {name}"

        def report(row: dict, tag=tag, k=k) -> None:
            logger.info(f"{tag}: epoch {row['epoch']}/{settings.epochs} train loss {row['train_loss']:.4f}")
            log_mean(k, row)  # the mean over replicates, epoch by epoch (during the last one's training)

        net, history = cnn.fit_cell(args.baseline, data, settings, lr, seed, ctx.device, report, world)
        if world.writes:
            scores = cnn.evaluate_cell(net, args.baseline, data, settings, ctx.device)
            fitted.append((net, history, predictions.frame(data, scores)))
    if world.writes:
        live.close()
        metrics = write_cell(args, name, lr, seeds, fitted)
        logger.info(
            f"cnn {name}: validation acc {metrics['validation_acc']}, test acc {metrics['test_acc']}"
            + (f" (mean of {len(seeds)} replicates)" if len(seeds) > 1 else "")
        )


def write_cell(args, name: str, lr: float, seeds: list[int], fitted: list) -> dict:
    """A cell, its mean history already logged live. One replicate: its predictions, weights and metrics. Several:
    the mean metrics beside each replicate's (<live>/<name>/replicates.tsv, metrics "replicates"), the first
    replicate's predictions, and every replicate's weights in the model file as {"rep<k>": state_dict}."""
    per_seed = [predictions.cell_metrics(frame, history) for _, history, frame in fitted]
    metrics = {"baseline": args.baseline, "lr": float(lr), **replicates.mean_summary(per_seed)}
    histories = [history for _, history, _ in fitted]
    live, model = args.live / name, args.models / f"{name}.pt"
    if len(seeds) > 1:
        names = [replicates.REPLICATE.format(k) for k in range(len(seeds))]
        io.log_replicates(histories, live, CNN_KEYS)
        metrics.update(seeds=seeds, replicates=dict(zip(names, per_seed)))
        io.save_torch({rep: net.state_dict() for rep, (net, _, _) in zip(names, fitted)}, model)
    else:
        io.save_torch(fitted[0][0].state_dict(), model)
    io.write_csv(args.predictions / f"{name}.csv", fitted[0][2])
    io.write_json(args.metrics / f"{name}.json", metrics)
    return metrics


if __name__ == "__main__":
    main()
