"""Stage cnn (one matrix cell of cnn_scratch, cnn_probe or cnn_finetune): train one baseline at one learning rate,
score it on validation and test. With cnn.nproc_per_node > 1 it restarts itself under torchrun; started by torchrun
(several GPUs or machines), every rank trains on its share of each batch and rank 0 scores and writes."""

from pathlib import Path

from nnrepro import io, params
from nnrepro.cells import CNN_BASELINES
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import cnn, images, predictions
from nnrepro.runtime import distributed, stage
from nnrepro.runtime.device import thread_count

KEYS = {"scratch": ("arch", "epochs", "batch_size", "image_size", "memory_mb", "nproc_per_node"),
        "probe": ("epochs", "batch_size", "nproc_per_node"),
        "finetune": ("arch", "epochs", "batch_size", "image_size", "weights_path", "memory_mb", "nproc_per_node")}


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "model")
    parser.add_argument("--baseline", choices=CNN_BASELINES, required=True)
    parser.add_argument("--lr", type=float, required=True, help="Adam learning rate")
    parser.add_argument("--predictions", type=Path, required=True, help="per-image predictions CSV")
    args = parser.parse_args()
    world = distributed.from_launcher()
    ctx = stage.start(max(1, thread_count() // world.local_size))
    settings = cnn.settings(ctx.params, *KEYS[args.baseline])
    label = f"cnn {args.baseline} lr={args.lr:g}"
    lr = params.positive(args.lr, "cnn.lrs")
    if distributed.relaunch(settings.nproc_per_node, label):
        return  # rank 0 of the relaunched processes wrote everything
    if world.size > 1:
        ctx.device = distributed.join(world, ctx.device)
    try:
        train_and_write(args, ctx, settings, lr, label, world)
    finally:
        distributed.leave(world)


def train_and_write(args, ctx: stage.Stage, settings: cnn.CnnSettings, lr: float, label: str, world) -> None:
    data = cnn.load_features(args.data) if args.baseline == "probe" else images.load_cache(args.data)

    def report(row: dict) -> None:
        print(f"{label}: epoch {row['epoch']}/{settings.epochs} train loss {row['train_loss']:.4f}", flush=True)

    net, history = cnn.fit_cell(args.baseline, data, settings, lr, ctx.seed, ctx.device, report, world)
    if not world.writes:
        return
    frame = predictions.frame(data, cnn.evaluate_cell(net, args.baseline, data, settings, ctx.device))
    metrics = {"baseline": args.baseline, "lr": args.lr, **predictions.cell_metrics(frame, history)}
    io.log_history(history, args.live, ("train_loss", "train_acc"))
    io.write_csv(args.predictions, frame)
    io.save_torch(net.state_dict(), args.model)
    stage.finish(ctx, args, metrics)
    print(f"{label}: validation acc {metrics['validation_acc']}, test acc {metrics['test_acc']}")


if __name__ == "__main__":
    main()
